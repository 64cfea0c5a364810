"""One case, start to finish, with every failure turned into a recorded status.

`run_case` does the measuring and is meant to own its process (peak RSS and CUDA
state are per process); `run_case_isolated` gives it one, as the DAG and CLI do.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from segtasks import environment, measure, peaks, protocol
from segtasks.data import DataError, load_images
from segtasks.grid import Case
from segtasks.model import WeightsError, file_sha256, load_model
from segtasks.result import CaseResult

log = logging.getLogger(__name__)


def _no_cuda_reason() -> str:
    import torch

    if torch.version.cuda is None:
        return f"CUDA requested, but torch {torch.__version__} was built without CUDA"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    hint = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    return (
        f"CUDA requested, but torch {torch.__version__} (CUDA {torch.version.cuda}) sees no "
        f"CUDA device{hint}: no GPU or no driver on this worker"
    )


def _is_host_oom(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _unsupported(case: Case) -> str | None:
    """Why this machine cannot run the case as asked, or None. Never a silent substitute."""
    import torch

    if case.device == "cuda" and not torch.cuda.is_available():
        return _no_cuda_reason()
    if case.device == "cpu" and case.precision == "fp16":
        return "fp16 autocast is a CUDA option here; on the CPU use bf16"
    if case.device == "cuda" and case.precision == "bf16" and not torch.cuda.is_bf16_supported():
        return f"bf16 requested, but {torch.cuda.get_device_name(0)} does not support it"
    return None


def run_case(case: Case, inputs: Path, weights: Path) -> CaseResult:
    """Measure one case in this process. Never raises for a failure of the case itself."""
    import torch

    if case.device == "cpu" and case.threads is not None:
        torch.set_num_threads(case.threads)
    if case.device == "cuda":
        # One process per batch size: cuDNN picks its kernels for this shape during warm-up.
        torch.backends.cudnn.benchmark = True
    env = environment.fingerprint()
    base = {"case": case, "hardware_key": env["hardware_key"], "environment": env}
    why_not = _unsupported(case)
    if why_not:
        return CaseResult(status="skipped", reason=why_not, **base)

    oom_reason = None
    try:
        result = _measure(case, Path(inputs), Path(weights), base)
    except torch.OutOfMemoryError as exc:
        oom_reason = _first_line(exc)
    except (DataError, WeightsError) as exc:
        result = CaseResult(status="error", reason=str(exc), **base)
    except Exception as exc:  # noqa: BLE001 - any failure of a case is recorded, not raised
        if not _is_host_oom(exc):
            log.exception("case %s failed", case.key)
            result = CaseResult(status="error", reason=_first_line(exc), **base)
        else:
            oom_reason = _first_line(exc)
    if oom_reason is not None:
        # Recover outside the except block: the traceback keeps the batch tensors alive.
        gc.collect()
        if case.device == "cuda":
            torch.cuda.empty_cache()
        result = CaseResult(status="oom", reason=oom_reason, **base)
    result.host_peak_rss_bytes = measure.peak_rss_bytes()
    for warning in result.warnings:
        log.warning("%s: %s", case.key, warning)
    return result


def _measure(case: Case, inputs: Path, weights: Path, base: dict) -> CaseResult:
    import torch

    image_set = load_images(inputs)
    warnings = [f"{len(image_set.skipped)} unreadable input files left out"] \
        if image_set.skipped else []
    if os.environ.get(protocol.TEST_DELAY_VARIABLE):
        warnings.append(f"{protocol.TEST_DELAY_VARIABLE} is set: a planted test slowdown")
    gflop = protocol.flops_per_image() / 1e9

    t0 = time.perf_counter()
    model = load_model(weights, case.device)
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if case.device == "cuda":
        torch.cuda.synchronize()
    load_s = time.perf_counter() - t0
    model_bytes = int(torch.cuda.memory_allocated()) if case.device == "cuda" else None

    run = protocol.measure_case(protocol.Workload(model, case, image_set.images))

    stats = measure.LatencyStats.from_samples(run.latencies_ms)
    bs = case.batch_size
    images_per_s = bs * 1e3 / stats.p50_ms
    phase_means = np.mean(np.asarray(run.phases_ms), axis=0)
    allocated, reserved = measure.cuda_peaks() if case.device == "cuda" else (None, None)
    gpu = measure.gpu_processes() if case.device == "cuda" else None
    shared = gpu.warning() if gpu else None
    if shared:
        warnings.append(shared)
    if run.stop_reason != "stable":
        warnings.append(
            f"not stable: the median's 95% interval is +-{stats.ci_rel:.1%} after "
            f"{len(run.latencies_ms)} batches ({case.max_seconds:g} s cap), "
            f"target +-{case.ci_target:.1%}"
        )
    gpus = base["environment"]["hardware"]["gpus"]
    peak = peaks.peak_tflops(
        gpus[0]["name"] if case.device == "cuda" and gpus else None, case.precision,
        tf32_convs=base["environment"]["settings"]["cudnn_allow_tf32"],
    )
    gflops = gflop * images_per_s
    return CaseResult(
        status="ok",
        warnings=warnings,
        weights_sha256=file_sha256(weights),
        dataset_fingerprint=image_set.fingerprint,
        inputs_skipped=len(image_set.skipped),
        n_images=len(run.latencies_ms) * bs,
        n_batches=len(run.latencies_ms),
        total_s=sum(run.latencies_ms) / 1e3,
        ms_per_image=stats.p50_ms / bs,
        images_per_s=images_per_s,
        latency_mean_ms=stats.mean_ms,
        latency_p50_ms=stats.p50_ms,
        latency_p90_ms=stats.p90_ms,
        latency_p95_ms=stats.p95_ms,
        latency_p99_ms=stats.p99_ms,
        latency_std_ms=stats.std_ms,
        latency_iqr_ms=stats.iqr_ms,
        latency_cv=stats.cv,
        latency_min_ms=stats.min_ms,
        latency_max_ms=stats.max_ms,
        ci_low_ms=stats.ci_low_ms if np.isfinite(stats.ci_low_ms) else None,
        ci_high_ms=stats.ci_high_ms if np.isfinite(stats.ci_high_ms) else None,
        ci_rel=stats.ci_rel if np.isfinite(stats.ci_rel) else None,
        stable=run.stop_reason == "stable",
        stop_reason=run.stop_reason,
        preprocess_ms=float(phase_means[0]),
        h2d_ms=float(phase_means[1]),
        forward_ms=float(phase_means[2]),
        postprocess_ms=float(phase_means[3]),
        cold_start_ms=run.cold_start_ms,
        load_s=load_s,
        end_to_end_s=run.end_to_end_s,
        end_to_end_images=run.end_to_end_images,
        gflop_per_image=gflop,
        gflops_per_s=gflops,
        peak_tflops=peak,
        pct_of_peak=100 * gflops / (peak * 1e3) if peak else None,
        cuda_model_bytes=model_bytes,
        cuda_peak_allocated_bytes=allocated,
        cuda_peak_reserved_bytes=reserved,
        nvml_process_bytes=gpu.own_bytes if gpu else None,
        gpu_other_processes=len(gpu.others) if gpu else None,
        latencies_ms=run.latencies_ms,
        phases_ms=run.phases_ms,
        **base,
    )


def _crash_reason(returncode: int, stderr_tail: str) -> str:
    if returncode < 0:
        sig = signal.Signals(-returncode).name
        why = " (the kernel's OOM killer sends this when host memory runs out)" \
            if sig == "SIGKILL" else ""
        head = f"case process killed by {sig}{why}"
    else:
        head = f"case process exited with code {returncode} without a result"
    return head + (f"; last output: {stderr_tail}" if stderr_tail else "")


def run_case_isolated(
    case: Case, inputs: Path, weights: Path, timeout_s: float | None = None
) -> CaseResult:
    """Run the case in a fresh Python process, so an OOM or a crash cannot poison the next."""
    with tempfile.TemporaryDirectory(prefix="segbench-case-") as tmp:
        job, out = Path(tmp) / "case.json", Path(tmp) / "result.json"
        job.write_text(json.dumps(
            {"case": case.to_dict(), "inputs": str(inputs), "weights": str(weights)}
        ))
        cmd = [sys.executable, "-m", "segtasks.worker", str(job), str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
            returncode, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as exc:
            returncode, output = None, _text(exc.stdout) + _text(exc.stderr)
        for line in output.splitlines():
            log.info("[%s] %s", case.key, line)
        if out.is_file():
            return CaseResult.from_dict(json.loads(out.read_text()))
    env = environment.fingerprint()
    reason = (
        f"case did not finish within {timeout_s:g} s"
        if returncode is None
        else _crash_reason(returncode, output.strip()[-500:])
    )
    return CaseResult(case=case, status="error", reason=reason,
                      hardware_key=env["hardware_key"], environment=env)


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""
