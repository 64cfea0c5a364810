"""The night in one line, for the report, the run page and the alert: how many cases got
each verdict, and, when some were inconclusive, how much this machine could see tonight,
e.g. "4 unchanged, 3 inconclusive: this machine cannot see changes under 20.1% tonight
(the smallest MDE of the 3 inconclusive cases; the largest 45.0%)".

A case counts once: its throughput verdict, or its status verdict when it was not compared
(failed, disturbed, missing). The MDE quoted is the smallest, so that the sentence holds
for every inconclusive case: none of them could see a smaller change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from segtasks.domain.verdicts import Verdict, VerdictKind

COUNTED = ("images_per_s", "status")  # one verdict per case
_ORDER = [kind.value for kind in VerdictKind]


def _rank(verdict: str) -> int:
    return _ORDER.index(verdict) if verdict in _ORDER else len(_ORDER)


def night_headline(verdicts: Iterable[Verdict]) -> str | None:
    """The night's verdicts counted by case, in words; None when nothing was judged."""
    counted = [v for v in verdicts if v.metric in COUNTED]
    if not counted:
        return None
    counts = Counter(str(v.verdict) for v in counted)
    line = ", ".join(f"{counts[kind]} {kind.replace('_', ' ')}"
                     for kind in sorted(counts, key=_rank))
    mdes = sorted(v.mde for v in counted
                  if v.verdict == VerdictKind.INCONCLUSIVE and v.mde is not None)
    if not mdes:
        return line
    which = ("its MDE" if len(mdes) == 1 else
             f"the smallest MDE of the {len(mdes)} inconclusive cases; the largest {mdes[-1]:.1%}")
    return f"{line}: this machine cannot see changes under {mdes[0]:.1%} tonight ({which})"
