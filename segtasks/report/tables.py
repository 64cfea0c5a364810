"""Seed-style tables (the blog post's columns plus ours), phases and verdicts, from stored rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from segtasks.plan.case import DEVICES, PRECISIONS

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


def by_variant(results: Sequence[Any]) -> dict[str, list[Any]]:
    """The results of each table (variant: device, precision, ...), by batch size; the
    order of `seed_rows`, so that a page can put each row beside its result."""
    return {name: sorted((r for r in results if variant(r) == name), key=lambda r: r.batch_size)
            for name in dict.fromkeys(variant(r) for r in sorted(results, key=_order))}


def seed_rows(results: Sequence[Any]) -> dict[str, list[dict[str, str]]]:
    """Rows per variant (device, precision, ...), ordered by batch size."""
    tables: dict[str, list[dict[str, str]]] = {}
    for name, rows in by_variant(results).items():
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
            "Min effect": _fmt(v.min_effect, ".0%"),
            "Nights": str(len(v.baseline_run_pks)),
            "Software changes": ", ".join(v.software_changes or []) or "-",
            "Detail": v.detail or "",
        }
        for v in verdicts
        if v.metric in ("images_per_s", "status") or v.verdict not in QUIET
    ]


def warning_lines(results: Sequence[Any]) -> list[str]:
    return [f"{r.case_key}: {w}" for r in results for w in (r.warnings or [])]
