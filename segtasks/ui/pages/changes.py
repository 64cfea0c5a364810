"""What changed: the list the run and compare pages open with, one row per changed metric
of a series, biggest change first, each coloured by its direction (regression,
improvement, inconclusive, disturbed, outputs) and linking to its series.

The calm verdicts (segtasks.ui.columns.CALM) are not listed: a page counts them in one
badge. Inconclusive rows are listed for throughput and status only, as the report's
verdict table does: an inconclusive latency is the throughput's noise again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.ui.columns import CALM, cell, metric_view, severity, tone, verdict_words
from segtasks.ui.links import Links
from segtasks.ui.pages.common import table

HEADLINE_METRICS = ("images_per_s", "status")  # an inconclusive row only for these
# before and after, then the change between them: "Baseline 10.0, Tonight 8.0"
COLUMNS = ("Case", "Verdict", "Change", "Metric", "Baseline", "Tonight", "z", "Detail")
# without a number (a case that stopped working, outputs that changed, a case gone) these
# are worse than any change in percent: first
FIRST = (VerdictKind.REGRESSION, VerdictKind.FAILED, VerdictKind.OUTPUTS_CHANGED,
         VerdictKind.MISSING)


@dataclass(frozen=True)
class Change:
    case_key: str
    hardware_key: str | None
    metric: str  # a judged metric, or "status"
    verdict: str  # a VerdictKind, or a word of the compare page's own ("regression", ...)
    change: float | None  # relative, b / a - 1
    tonight: float | None  # in the metric's stored unit
    baseline: float | None
    z: float | None
    detail: str | None


def sort_key(change: Change) -> tuple[int, float, float]:
    """Failures first (no number says how big), then the biggest change, then the rest
    (disturbed, outputs that differ) by severity."""
    if change.change is None and change.verdict in FIRST:
        return (0, 0.0, severity(change.verdict))
    if change.change is not None:
        return (1, -abs(change.change), severity(change.verdict))
    return (2, 0.0, severity(change.verdict))


def listed(verdict: Verdict) -> bool:
    """Whether a stored verdict is a change a page lists."""
    if verdict.verdict in CALM:
        return False
    return verdict.verdict != VerdictKind.INCONCLUSIVE or verdict.metric in HEADLINE_METRICS


def from_verdicts(verdicts: Iterable[Verdict]) -> list[Change]:
    """A night's changes, from its stored verdicts, sorted."""
    found = []
    for v in verdicts:
        if not listed(v):
            continue
        detail = v.described if v.verdict == VerdictKind.INCONCLUSIVE else v.detail
        if v.software_changes:
            detail = "; ".join(filter(None, (detail,
                                              "software: " + ", ".join(v.software_changes))))
        found.append(Change(v.case_key, v.hardware_key, v.metric, str(v.verdict),
                            v.relative_change, v.tonight, v.baseline, v.z, detail))
    return sorted(found, key=sort_key)


def quiet_cases(verdicts: Iterable[Verdict]) -> dict[str, int]:
    """The cases with nothing listed, counted by their throughput (else status) verdict:
    what the calm badge counts."""
    by_case: dict[tuple[str, str | None], list[Verdict]] = {}
    for v in verdicts:
        by_case.setdefault((v.case_key, v.hardware_key), []).append(v)
    counts: dict[str, int] = {}
    for judged in by_case.values():
        if any(listed(v) for v in judged):
            continue
        shown = [v for v in judged if v.metric in HEADLINE_METRICS] or judged
        word = str(min(shown, key=lambda v: HEADLINE_METRICS.index(v.metric)
                       if v.metric in HEADLINE_METRICS else len(HEADLINE_METRICS)).verdict)
        counts[word] = counts.get(word, 0) + 1
    return counts


def _value(metric: str, value: float | None) -> str:
    view = metric_view(metric)
    return "-" if value is None else f"{view.text(value)} {view.unit}".strip()


def changes_table(changes: Sequence[Change], links: Links, *, tonight: str = "Tonight",
                  baseline: str = "Baseline") -> dict[str, Any]:
    """The rows as a page's table; `tonight` and `baseline` name the two values' columns
    (the compare page's are B and A)."""
    rows = []
    for c in changes:
        shade = tone(c.verdict)
        rows.append([
            cell(c.case_key, href=links.series(c.case_key, c.hardware_key)
                 if c.hardware_key else None, title=c.hardware_key),
            cell(verdict_words(c.verdict), tone=shade),
            cell("-" if c.change is None else f"{c.change:+.1%}",
                 tone=shade if c.change is not None else None),
            cell(metric_view(c.metric).label),
            cell(_value(c.metric, c.baseline)),
            cell(_value(c.metric, c.tonight)),
            cell("-" if c.z is None else f"{c.z:+.1f}"),
            cell(c.detail or ""),
        ])
    columns = [{"Tonight": tonight, "Baseline": baseline}.get(c, c) for c in COLUMNS]
    return table(None, columns, rows, wrap=("Detail",))


def section(changes: Sequence[Change], links: Links, calm: dict[str, Any] | None, *,
            tonight: str = "Tonight", baseline: str = "Baseline") -> dict[str, Any]:
    """A page's "What changed": the table, each change as plain values (the JSON API),
    and the badge counting the calm verdicts."""
    return {"items": [asdict(c) for c in changes],
            "table": changes_table(changes, links, tonight=tonight, baseline=baseline),
            "calm": calm}
