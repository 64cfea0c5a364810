"""Paired nights on the pages: the run page's "Software vs machine" section and the series
page's paired history. The words and rows are the report's (segtasks.report.paired,
segtasks.report.paired_section); here they get tones and links."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from segtasks.domain.paired import PairedVerdict
from segtasks.domain.records import Run
from segtasks.report.paired import half_width, machine_part, paired_line
from segtasks.report.paired_section import (
    PAIRS_TITLE,
    SECTION_TITLE,
    PairedSection,
    case_label,
    pair_rows,
    paired_rows,
)
from segtasks.ui.columns import cell, tone, verdict_words, worst
from segtasks.ui.links import Links
from segtasks.ui.pages.common import report_table, run_summary, table

JUDGED = {"Software": "verdict", "Machine": "machine_verdict"}  # columns that carry a verdict


def _judged_cell(column: str, text: str, v: PairedVerdict) -> dict[str, Any]:
    verdict = getattr(v, JUDGED[column])
    return cell(verdict_words(text), tone=tone(verdict), title=paired_line(v)) if verdict \
        else cell(text)


def run_section(section: PairedSection, links: Links) -> dict[str, Any] | None:
    """The run page's section, first on the page; None for a night with nothing to say
    (no pairs and no recorded lock), so that no empty section is shown."""
    if not section.shown:
        return None
    if section.verdicts:  # one sentence per case, toned by the worse of its two verdicts
        lines = [{"label": case_label(v), "text": paired_line(v),
                  "href": links.series(v.case_key, v.hardware_key),
                  "tone": tone(worst(w for w in (v.verdict, v.machine_verdict) if w))}
                 for v in section.verdicts]
    else:  # the night ran in the baseline's own lock
        lines = [{"label": None, "text": line, "tone": None, "href": None}
                 for line in section.lines]
    rows = paired_rows(section.verdicts)
    columns = list(rows[0]) if rows else []
    cells = []
    for v, row in zip(section.verdicts, rows, strict=True):
        made = []
        for column in columns:
            if column == "Case":
                made.append(cell(row[column], href=links.series(v.case_key, v.hardware_key)))
            elif column in JUDGED:
                made.append(_judged_cell(column, row[column], v))
            else:
                made.append(cell(row[column]))
        cells.append(made)
    pairs = report_table(None, pair_rows(section.pairs))
    return {"title": SECTION_TITLE, "lines": lines,
            "table": table(None, columns, cells) if cells else None,
            "pairs": pairs if pairs["rows"] else None, "pairs_title": PAIRS_TITLE,
            "pair_count": len(pairs["rows"])}


def history_table(history: Sequence[PairedVerdict], run_of: Callable[[int], Run],
                  links: Links) -> dict[str, Any] | None:
    """The series page's paired nights, newest first; None when the series has none."""
    if not history:
        return None
    columns = ["Night", "Run", "Metric", "Ratio", "+-", "Pairs", "MDE", "Software", "Machine",
               "Packages changed"]
    rows = []
    for v in history:
        run = run_summary(run_of(v.run_pk), links) if v.run_pk is not None else None
        width = half_width(v)
        rows.append([
            cell(run["name"], title=run["label"]) if run else cell("-"),
            cell(run["run_id"], href=run["href"]) if run else cell("-"),
            cell(v.metric),
            cell("-" if v.change is None else f"{v.change:+.1%}"),
            cell("-" if width is None else f"{width:.1%}"),
            cell(str(v.pairs)),
            cell("-" if v.mde is None else f"{v.mde:.1%}"),
            _judged_cell("Software", str(v.verdict), v),
            cell(machine_part(v).removeprefix("machine: "), tone=tone(v.machine_verdict),
                 title=v.machine_detail),
            cell(", ".join(v.packages_changed) or "none"),
        ])
    return table(None, columns, rows,
                 "Ratio: tonight's software against the control's (the baseline night's lock), "
                 "measured in pairs the same night; Machine: the control's value against its "
                 "own earlier nights.")
