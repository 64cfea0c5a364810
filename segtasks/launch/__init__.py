"""Each case in its own process: start it, wait for it, turn every way it can end into a
recorded status. Only the worker process imports torch."""

from segtasks.launch.isolated import run_case_isolated

__all__ = ["run_case_isolated"]
