"""Seed-style tables (the blog post's columns plus ours), phases and verdicts, from stored rows."""

from __future__ import annotations

from collections.abc import Sequence

from segtasks.domain.model_spec import KEY_SUFFIX
from segtasks.domain.records import Result
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.plan.case import COMPILE_MODES, DEVICES, PRECISIONS, RUNTIMES

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
    "CUDA Warm-up Peak (GB)",
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
    "GB = 2^30 bytes. CUDA memory = peak reserved by PyTorch's caching allocator during the "
    "timed loop (the steady state), from an emptied cache; the warm-up peak (cuDNN's "
    "autotuning included: what a deployment must fit) likewise; host RSS = peak of the "
    "case's own process.",
    "GFLOP/s and % of peak come from the forward phase alone (median), not the whole batch.",
    "p90 needs at least 100 timed batches (p95 200, p99 1000): '-' where there were fewer.",
    "A disturbed case (another process on its cores or GPU, steal time, clocks cut for heat) "
    "was measured twice; its figures are shown but not compared (verdict 'disturbed').",
)


def variant(r: Result) -> str:
    """The table a result belongs to: device plus the options that change the work."""
    parts = [r.device.upper(), r.precision]
    if r.channels_last:
        parts.append("channels_last")
    if (mode := getattr(r, "compile", "none")) != "none":
        parts.append(f"compile {mode}")
    if (runtime := getattr(r, "runtime", None) or "torch") != "torch":
        parts.append(runtime)
    if r.threads is not None:
        parts.append(f"{r.threads} threads")
    # a model other than the default: its identity (the case key's), so that a table of
    # it never reads as the mission's model; the report's header names it in full
    if found := KEY_SUFFIX.search(getattr(r, "case_key", "")):
        parts.append(f"· model {found.group(1)}")
    return " ".join(parts)


def activation_slope(rows: Sequence[Result]) -> tuple[float, float, int] | None:
    """Activation memory per image of one variant: the least-squares slope of the
    steady-state peak allocated memory over batch sizes, with its intercept (what does not
    grow with the batch: weights, cuDNN workspace) and the number of cases; None with fewer
    than two batch sizes. The same formula as the view v_activation_memory."""
    import numpy as np

    points = [(r.batch_size, r.cuda_peak_allocated_bytes) for r in rows
              if r.status == "ok" and r.cuda_peak_allocated_bytes is not None]
    if len({x for x, _ in points}) < 2:
        return None
    x, y = (np.asarray(v, dtype=float) for v in zip(*points, strict=True))
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept), len(points)


def activation_lines(results: Sequence[Result]) -> dict[str, str]:
    """Per variant with CUDA peaks: its activation memory per image, in words."""
    lines = {}
    for name in dict.fromkeys(variant(r) for r in sorted(results, key=_order)):
        rows = [r for r in results if variant(r) == name]
        found = activation_slope(rows)
        if found is None:
            continue
        slope, intercept, n = found
        sizes = sorted({r.batch_size for r in rows if r.cuda_peak_allocated_bytes is not None})
        lines[name] = (f"Activation memory: {slope / 2**20:.1f} MiB per image (slope of the "
                       f"steady-state peak allocated memory over batch sizes {sizes[0]}-"
                       f"{sizes[-1]}, {n} cases); {intercept / 2**20:.0f} MiB does not grow "
                       f"with the batch")
    return lines


def _fmt(value: float | None, spec: str, scale: float | None = None) -> str:
    if value is None:
        return "-"
    return format(value / scale if scale else value, spec)


def _ratio(value: float, reference: float | None) -> str:
    return "n/a" if not reference else f"{value / reference:.4g}x"


def _seed_row(r: Result) -> dict[str, str]:
    row = dict.fromkeys(SEED_COLUMNS + OUR_COLUMNS, "-")
    row["Batch Size"] = str(r.batch_size)
    row["Status"] = "ok" if r.status == "ok" else f"{r.status}: {r.reason}"
    if r.status == "ok" and r.valid is False:
        row["Status"] = f"disturbed: {r.validity_reason}"
    row["Host Peak RSS (GB)"] = _fmt(r.host_peak_rss_bytes, ".4f", GIB)
    if r.status != "ok" or not r.end_to_end_images or not r.end_to_end_s:
        return row
    fps = r.end_to_end_images / r.end_to_end_s
    row.update({
        "Time Taken (s)": f"{r.end_to_end_s:.4f}",
        "Time Taken per Image (ms)": f"{r.end_to_end_s * 1e3 / r.end_to_end_images:.4f}",
        "FPS": f"{fps:.4f}",
        "CUDA Memory Consumption (GB)": _fmt(r.cuda_peak_reserved_bytes, ".4f", GIB),
        "Inference img/s": f"{r.images_per_s:.4f}",
        "p90 Latency (ms)": _fmt(r.latency_p90_ms, ".3f"),
        "Median ±95% CI": "n/a" if r.ci_rel is None else f"±{r.ci_rel:.1%}",
        "Stable": "yes" if r.stable else "no",
        "GFLOP/s": _fmt(r.gflops_per_s, ".1f"),
        "% of Peak": _fmt(r.pct_of_peak, ".1f"),
        "CUDA Warm-up Peak (GB)": _fmt(r.cuda_warmup_peak_reserved_bytes, ".4f", GIB),
    })
    return row


def _order(r: Result) -> tuple:
    precision = PRECISIONS.index(r.precision) if r.precision in PRECISIONS else len(PRECISIONS)
    mode = getattr(r, "compile", "none")
    compiled = COMPILE_MODES.index(mode) if mode in COMPILE_MODES else len(COMPILE_MODES)
    runtime = getattr(r, "runtime", None) or "torch"
    ran = RUNTIMES.index(runtime) if runtime in RUNTIMES else len(RUNTIMES)
    return (DEVICES.index(r.device), ran, precision, r.channels_last, compiled, r.threads or 0,
            r.batch_size)


def by_variant(results: Sequence[Result]) -> dict[str, list[Result]]:
    """The results of each table (variant: device, precision, ...), by batch size; the
    order of `seed_rows`, so that a page can put each row beside its result."""
    return {name: sorted((r for r in results if variant(r) == name), key=lambda r: r.batch_size)
            for name in dict.fromkeys(variant(r) for r in sorted(results, key=_order))}


def seed_rows(results: Sequence[Result]) -> dict[str, list[dict[str, str]]]:
    """Rows per variant (device, precision, ...), ordered by batch size."""
    tables: dict[str, list[dict[str, str]]] = {}
    for name, rows in by_variant(results).items():
        fps = [r.end_to_end_images / r.end_to_end_s
               if r.status == "ok" and r.end_to_end_images and r.end_to_end_s else None
               for r in rows]
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


def phase_rows(results: Sequence[Result]) -> list[dict[str, str]]:
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


def compile_rows(results: Sequence[Result]) -> list[dict[str, str]]:
    """torch.compile's one-off costs per compiled case, beside its steady state."""
    return [
        {
            "Case": r.case_key,
            "Status": r.status if r.status == "ok" else f"{r.status}: {r.reason}",
            "Compile, first call (s)": _fmt(r.compile_seconds, ".2f"),
            "First compiled call (s)": _fmt(r.first_call_seconds, ".3f"),
            "Steady batch (ms)": _fmt(r.latency_p50_ms, ".2f"),
            "Recompiles": _fmt(r.recompiles, "d"),
            "Graph breaks": _fmt(r.graph_breaks, "d"),
        }
        for r in sorted(results, key=_order)
        if getattr(r, "compile", "none") != "none" and r.status != "skipped"
    ]


def _share(value: float | None) -> str:
    return _fmt(value, ".1%")


def _energy(value: float | None, reason: str | None) -> str:
    """Joules per image, or why there are none (its first clause: the rest is in SQL)."""
    if value is None and reason:
        return f"n/a ({reason.split(' (')[0].split(': ')[0]})"
    return _fmt(value, ".3f")


def telemetry_rows(results: Sequence[Result]) -> list[dict[str, str]]:
    """Whether the machine left each case alone, and what the devices did meanwhile."""
    rows = []
    for r in sorted(results, key=_order):
        if r.status != "ok":
            continue
        row = {
            "Case": r.case_key,
            "Valid": "-" if r.valid is None else ("yes" if r.valid else "no"),
            "Interference": _share(r.interference),
            "Steal": _share(r.steal),
            "Attempts": _fmt(r.attempts, "d"),
            "Lag-1 autocorr.": _fmt(r.latency_autocorr, ".2f"),
            "CPU J/img": _energy(r.cpu_energy_j_per_image, r.cpu_energy_reason),
        }
        if r.device == "cuda":
            row.update({
                "GPU W (mean)": _fmt(r.gpu_power_w_mean, ".0f"),
                "SM MHz (median/min/max)": "/".join(_fmt(v, ".0f") for v in (
                    r.gpu_sm_clock_mhz_median, r.gpu_sm_clock_mhz_min, r.gpu_sm_clock_mhz_max)),
                "GPU util": _fmt(r.gpu_utilization_pct, ".0f"),
                "Clock events": r.gpu_clock_events or "-",
                "GPU J/img": _energy(r.gpu_energy_j_per_image, r.gpu_energy_reason),
            })
        rows.append(row)
    columns = list(dict.fromkeys(c for row in rows for c in row))
    return [{c: row.get(c, "-") for c in columns} for row in rows]


# verdicts a row shows for throughput and status only: for another metric they add a row
# and no news (an inconclusive p90 latency is the throughput's noise again)
QUIET = (VerdictKind.UNCHANGED, VerdictKind.NEW, VerdictKind.INSUFFICIENT_HISTORY,
         VerdictKind.INCONCLUSIVE, VerdictKind.OUTPUTS_MATCH, VerdictKind.OUTPUTS_UNCHANGED)




def _value(metric: str, value: float | None) -> str:
    if metric.endswith("_bytes"):
        return _fmt(value, ".3f", GIB) + (" GiB" if value is not None else "")
    return _fmt(value, ".2f" if metric.endswith("_ms") else ".3f")


def verdict_rows(verdicts: Sequence[Verdict]) -> list[dict[str, str]]:
    """Throughput and status verdicts for every case; other metrics only when they moved."""
    return [
        {
            "Case": v.case_key,
            "Metric": v.metric,
            "Verdict": str(v.verdict),
            "Tonight": _value(v.metric, v.tonight),
            "Baseline": _value(v.metric, v.baseline),
            "Change": _fmt(v.relative_change, "+.1%"),
            "z": _fmt(v.z, ".1f"),
            "Min effect": _fmt(v.min_effect, ".0%"),
            # the smallest change this series sees on one night (90% of the time)
            "Sees": "-" if v.mde is None else f">= {v.mde:.1%}",
            "Confirmed": {True: "yes", False: "no", None: "-"}[v.confirmed],
            "Nights": str(len(v.baseline_run_pks)),
            "Software changes": ", ".join(v.software_changes or []) or "-",
            "Detail": v.detail or "",
        }
        for v in verdicts
        if v.metric in ("images_per_s", "status") or v.verdict not in QUIET
    ]


def warning_lines(results: Sequence[Result]) -> list[str]:
    return [f"{r.case_key}: {w}" for r in results for w in (r.warnings or [])]
