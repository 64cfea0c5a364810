"""A verdict on one metric of one case of a night: the value lives in the domain module
(segtasks.domain.verdicts), since the store hands stored verdicts back as the same value."""

from __future__ import annotations

from segtasks.domain.verdicts import VERDICTS, Verdict

__all__ = ["VERDICTS", "Verdict", "described"]


def described(verdict: Verdict) -> str:
    """A verdict in words with what its series can see (Verdict.described)."""
    return verdict.described
