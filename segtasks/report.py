"""Seed-style tables (the blog post's columns plus ours), phases and verdicts, from stored rows."""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Callable, Sequence
from typing import Any

from segtasks.grid import DEVICES, PRECISIONS

GIB = 2**30

SEED_COLUMNS = (
    "Batch Size",
    "Time Taken (s)",
    "Time Taken per Image (ms)",
    "FPS",
    "CUDA Memory Consumption (GB)",
    "Improvement over Batch Size 1",
    "Improvement over Previous Row",
)
OUR_COLUMNS = (
    "Inference img/s",
    "p90 Latency (ms)",
    "Median ±95% CI",
    "Stable",
    "GFLOP/s",
    "% of Peak",
    "CUDA Activations (MiB/img)",
    "Host Peak RSS (GB)",
    "Status",
)
NOTES = (
    "Seed columns: one end-to-end pass over the images (preprocessing included, as the seed "
    "timed it) after warm-up, under inference mode, synchronised; FPS and improvements "
    "follow from it.",
    "Inference img/s = batch size / median batch latency of the timed loop (host-to-device, "
    "forward, postprocess; preprocessing excluded), measured until the 95% interval of the "
    "median is within the target or the time cap is hit (Stable = no).",
    "GB = 2^30 bytes. CUDA memory = peak reserved by PyTorch's caching allocator after "
    "warm-up; host RSS = peak of the case's own process.",
)


def variant(r: Any) -> str:
    """The table a result belongs to: device plus the options that change the work."""
    parts = [r.device.upper(), r.precision]
    if r.channels_last:
        parts.append("channels_last")
    if r.threads is not None:
        parts.append(f"{r.threads} threads")
    return " ".join(parts)


def activation_bytes_per_image(r: Any) -> float | None:
    """CUDA memory that grows with the batch: peak allocated less the weights, per image."""
    if r.cuda_peak_allocated_bytes is None or r.cuda_model_bytes is None:
        return None
    return (r.cuda_peak_allocated_bytes - r.cuda_model_bytes) / r.batch_size


def _fmt(value: float | None, spec: str, scale: float | None = None) -> str:
    if value is None:
        return "-"
    return format(value / scale if scale else value, spec)


def _ratio(value: float, reference: float | None) -> str:
    return "n/a" if not reference else f"{value / reference:.4g}x"


def _seed_row(r: Any) -> dict[str, str]:
    row = dict.fromkeys(SEED_COLUMNS + OUR_COLUMNS, "-")
    row["Batch Size"] = str(r.batch_size)
    row["Status"] = "ok" if r.status == "ok" else f"{r.status}: {r.reason}"
    row["Host Peak RSS (GB)"] = _fmt(r.host_peak_rss_bytes, ".4f", GIB)
    if r.status != "ok":
        return row
    fps = r.end_to_end_images / r.end_to_end_s
    row.update({
        "Time Taken (s)": f"{r.end_to_end_s:.4f}",
        "Time Taken per Image (ms)": f"{r.end_to_end_s * 1e3 / r.end_to_end_images:.4f}",
        "FPS": f"{fps:.4f}",
        "CUDA Memory Consumption (GB)": _fmt(r.cuda_peak_reserved_bytes, ".4f", GIB),
        "Inference img/s": f"{r.images_per_s:.4f}",
        "p90 Latency (ms)": f"{r.latency_p90_ms:.3f}",
        "Median ±95% CI": "n/a" if r.ci_rel is None else f"±{r.ci_rel:.1%}",
        "Stable": "yes" if r.stable else "no",
        "GFLOP/s": _fmt(r.gflops_per_s, ".1f"),
        "% of Peak": _fmt(r.pct_of_peak, ".1f"),
        "CUDA Activations (MiB/img)": _fmt(activation_bytes_per_image(r), ".1f", 2**20),
    })
    return row


def _order(r: Any) -> tuple:
    precision = PRECISIONS.index(r.precision) if r.precision in PRECISIONS else len(PRECISIONS)
    return (DEVICES.index(r.device), precision, r.channels_last, r.threads or 0, r.batch_size)


def seed_rows(results: Sequence[Any]) -> dict[str, list[dict[str, str]]]:
    """Rows per variant (device, precision, ...), ordered by batch size."""
    tables: dict[str, list[dict[str, str]]] = {}
    for name in dict.fromkeys(variant(r) for r in sorted(results, key=_order)):
        rows = sorted((r for r in results if variant(r) == name), key=lambda r: r.batch_size)
        fps = [r.end_to_end_images / r.end_to_end_s if r.status == "ok" else None for r in rows]
        first = fps[0] if rows and rows[0].batch_size == 1 else None
        table = []
        for i, (r, f) in enumerate(zip(rows, fps, strict=True)):
            row = _seed_row(r)
            if f is not None:
                row["Improvement over Batch Size 1"] = (
                    "1x" if r.batch_size == 1 else _ratio(f, first))
                row["Improvement over Previous Row"] = "-" if i == 0 else _ratio(f, fps[i - 1])
            table.append(row)
        tables[name] = table
    return tables


def phase_rows(results: Sequence[Any]) -> list[dict[str, str]]:
    """Where a batch's time goes, per case (means per timed batch)."""
    return [
        {
            "Case": r.case_key,
            "Load (s)": _fmt(r.load_s, ".2f"),
            "Cold start (ms)": _fmt(r.cold_start_ms, ".1f"),
            "Preprocess (ms)": _fmt(r.preprocess_ms, ".2f"),
            "Host→device (ms)": _fmt(r.h2d_ms, ".2f"),
            "Forward (ms)": _fmt(r.forward_ms, ".2f"),
            "Postprocess (ms)": _fmt(r.postprocess_ms, ".2f"),
            "Latency mean (ms)": _fmt(r.latency_mean_ms, ".2f"),
            "CV": _fmt(r.latency_cv, ".1%"),
            "Batches": _fmt(r.n_batches, "d"),
            "Stopped": r.stop_reason or "-",
        }
        for r in sorted(results, key=_order) if r.status == "ok"
    ]


QUIET = ("unchanged", "new", "insufficient_history")


def _value(metric: str, value: float | None) -> str:
    if metric.endswith("_bytes"):
        return _fmt(value, ".3f", GIB) + (" GiB" if value is not None else "")
    return _fmt(value, ".2f" if metric.endswith("_ms") else ".3f")


def verdict_rows(verdicts: Sequence[Any]) -> list[dict[str, str]]:
    """Throughput and status verdicts for every case; other metrics only when they moved."""
    return [
        {
            "Case": v.case_key,
            "Metric": v.metric,
            "Verdict": v.verdict,
            "Tonight": _value(v.metric, v.tonight),
            "Baseline": _value(v.metric, v.baseline),
            "Change": _fmt(v.relative_change, "+.1%"),
            "z": _fmt(v.z, ".1f"),
            "Min effect": f"{v.threshold:.0%}" if v.metric != "status" else "-",
            "Nights": str(len(v.baseline_run_pks)),
            "Software changes": ", ".join(v.software_changes or []) or "-",
            "Detail": v.detail or "",
        }
        for v in verdicts
        if v.metric in ("images_per_s", "status") or v.verdict not in QUIET
    ]


def warning_lines(results: Sequence[Any]) -> list[str]:
    return [f"{r.case_key}: {w}" for r in results for w in (r.warnings or [])]


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


def render(results: Sequence[Any], verdicts: Sequence[Any], fmt: str = "markdown",
           title: str = "") -> str:
    """The whole report of one run in `markdown` (also fine in a terminal) or `csv`."""
    tables = seed_rows(results)
    renderers: dict[str, Callable[[], str]] = {
        "csv": lambda: "".join(csv_table(rows, name) for name, rows in tables.items()),
        "markdown": lambda: _markdown(tables, results, verdicts, title),
    }
    if fmt not in renderers:
        raise ValueError(f"unknown report format {fmt!r}; expected markdown or csv")
    return renderers[fmt]()


def _markdown(tables: dict[str, list[dict[str, str]]], results: Sequence[Any],
              verdicts: Sequence[Any], title: str) -> str:
    parts = [f"# {title}"] if title else []
    for name, rows in tables.items():
        statuses = {row["Status"] for row in rows}
        if len(statuses) == 1 and not statuses <= {"ok"}:
            # e.g. every CUDA case on a machine without a GPU: one line, not a wide empty table
            sizes = ", ".join(row["Batch Size"] for row in rows)
            parts += [f"## {name}", f"All cases (batch sizes {sizes}) {statuses.pop()}"]
            continue
        parts += [f"## {name}", markdown_table(rows)]
    if any(r.status == "ok" for r in results):
        parts += ["## Phases (mean per timed batch)", markdown_table(phase_rows(results))]
    if verdicts:
        parts += ["## Verdicts", markdown_table(verdict_rows(verdicts))]
    if warnings := warning_lines(results):
        parts += ["## Warnings", "\n".join(f"- {w}" for w in warnings)]
    parts.append("\n".join(f"- {note}" for note in NOTES))
    return "\n\n".join(parts) + "\n"


def _html_table(rows: Sequence[dict[str, str]]) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}img{max-width:640px;margin:0.5em}
.regression{color:#b00;font-weight:bold}"""


def render_html(results: Sequence[Any], verdicts: Sequence[Any], title: str,
                figures: Sequence[tuple[str, bytes]]) -> str:
    """One self-contained page: tables, verdicts, and the figures inlined as PNG."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    regressions = [v for v in verdicts if v.verdict == "regression"]
    if regressions:
        names = ", ".join(f"{v.case_key} ({v.metric})" for v in regressions)
        parts.append(f'<p class="regression">Regressions: {html.escape(names)}</p>')
    for name, rows in seed_rows(results).items():
        parts += [f"<h2>{html.escape(name)}</h2>", _html_table(rows)]
    if any(r.status == "ok" for r in results):
        parts += ["<h2>Phases (mean per timed batch)</h2>", _html_table(phase_rows(results))]
    if verdicts:
        parts += ["<h2>Verdicts</h2>", _html_table(verdict_rows(verdicts))]
    if figures:
        parts.append("<h2>Plots</h2>")
        parts += [f'<img alt="{html.escape(alt)}" title="{html.escape(alt)}" '
                  f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                  for alt, png in figures]
    if warnings := warning_lines(results):
        parts += ["<h2>Warnings</h2>",
                  "<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>"]
    parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in NOTES) + "</ul>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n")
