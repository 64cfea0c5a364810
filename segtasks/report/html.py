"""The report as one self-contained HTML page: tables, verdicts, and figures inlined as PNG."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from segtasks.report import plots, recommend
from segtasks.report.bisection_section import TITLE as BISECTION_TITLE
from segtasks.report.bisection_section import bisection_text, step_rows
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
    variant,
    verdict_rows,
    warning_lines,
)

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}img{max-width:640px;margin:0.5em}
.regressions{color:#b00;font-weight:bold}summary{cursor:pointer;margin:0.5em 0}"""


def _table(rows: Sequence[dict[str, str]]) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figures(report: RunReport) -> list[tuple[str, bytes]]:
    """(alt text, PNG) of throughput and memory against batch size, and each regressed trend."""
    speed: dict[str, list[tuple[int, float]]] = {}
    memory: dict[str, list[tuple[int, float]]] = {}
    for r in report.results:
        if r.status != "ok":
            continue
        if r.images_per_s is not None:
            speed.setdefault(variant(r), []).append((r.batch_size, r.images_per_s))
        if r.cuda_peak_reserved_bytes is not None:
            memory.setdefault(f"{variant(r)} CUDA reserved", []).append(
                (r.batch_size, r.cuda_peak_reserved_bytes / plots.GIB))
        if r.host_peak_rss_bytes is not None:
            memory.setdefault(f"{variant(r)} host RSS", []).append(
                (r.batch_size, r.host_peak_rss_bytes / plots.GIB))
    found = [(alt, png) for alt, png in (
        ("images/s against batch size",
         plots.by_batch_size(speed, "Inference throughput", "images/s")),
        ("memory against batch size", plots.by_batch_size(memory, "Peak memory", "GiB")),
    ) if png is not None]
    found += [(f"{t.case_key} {t.metric} trend",
               plots.trend(t.case_key, t.metric, t.nights, t.tonight, t.baseline))
              for t in report.trends]
    return found


def _paired(report: RunReport) -> list[str]:
    """The software-vs-machine section, first; its pairs folded under it."""
    paired = report.paired
    if paired is None or not paired.shown:
        return []
    parts = [f"<h2>{SECTION_TITLE}</h2>", '<ul class="paired">' + "".join(
        f"<li>{html.escape(line)}</li>" for line in paired.lines) + "</ul>"]
    if paired.verdicts:
        parts.append(_table(paired_rows(paired.verdicts)))
    if paired.bisections:  # which change explains a case's verdict
        parts.append(f"<h3>{BISECTION_TITLE}</h3>")
        for b in paired.bisections:
            parts.append(f'<p class="bisection">{html.escape(bisection_text(b))}</p>')
            if rows := step_rows(b):
                parts.append(_table(rows))
    if pairs := pair_rows(paired.pairs):
        parts.append(f"<details><summary>{html.escape(PAIRS_TITLE)}: {len(pairs)}</summary>"
                     f"{_table(pairs)}</details>")
    return parts


def render_html(report: RunReport) -> str:
    title = html.escape(report.title)
    parts = [f"<h1>{title}</h1>",
             f"<p>Results database: {html.escape(report.database)}</p>"]
    parts += [f'<p class="model">Model: {html.escape(line)}</p>' for line in report.models]
    if line := night_headline(report.verdicts):  # the night in one line, before any table
        parts.append(f'<p class="headline">Verdicts: {html.escape(line)}</p>')
    parts += _paired(report)
    if report.problems:
        parts += ["<h2>Problems</h2>",
                  "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in report.problems)
                  + "</ul>"]
    if weights := weights_lines(report.results):
        parts.append("<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in weights) + "</ul>")
    if report.regressions:
        names = ", ".join(f"{v.case_key} ({v.metric})" for v in report.regressions)
        parts.append(f'<p class="regressions">Regressions: {html.escape(names)}</p>')
    for note in report.notes:
        parts.append(f"<p class=\"note\">{html.escape(note)}</p>")
    activation = activation_lines(report.results)
    for name, rows in seed_rows(report.results).items():
        parts += [f"<h2>{html.escape(name)}</h2>", _table(rows)]
        if name in activation:
            parts.append(f"<p>{html.escape(activation[name])}</p>")
    if any(r.status == "ok" for r in report.results):
        parts += ["<h2>Phases (mean per timed batch)</h2>", _table(phase_rows(report.results))]
        parts += ["<h2>Validity and telemetry (timed loop)</h2>",
                  _table(telemetry_rows(report.results))]
    if compiled := compile_rows(report.results):
        parts += ["<h2>torch.compile (one-off costs, apart from the steady state)</h2>",
                  _table(compiled)]
    if outputs := output_rows(report.results):
        parts += ["<h2>Outputs (parity images, against fp32 eager on the same device)</h2>",
                  _table(outputs)]
    if report.verdicts:
        parts += ["<h2>Verdicts</h2>", _table(verdict_rows(report.verdicts))]
    if report.recommendations:
        parts.append("<h2>Recommendation</h2>")
        for rec in report.recommendations:
            parts += [f"<p>{html.escape(rec.text)}</p>", _table(recommend.front_rows(rec))]
    if report.runtime_gains:
        parts += [f"<h2>{html.escape(recommend.GAINS_TITLE)}</h2>", "<ul>" + "".join(
            f"<li>{html.escape(gain.text)}</li>" for gain in report.runtime_gains) + "</ul>"]
    if shown := figures(report):
        parts.append("<h2>Plots</h2>")
        parts += [f'<img alt="{html.escape(alt)}" title="{html.escape(alt)}" '
                  f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                  for alt, png in shown]
    if warnings := warning_lines(report.results):
        parts += ["<h2>Warnings</h2>",
                  "<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>"]
    parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>"
                                  for n in (*NOTES, recommend.NOTE)) + "</ul>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}"
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")
