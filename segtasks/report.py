"""Seed-style tables (the blog post's columns) and the verdict table, from stored rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

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
EXTRA_COLUMNS = ("p90 Latency (ms)", "Host Peak RSS (GB)", "Status")
NOTES = (
    "Time Taken = timed inference of all images (host-to-device, forward, postprocess), "
    "after warm-up; preprocessing and decoding are excluded and stored apart.",
    "GB = 2^30 bytes. CUDA memory = peak reserved by PyTorch's caching allocator "
    "(reset after warm-up); host RSS = peak of the case's own process.",
)


def _ratio(value: float, reference: float | None) -> str:
    return "n/a" if not reference else f"{value / reference:.4g}x"


def seed_rows(results: Sequence[Any]) -> dict[str, list[dict[str, str]]]:
    """Rows per device, ordered by batch size, with the seed's columns plus ours."""
    tables: dict[str, list[dict[str, str]]] = {}
    for device in dict.fromkeys(r.device for r in results):
        rows = sorted((r for r in results if r.device == device), key=lambda r: r.batch_size)
        first_fps = next((r.images_per_s for r in rows if r.status == "ok" and r.batch_size == 1),
                         None)
        previous_fps = None
        table = []
        for i, r in enumerate(rows):
            ok = r.status == "ok"
            row = dict.fromkeys(SEED_COLUMNS + EXTRA_COLUMNS, "-")
            row["Batch Size"] = str(r.batch_size)
            row["Status"] = "ok" if ok else f"{r.status}: {r.reason}"
            if r.host_peak_rss_bytes:
                row["Host Peak RSS (GB)"] = f"{r.host_peak_rss_bytes / GIB:.4f}"
            if ok:
                row["Time Taken (s)"] = f"{r.total_s:.4f}"
                row["Time Taken per Image (ms)"] = f"{r.ms_per_image:.4f}"
                row["FPS"] = f"{r.images_per_s:.4f}"
                row["p90 Latency (ms)"] = f"{r.latency_p90_ms:.3f}"
                if r.cuda_peak_reserved_bytes is not None:
                    row["CUDA Memory Consumption (GB)"] = f"{r.cuda_peak_reserved_bytes / GIB:.4f}"
                row["Improvement over Batch Size 1"] = (
                    "1x" if r.batch_size == 1 else _ratio(r.images_per_s, first_fps))
                row["Improvement over Previous Row"] = (
                    "-" if i == 0 else _ratio(r.images_per_s, previous_fps))
            previous_fps = r.images_per_s if ok else None
            table.append(row)
        tables[device] = table
    return tables


def markdown_table(rows: Sequence[dict[str, str]]) -> str:
    if not rows:
        return "(no rows)"
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[c].replace("|", "/") for c in header) + " |" for row in rows]
    return "\n".join(lines)


def csv_table(rows: Sequence[dict[str, str]], device: str) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=["Device", *rows[0]])
        writer.writeheader()
        writer.writerows({"Device": device, **row} for row in rows)
    return out.getvalue()


def verdict_rows(verdicts: Sequence[Any]) -> list[dict[str, str]]:
    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    return [
        {
            "Case": v.case_key,
            "Verdict": v.verdict,
            "Tonight (img/s)": num(v.tonight, ".3f"),
            "Baseline (img/s)": num(v.baseline, ".3f"),
            "Change": num(v.relative_change, "+.1%"),
            "Threshold": f"±{v.threshold:.0%}",
            "Baseline runs": str(len(v.baseline_run_pks)),
            "Detail": v.detail or "",
        }
        for v in verdicts
    ]


def render(results: Sequence[Any], verdicts: Sequence[Any], fmt: str = "markdown",
           title: str = "") -> str:
    """The whole report of one run in `markdown` (also fine in a terminal) or `csv`."""
    tables = seed_rows(results)
    if fmt == "csv":
        return "".join(csv_table(rows, device) for device, rows in tables.items())
    if fmt != "markdown":
        raise ValueError(f"unknown report format {fmt!r}; expected markdown or csv")
    parts = [f"# {title}"] if title else []
    for device, rows in tables.items():
        parts += [f"## {device.upper()}", markdown_table(rows)]
    if verdicts:
        parts += ["## Verdicts", markdown_table(verdict_rows(verdicts))]
    parts.append("\n".join(f"- {note}" for note in NOTES))
    return "\n\n".join(parts) + "\n"
