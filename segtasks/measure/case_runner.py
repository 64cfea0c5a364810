"""One case, start to finish, in this process, with every failure turned into a status.

`run_case` is meant to own its process (peak RSS and CUDA state are per process);
segtasks.launch gives it one, as the DAG and the CLI do. The steps are kept apart:
prepare (inputs, model), measure (segtasks.measure.protocol), read the device, and
assemble the result from those parts (`assemble`, no I/O).
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segtasks.measure import environment, failures, memory, peaks, planted
from segtasks.measure.data import DataError, ImageSet, load_images
from segtasks.measure.flops import flops_per_image
from segtasks.measure.gpu import GpuProcesses, gpu_processes
from segtasks.measure.model import WeightsError, file_sha256, load_model
from segtasks.measure.protocol import Measurement, Workload, measure_case
from segtasks.measure.stats import LatencyStats
from segtasks.plan.case import Case
from segtasks.result import CaseResult, Latency, Memory, Phases, Throughput

log = logging.getLogger(__name__)


@dataclass
class Readings:
    """What the case's device said besides the timings."""

    load_s: float
    gflop_per_image: float
    peak_tflops: float | None
    cuda_model_bytes: int | None = None
    cuda_peaks: tuple[int, int] | None = None  # (allocated, reserved)
    gpu: GpuProcesses | None = None


def run_case(case: Case, inputs: Path, weights: Path) -> CaseResult:
    """Measure one case in this process. Never raises for a failure of the case itself."""
    import torch

    if case.device == "cpu" and case.threads is not None:
        torch.set_num_threads(case.threads)
    if case.device == "cuda":
        # One process per batch size: cuDNN picks its kernels for this shape during warm-up.
        torch.backends.cudnn.benchmark = True
    env = environment.fingerprint()
    base: dict[str, Any] = {"case": case, "hardware_key": env["hardware_key"],
                            "environment": env}
    why_not = failures.unsupported(case)
    if why_not:
        return CaseResult(status="skipped", reason=why_not, **base)

    oom_reason = None
    try:
        result = _measure(case, Path(inputs), Path(weights), base)
    except (DataError, WeightsError) as exc:
        result = CaseResult(status="error", reason=str(exc), **base)
    except Exception as exc:  # noqa: BLE001 - any failure of a case is recorded, not raised
        if failures.is_out_of_memory(exc):
            oom_reason = failures.first_line(exc)
        else:
            log.exception("case %s failed", case.key)
            result = CaseResult(status="error", reason=failures.first_line(exc), **base)
    if oom_reason is not None:
        # Recover outside the except block: the traceback keeps the batch tensors alive.
        gc.collect()
        if case.device == "cuda":
            torch.cuda.empty_cache()
        result = CaseResult(status="oom", reason=oom_reason, **base)
    result.memory = result.memory or Memory()
    result.memory.host_peak_rss_bytes = memory.peak_rss_bytes()
    for warning in result.warnings:
        log.warning("%s: %s", case.key, warning)
    return result


def _measure(case: Case, inputs: Path, weights: Path, base: dict[str, Any]) -> CaseResult:
    import torch

    image_set = load_images(inputs)
    gflop = flops_per_image() / 1e9
    t0 = time.perf_counter()
    model = load_model(weights, case.device)
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if case.device == "cuda":
        torch.cuda.synchronize()
    load_s = time.perf_counter() - t0
    model_bytes = int(torch.cuda.memory_allocated()) if case.device == "cuda" else None

    measurement = measure_case(Workload(model, case, image_set.images))

    env = base["environment"]
    gpus = env["hardware"]["gpus"]
    readings = Readings(
        load_s=load_s, gflop_per_image=gflop,
        peak_tflops=peaks.peak_tflops(
            gpus[0]["name"] if case.device == "cuda" and gpus else None, case.precision,
            tf32_convs=env["settings"]["cudnn_allow_tf32"]),
        cuda_model_bytes=model_bytes,
        cuda_peaks=memory.cuda_peaks() if case.device == "cuda" else None,
        gpu=gpu_processes() if case.device == "cuda" else None,
    )
    return assemble(measurement, readings, image_set, weights_sha256=file_sha256(weights),
                    **base)


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def assemble(run: Measurement, readings: Readings, image_set: ImageSet, *, case: Case,
             weights_sha256: str, **base: Any) -> CaseResult:
    """The result of a measured case, from its raw data and readings (no I/O)."""
    stats = LatencyStats.from_samples(run.latencies_ms)
    bs = case.batch_size
    images_per_s = bs * 1e3 / stats.p50_ms
    phase_means = np.mean(np.asarray(run.phases_ms), axis=0)
    warnings = [*_skipped_inputs(image_set), *planted.warnings()]
    if readings.gpu and (shared := readings.gpu.warning()):
        warnings.append(shared)
    if run.stop_reason != "stable":
        warnings.append(
            f"not stable: the median's 95% interval is +-{stats.ci_rel:.1%} after "
            f"{len(run.latencies_ms)} batches ({case.max_seconds:g} s cap), "
            f"target +-{case.ci_target:.1%}")
    gflops = readings.gflop_per_image * images_per_s
    allocated, reserved = readings.cuda_peaks or (None, None)
    return CaseResult(
        status="ok", warnings=warnings, weights_sha256=weights_sha256,
        dataset_fingerprint=image_set.fingerprint, inputs_skipped=len(image_set.skipped),
        latency=Latency(
            n_batches=len(run.latencies_ms), n_images=len(run.latencies_ms) * bs,
            total_s=sum(run.latencies_ms) / 1e3, mean_ms=stats.mean_ms, p50_ms=stats.p50_ms,
            p90_ms=stats.p90_ms, p95_ms=stats.p95_ms, p99_ms=stats.p99_ms,
            std_ms=stats.std_ms, iqr_ms=stats.iqr_ms, cv=stats.cv, min_ms=stats.min_ms,
            max_ms=stats.max_ms, ci_low_ms=_finite(stats.ci_low_ms),
            ci_high_ms=_finite(stats.ci_high_ms), ci_rel=_finite(stats.ci_rel),
            stable=run.stop_reason == "stable", stop_reason=run.stop_reason),
        phases=Phases(
            preprocess_ms=float(phase_means[0]), h2d_ms=float(phase_means[1]),
            forward_ms=float(phase_means[2]), postprocess_ms=float(phase_means[3]),
            cold_start_ms=run.cold_start_ms, load_s=readings.load_s),
        throughput=Throughput(
            images_per_s=images_per_s, ms_per_image=stats.p50_ms / bs,
            end_to_end_s=run.end_to_end_s, end_to_end_images=run.end_to_end_images,
            gflop_per_image=readings.gflop_per_image, gflops_per_s=gflops,
            peak_tflops=readings.peak_tflops,
            pct_of_peak=100 * gflops / (readings.peak_tflops * 1e3)
            if readings.peak_tflops else None),
        memory=Memory(
            cuda_model_bytes=readings.cuda_model_bytes, cuda_peak_allocated_bytes=allocated,
            cuda_peak_reserved_bytes=reserved,
            nvml_process_bytes=readings.gpu.own_bytes if readings.gpu else None,
            gpu_other_processes=len(readings.gpu.others) if readings.gpu else None),
        latencies_ms=run.latencies_ms, phases_ms=run.phases_ms, case=case, **base,
    )


def _skipped_inputs(image_set: ImageSet) -> list[str]:
    if not image_set.skipped:
        return []
    return [f"{len(image_set.skipped)} unreadable input files left out"]
