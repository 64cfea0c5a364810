"""The one base for every failure a user can act on.

The CLI (and the DAG's tasks) catch `SegbenchError` alone and print its message on one
line; anything else is a programming error and keeps its traceback. Each subclass also
keeps the builtin base it always had (`ValueError`, `LookupError`, ...), so code that
caught those keeps working while the top level stops catching them.
"""

from __future__ import annotations


class SegbenchError(Exception):
    """A failure the user can act on: bad input, missing data, a server down, ..."""


class UsageError(SegbenchError, ValueError):
    """A command or option used in a way it cannot work (a bad format name, an unsafe host)."""


class NotFound(SegbenchError, LookupError):
    """The thing the user named (a run, a baseline level, golden outputs) is not stored."""


class Refused(SegbenchError):
    """A request that is well formed but cannot be done as asked (it would change nothing,
    or undo something that is not the current state)."""
