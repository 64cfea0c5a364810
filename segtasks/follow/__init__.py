"""Run a long command for a person watching: its full output goes to a log file, the lines
that matter are shown, and a heartbeat says what is still running whenever a while passes
without a line (`python -m segtasks.follow --help`). The Makefile's `run` wraps each step in
it, from the virtualenv's install to the DAG run.

Standard library only: the install step runs it with the system's Python, before the
project's dependencies exist.
"""
