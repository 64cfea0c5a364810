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

from segtasks.measure import (
    compilation,
    environment,
    failures,
    gpu,
    memory,
    peaks,
    placement,
    planted,
    precision,
    provenance,
    validity,
)
from segtasks.measure.data import DataError, ImageSet, load_images
from segtasks.measure.flops import gflop_or_zero
from segtasks.measure.model import (
    ModelError,
    WeightsError,
    file_sha256,
    load_model,
    weights_of,
)
from segtasks.measure.outputs import check_outputs
from segtasks.measure.parity_set import parity_set
from segtasks.measure.protocol import Measurement, Workload, measure_case
from segtasks.measure.stats import LatencyStats
from segtasks.measure.stopping import StoppingRule
from segtasks.measure.telemetry import Watch
from segtasks.parity.outputs import device_kind
from segtasks.paths import compile_cache_dir
from segtasks.plan.case import TORCH, Case
from segtasks.result import (
    CaseResult,
    Compilation,
    Latency,
    Memory,
    Phases,
    Telemetry,
    Throughput,
    Validity,
)

log = logging.getLogger(__name__)


@dataclass
class Readings:
    """What the case's setup said besides the timed work."""

    load_s: float
    gflop_per_image: float
    peak_tflops: float | None
    cuda_model_bytes: int | None = None


def run_case(case: Case, inputs: Path, weights: Path, *, headline_only: bool = False
             ) -> CaseResult:
    """Measure one case in this process. Never raises for a failure of the case itself.

    `headline_only`: the timed loop only, without the FLOP count and the output checks,
    which the night's first process of the case makes: for a side of a pair
    (segtasks.pairs), a further process of a case and a confirming process, whose value is
    their images/s and latency (segtasks.store.repository.save_process), and whose cost is
    paid many times a night."""
    compilation.use_kernel_cache(compile_cache_dir())  # the worker did so before torch
    import torch

    if not placement.unavailable(case.cpu_affinity):
        placement.pin(case.cpu_affinity)  # the worker did so before loading torch: a no-op
    gpu_before = _gpu_pids_before_cuda() if case.device == "cuda" else None
    if case.device == "cpu" and case.effective_threads is not None:
        torch.set_num_threads(case.effective_threads)
    if case.device == "cuda":
        # One process per batch size: cuDNN picks its kernels for this shape during warm-up.
        torch.backends.cudnn.benchmark = True
    precision.apply(case.precision)
    env = environment.fingerprint()
    base: dict[str, Any] = {"case": case, "hardware_key": env["hardware_key"],
                            "environment": env,
                            "model_description": case.model_spec.describe()}
    why_not = failures.unsupported(case)
    if why_not:
        return CaseResult(status="skipped", reason=why_not, **base)

    oom_reason = None
    try:
        result = _measure(case, Path(inputs), Path(weights), base, gpu_before,
                          headline_only=headline_only)
    except (DataError, WeightsError, ModelError) as exc:
        result = CaseResult(status="error", reason=str(exc), **base)
    except Exception as exc:  # noqa: BLE001 - any failure of a case is recorded, not raised
        if failures.is_out_of_memory(exc):
            oom_reason = failures.first_line(exc)
        elif compilation.is_compile_failure(exc):
            log.warning("case %s: compilation failed", case.key, exc_info=exc)
            reason = (str(exc) if isinstance(exc, compilation.CompileFailed)
                      else compilation.failure_message(case.compile, exc))
            result = CaseResult(status="compile_failed", reason=reason,
                                warnings=planted.warnings(), **base)
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
    if result.memory.host_peak_rss_bytes is None:  # a measured case has it from before parity
        result.memory.host_peak_rss_bytes = memory.peak_rss_bytes()
    for warning in result.warnings:
        log.warning("%s: %s", case.key, warning)
    return result


def _gpu_pids_before_cuda() -> set[int] | None:
    """The PIDs on every GPU before this process touches CUDA (segtasks.measure.gpu)."""
    nvml, why = gpu.load_nvml()
    if nvml is None:
        log.info("no GPU processes before CUDA: %s", why)
        return None
    return gpu.pids_everywhere(nvml)


def watch_for(case: Case, gpus: list[dict[str, Any]], gpu_before: set[int] | None
              ) -> tuple[Watch, gpu.Device | None]:
    """What watches the timed loop: the cores in use, and the case's GPU found by UUID
    (`gpus` as the fingerprint lists them)."""
    device = None
    if case.device == "cuda":
        import torch

        index = torch.cuda.current_device()
        uuid = gpus[index].get("uuid") if index < len(gpus) else None
        nvml, why = gpu.load_nvml()
        device = gpu.find_device(nvml, uuid) if nvml is not None and uuid else None
        if device is None:
            log.warning("no GPU telemetry: %s", why or f"NVML has no device with UUID {uuid}")
    cores = case.cpu_affinity or placement.allowed_cores()
    return Watch(cores, device, gpu_before=gpu_before), device


def _measure(case: Case, inputs: Path, weights: Path, base: dict[str, Any],
             gpu_before: set[int] | None, *, headline_only: bool = False) -> CaseResult:
    import torch

    if case.runtime != TORCH:  # another runtime: an export in its session, same protocol
        from segtasks.runtimes.case import measure_in_runtime

        return measure_in_runtime(case, inputs, weights, base, gpu_before,
                                  headline_only=headline_only)

    spec = case.model_spec
    weights = weights_of(case.model, weights)  # the spec's file, else the night's
    image_set = load_images(inputs, spec.in_channels)
    t0 = time.perf_counter()
    model = load_model(weights, case.device, case.model)
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if case.device == "cuda":
        torch.cuda.synchronize()
    load_s = time.perf_counter() - t0
    # counted after loading: a factory that cannot be built is its error, not the count's
    counted: list[str] = []  # the count's own warning, if it could not be made
    gflop = 0.0 if headline_only else gflop_or_zero(case.model, counted)  # 0: not counted
    eager = model  # the reference of the output check runs the plain module
    if case.compile != "none":
        model = compilation.compiled(model, case.compile)  # lazy: the first call compiles
    model_bytes = int(torch.cuda.memory_allocated()) if case.device == "cuda" else None

    env = base["environment"]
    watch, device = watch_for(case, env["hardware"]["gpus"], gpu_before)
    measurement = measure_case(Workload(model, case, image_set.images), watch)
    if measurement.compiled is not None:
        log.info("%s: compiled in %.1f s, kernel cache %s (%s)", case.key,
                 measurement.compiled.compile_s, compile_cache_dir(), compilation.cache_hits())

    gpus = env["hardware"]["gpus"]
    name = gpus[torch.cuda.current_device()]["name"] if case.device == "cuda" and gpus else None
    readings = Readings(
        load_s=load_s, gflop_per_image=gflop,
        peak_tflops=peaks.peak_tflops(name, case.precision,
                                      mig=device is not None and device.mig),
        cuda_model_bytes=model_bytes,
    )
    sha256 = file_sha256(weights)
    result = assemble(measurement, readings, image_set, weights_sha256=sha256,
                      model_identity=spec.identity(sha256), **base)
    result.weights_origin = provenance.origin(weights, sha256)
    result.warnings.extend(counted)
    # the speed figures are the timed loop's: parity's few passes must not move the peak
    assert result.memory is not None
    result.memory.host_peak_rss_bytes = memory.peak_rss_bytes()
    if not headline_only:
        _check_outputs(result, model, eager, image_set)
    return result


def _check_outputs(result: CaseResult, model: object, eager: object,
                   image_set: ImageSet) -> None:
    """Parity against the fp32 eager reference, after the timed work. A failure here costs
    the check (recorded as a warning, parity left NULL), never the speed result."""
    case = result.case
    kind = device_kind(case.device, result.environment.get("hardware", {}),
                       _cuda_index() if case.device == "cuda" else 0)
    try:
        result.outputs, result.reference_outputs = check_outputs(
            model, parity_set(image_set), case, kind, eager=eager)
    except Exception as exc:  # noqa: BLE001 - the measured figures stand without it
        if failures.is_out_of_memory(exc):
            reason = f"out of memory ({failures.first_line(exc)})"
        else:
            log.exception("output check of %s failed", case.key)
            reason = failures.first_line(exc)
        result.warnings.append(f"outputs not checked: {reason}")


def _cuda_index() -> int:
    import torch

    return int(torch.cuda.current_device())


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


def assemble(run: Measurement, readings: Readings, image_set: ImageSet, *, case: Case,
             weights_sha256: str, model_identity: str | None = None, **base: Any
             ) -> CaseResult:
    """The result of a measured case, from its raw data and readings (no I/O)."""
    stats = LatencyStats.from_samples(run.latencies_ms)
    bs = case.batch_size
    images_per_s = bs * 1e3 / stats.p50_ms
    phases = np.asarray(run.phases_ms)
    phase_means = np.mean(phases, axis=0)
    # efficiency of the model itself: the forward phase only, not the copies and resizes
    forward_ms = float(np.median(phases[:, 2]))
    gflops = readings.gflop_per_image * bs * 1e3 / forward_ms if forward_ms > 0 else None
    warnings = [*_skipped_inputs(image_set), *planted.warnings(), *_compile_warnings(run)]
    watched = run.watched
    gpu_seen = watched.gpu_processes if watched else None
    if gpu_seen and (shared := gpu_seen.warning()):
        warnings.append(shared)
    if watched and watched.interference_reason:
        warnings.append(watched.interference_reason)
    if run.stop_reason != "stable":  # say which rule was not met, not only the interval
        warnings.append("not stable: " + StoppingRule.for_case(case).unstable_reason(
            run.latencies_ms))
    verdict = _validity(case, watched)
    if not verdict.valid:
        warnings.append(f"disturbed: {verdict.validity_reason}")
    warmup_allocated, warmup_reserved = run.warmup_peaks or (None, None)
    allocated, reserved = run.steady_peaks or (None, None)
    return CaseResult(
        status="ok", warnings=warnings, weights_sha256=weights_sha256,
        model_identity=model_identity,
        dataset_fingerprint=image_set.fingerprint, inputs_skipped=len(image_set.skipped),
        latency=Latency(
            n_batches=len(run.latencies_ms), n_images=len(run.latencies_ms) * bs,
            total_s=sum(run.latencies_ms) / 1e3, mean_ms=stats.mean_ms, p50_ms=stats.p50_ms,
            p90_ms=stats.p90_ms, p95_ms=stats.p95_ms, p99_ms=stats.p99_ms,
            std_ms=stats.std_ms, iqr_ms=stats.iqr_ms, cv=stats.cv, min_ms=stats.min_ms,
            max_ms=stats.max_ms, ci_low_ms=_finite(stats.ci_low_ms),
            ci_high_ms=_finite(stats.ci_high_ms), ci_rel=_finite(stats.ci_rel),
            stable=run.stop_reason == "stable", stop_reason=run.stop_reason,
            autocorr=stats.autocorr),
        phases=Phases(
            preprocess_ms=float(phase_means[0]), h2d_ms=float(phase_means[1]),
            forward_ms=float(phase_means[2]), postprocess_ms=float(phase_means[3]),
            cold_start_ms=run.cold_start_ms, load_s=readings.load_s),
        throughput=Throughput(
            images_per_s=images_per_s, ms_per_image=stats.p50_ms / bs,
            end_to_end_s=run.end_to_end_s, end_to_end_images=run.end_to_end_images,
            gflop_per_image=readings.gflop_per_image, gflops_per_s=gflops or 0.0,
            peak_tflops=readings.peak_tflops,
            pct_of_peak=100 * gflops / (readings.peak_tflops * 1e3)
            if readings.peak_tflops and gflops else None),
        memory=Memory(
            cuda_model_bytes=readings.cuda_model_bytes, cuda_peak_allocated_bytes=allocated,
            cuda_peak_reserved_bytes=reserved,
            cuda_warmup_peak_allocated_bytes=warmup_allocated,
            cuda_warmup_peak_reserved_bytes=warmup_reserved,
            nvml_process_bytes=gpu_seen.own_bytes if gpu_seen else None,
            gpu_other_processes=gpu_seen.other_count if gpu_seen else None),
        telemetry=watched.telemetry if watched else Telemetry(),
        validity=verdict,
        compilation=None if run.compiled is None else Compilation(
            compile_seconds=run.compiled.compile_s,
            first_call_seconds=run.compiled.first_call_s,
            recompiles=run.compiled.recompiles, graph_breaks=run.compiled.graph_breaks),
        latencies_ms=run.latencies_ms, phases_ms=run.phases_ms, case=case, **base,
    )


def _validity(case: Case, watched: Any) -> Validity:
    if watched is None:
        return Validity(valid=True)
    seen = watched.gpu_processes
    return validity.judge(
        watched.interference, max_interference=case.max_interference,
        max_steal=case.max_steal, gpu_others=seen.others if seen else None,
        gpu_unidentified=max(len(seen.unmatched) - 1, 0) if seen else 0,
        harmful_reasons=watched.harmful_reasons,
        throttled_share=watched.telemetry.gpu_throttled_share)


def _compile_warnings(run: Measurement) -> list[str]:
    compiled = run.compiled
    if compiled is None:
        return []
    found = []
    if compiled.recompiles:
        found.append(f"torch.compile recompiled {compiled.recompiles} time(s) after the "
                     "first call: the steady state may include compilation")
    if compiled.graph_breaks:
        found.append(f"torch.compile split the model at {compiled.graph_breaks} graph "
                     "break(s)")
    return found


SKIPPED_NAMED = 10  # input files named in a warning; the rest are counted


def _skipped_inputs(image_set: ImageSet) -> list[str]:
    """One warning naming the files left out (the first ten, then how many more), so that
    the stored result and the report say which files, not only how many."""
    skipped = image_set.skipped
    if not skipped:
        return []
    named = ", ".join(f"{name} ({why})" for name, why in skipped[:SKIPPED_NAMED])
    more = (f", and {len(skipped) - SKIPPED_NAMED} more" if len(skipped) > SKIPPED_NAMED
            else "")
    return [f"{len(skipped)} unreadable input files left out of {image_set.folder}: "
            f"{named}{more}"]
