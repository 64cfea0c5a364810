"""Naming the nearest stored names when a user's name matches none (a typo's fix)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(name: str, known: Iterable[str | None], what: str = "nearest") -> str:
    """'; nearest: a, b' (difflib's closest of the stored names), else a few of what is
    stored, else that nothing is: a suffix for a NotFound message."""
    stored = sorted({k for k in known if k is not None})
    if not stored:
        return "; none is stored yet"
    close = difflib.get_close_matches(name, stored, n=3, cutoff=0.5)
    if close:
        return f"; {what}: {', '.join(close)}"
    return f"; stored: {', '.join(stored[:5])}{', ...' if len(stored) > 5 else ''}"
