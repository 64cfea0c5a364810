"""The report as Markdown (also fine in a terminal) and as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from segtasks.errors import UsageError
from segtasks.report import recommend
from segtasks.report.bisection_section import TITLE as BISECTION_TITLE
from segtasks.report.bisection_section import all_step_rows, bisection_text, step_rows
from segtasks.report.headline import night_headline
from segtasks.report.model import RunReport
from segtasks.report.outputs import output_rows, weights_lines
from segtasks.report.paired_section import PAIRS_TITLE, SECTION_TITLE, pair_rows, paired_rows
from segtasks.report.tables import (
    NOTES,
    activation_lines,
    compile_rows,
    phase_rows,
    seed_rows,
    telemetry_rows,
    verdict_rows,
    warning_lines,
)

FORMATS = ("markdown", "csv")


def markdown_table(rows: Sequence[dict[str, str]]) -> str:
    if not rows:
        return "(no rows)"
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[c].replace("|", "/") for c in header) + " |" for row in rows]
    return "\n".join(lines)


def csv_table(rows: Sequence[dict[str, str]], label: str) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=["Table", *rows[0]])
        writer.writeheader()
        writer.writerows({"Table": label, **row} for row in rows)
    return out.getvalue()


def render_csv(report: RunReport) -> str:
    tables = dict(seed_rows(report.results))
    if report.paired is not None:  # after the seed's tables, so that those stay first
        tables[SECTION_TITLE] = paired_rows(report.paired.verdicts)
        tables[PAIRS_TITLE] = pair_rows(report.paired.pairs)
        tables[f"{BISECTION_TITLE} steps"] = all_step_rows(report.paired.bisections)
    return "".join(csv_table(rows, name) for name, rows in tables.items())


def render_markdown(report: RunReport) -> str:
    parts = [f"# {report.title}", f"Results database: {report.database}"]
    parts += [f"**Model**: {line}" for line in report.models]  # only where not the default
    if line := night_headline(report.verdicts):  # the night in one line, before any table
        parts.append(f"**Verdicts**: {line}")
    paired = report.paired
    if paired is not None and paired.shown:  # first: what a paired night is about
        parts += [f"## {SECTION_TITLE}", "\n".join(f"- {line}" for line in paired.lines)]
        if paired.verdicts:
            parts.append(markdown_table(paired_rows(paired.verdicts)))
        if paired.bisections:  # which change explains a case's verdict
            parts.append(f"### {BISECTION_TITLE}")
            for b in paired.bisections:
                parts.append(f"- {bisection_text(b)}")
                if rows := step_rows(b):
                    parts.append(markdown_table(rows))
    if report.problems:
        parts += ["## Problems", "\n".join(f"- {p}" for p in report.problems)]
    if report.notes:
        parts += ["## Notes of this night", "\n".join(f"- {n}" for n in report.notes)]
    if weights := weights_lines(report.results):
        parts.append("\n".join(f"- {line}" for line in weights))
    activation = activation_lines(report.results)
    for name, rows in seed_rows(report.results).items():
        statuses = {row["Status"] for row in rows}
        if len(statuses) == 1 and not statuses <= {"ok"}:
            # e.g. every CUDA case on a machine without a GPU: one line, not a wide empty table
            sizes = ", ".join(row["Batch Size"] for row in rows)
            parts += [f"## {name}", f"All cases (batch sizes {sizes}) {statuses.pop()}"]
            continue
        parts += [f"## {name}", markdown_table(rows)]
        if name in activation:
            parts.append(activation[name])
    if any(r.status == "ok" for r in report.results):
        parts += ["## Phases (mean per timed batch)", markdown_table(phase_rows(report.results))]
        parts += ["## Validity and telemetry (timed loop)",
                  markdown_table(telemetry_rows(report.results))]
    if compiled := compile_rows(report.results):
        parts += ["## torch.compile (one-off costs, apart from the steady state)",
                  markdown_table(compiled)]
    if outputs := output_rows(report.results):
        parts += ["## Outputs (parity images, against fp32 eager on the same device)",
                  markdown_table(outputs)]
    if report.verdicts:
        parts += ["## Verdicts", markdown_table(verdict_rows(report.verdicts))]
    if paired is not None and (pairs := pair_rows(paired.pairs)):
        parts += [f"## {PAIRS_TITLE}", markdown_table(pairs)]
    if report.recommendations:
        parts.append("## Recommendation")
        for rec in report.recommendations:
            parts += [rec.text, markdown_table(recommend.front_rows(rec))]
    if report.runtime_gains:
        parts += [f"## {recommend.GAINS_TITLE}",
                  "\n".join(f"- {gain.text}" for gain in report.runtime_gains)]
    if warnings := warning_lines(report.results):
        parts += ["## Warnings", "\n".join(f"- {w}" for w in warnings)]
    parts.append("\n".join(f"- {note}" for note in (*NOTES, recommend.NOTE)))
    return "\n\n".join(parts) + "\n"


def render(report: RunReport, fmt: str = "markdown") -> str:
    if fmt == "csv":
        return render_csv(report)
    if fmt == "markdown":
        return render_markdown(report)
    raise UsageError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
