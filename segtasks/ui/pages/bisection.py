"""Bisections on the run page: each bisected case's sentence and its steps. The words and
rows are the report's (segtasks.report.bisection, segtasks.report.bisection_section);
here they get tones and links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segtasks.domain.bisection import Bisection, BisectionOutcome
from segtasks.report.bisection import bisection_line
from segtasks.report.bisection_section import TITLE, bisection_label, step_rows
from segtasks.ui.columns import cell, tone
from segtasks.ui.links import Links
from segtasks.ui.pages.common import table

# a named culprit is news rather than a verdict; not telling is the amber of inconclusive
OUTCOME_TONES = {BisectionOutcome.CULPRIT: "info", BisectionOutcome.TOGETHER: "info",
                 BisectionOutcome.SEVERAL: "info", BisectionOutcome.INCONCLUSIVE: "unsure",
                 BisectionOutcome.FAILED: "bad"}


def _steps(b: Bisection) -> dict[str, Any] | None:
    rows = step_rows(b)
    if not rows:
        return None
    columns = list(rows[0])
    cells = [[cell(row[c], tone=tone(s.verdict)) if c == "Verdict" else cell(row[c])
              for c in columns] for s, row in zip(b.steps, rows, strict=True)]
    return table(None, columns, cells, wrap=("Moved", "Reason"))


def run_section(bisections: Sequence[Bisection], links: Links) -> dict[str, Any] | None:
    """The run page's "Bisection" section, after software vs machine; None for a night
    that bisected nothing."""
    if not bisections:
        return None
    items = [{"label": bisection_label(b), "text": bisection_line(b),
              "href": links.series(b.case_key, b.hardware_key),
              "tone": "info" if b.running else OUTCOME_TONES.get(b.outcome, "warn"),
              "running": b.running, "steps": _steps(b)}
             for b in bisections]
    return {"title": TITLE, "items": items}
