"""The report's "Bisection" part of a paired night: each bisected case's sentence
(segtasks.report.bisection) and its steps as rows, shared by the report and the pages."""

from __future__ import annotations

from collections.abc import Sequence

from segtasks.domain.bisection import Bisection
from segtasks.report.bisection import bisection_line, group_label, step_half_width

TITLE = "Bisection"


def bisection_label(b: Bisection) -> str:
    """The case, and the metric where it is not throughput (which the words imply)."""
    return b.case_key if b.metric == "images_per_s" else f"{b.case_key} ({b.metric})"


def bisection_text(b: Bisection) -> str:
    return f"{bisection_label(b)}: {bisection_line(b)}"


def step_rows(b: Bisection) -> list[dict[str, str]]:
    """One row per step: the groups it moved to the treatment's versions, its paired
    verdict against the control, the change with its half width, pairs and time; a Reason
    column where a step has one (a failed one says why)."""
    labels = {g.index: group_label(g) for g in b.groups}
    rows = [
        {
            "Step": str(s.step),
            "Moved": ", ".join(labels.get(i, f"group {i}") for i in sorted(s.moved)),
            "Verdict": str(s.verdict),
            # this environment over the control, as a change: -6.0% is 6.0% lower
            "Change": "-" if s.change is None else f"{s.change:+.1%}",
            "+-": "-" if (width := step_half_width(s)) is None else f"{width:.1%}",
            "Pairs": str(s.pairs),
            "MDE": "-" if s.mde is None else f"{s.mde:.1%}",
            "Seconds": "-" if s.seconds is None else f"{s.seconds:.0f}",
        }
        for s in b.steps
    ]
    if any(s.reason for s in b.steps):
        for row, s in zip(rows, b.steps, strict=True):
            row["Reason"] = s.reason or ""
    return rows


def all_step_rows(bisections: Sequence[Bisection]) -> list[dict[str, str]]:
    """Every bisection's steps, each row led by its case (the CSV's one table)."""
    rows = [{"Case": bisection_label(b), **row} for b in bisections for row in step_rows(b)]
    if any("Reason" in row for row in rows):
        rows = [{**row, "Reason": row.get("Reason", "")} for row in rows]
    return rows
