"""One case, start to finish, with every failure turned into a recorded status.

`run_case` does the measuring and is meant to own its process (peak RSS and CUDA
state are per process); `run_case_isolated` gives it one, as the DAG and CLI do.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from segtasks import environment, measure
from segtasks.data import DataError, load_images
from segtasks.grid import Case
from segtasks.model import WeightsError, file_sha256, load_model, postprocess, preprocess
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


def run_case(case: Case, inputs: Path, weights: Path) -> CaseResult:
    """Measure one case in this process. Never raises for a failure of the case itself."""
    import torch

    env = environment.fingerprint()
    base = {"case": case, "hardware_key": env["hardware_key"], "environment": env}
    if case.device == "cuda" and not torch.cuda.is_available():
        return CaseResult(status="skipped", reason=_no_cuda_reason(), **base)

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
    return result


def _measure(case: Case, inputs: Path, weights: Path, base: dict) -> CaseResult:
    import torch

    device, bs = case.device, case.batch_size
    image_set = load_images(inputs)
    images = image_set.images
    # Always full batches: a ragged last batch would be a different (and re-tuned) workload.
    n_batches = math.ceil(case.n_images / bs)
    batches = [
        [images[(b * bs + i) % len(images)] for i in range(bs)]
        for b in range(case.warmup_batches + n_batches)
    ]

    t0 = time.perf_counter()
    model = load_model(weights, device)
    if device == "cuda":
        torch.cuda.synchronize()
    load_s = time.perf_counter() - t0

    def infer(x: torch.Tensor, sizes: list[tuple[int, int]]) -> list:
        return postprocess(model(x.to(device)), sizes)

    latencies: list[float] = []
    preprocess_s = 0.0
    cold_start_ms = None
    with torch.inference_mode():
        for i, batch in enumerate(batches):
            if i == case.warmup_batches and device == "cuda":
                measure.reset_cuda_peaks()
            t = time.perf_counter()
            x = preprocess(batch)
            pre = time.perf_counter() - t
            sizes = [img.shape[:2] for img in batch]
            _, ms = measure.timed(device, lambda x=x, sizes=sizes: infer(x, sizes))
            if cold_start_ms is None:
                cold_start_ms = ms
            if i >= case.warmup_batches:
                latencies.append(ms)
                preprocess_s += pre

    stats = measure.LatencyStats.from_samples(latencies)
    n_images = n_batches * bs
    total_s = sum(latencies) / 1e3
    allocated, reserved = measure.cuda_peaks() if device == "cuda" else (None, None)
    return CaseResult(
        status="ok",
        weights_sha256=file_sha256(weights),
        dataset_fingerprint=image_set.fingerprint,
        inputs_skipped=len(image_set.skipped),
        n_images=n_images,
        n_batches=n_batches,
        total_s=total_s,
        ms_per_image=total_s * 1e3 / n_images,
        images_per_s=n_images / total_s,
        latency_mean_ms=stats.mean_ms,
        latency_p50_ms=stats.p50_ms,
        latency_p90_ms=stats.p90_ms,
        latency_p95_ms=stats.p95_ms,
        latency_p99_ms=stats.p99_ms,
        latency_std_ms=stats.std_ms,
        latency_min_ms=stats.min_ms,
        latency_max_ms=stats.max_ms,
        cold_start_ms=cold_start_ms,
        load_s=load_s,
        preprocess_s=preprocess_s,
        cuda_peak_allocated_bytes=allocated,
        cuda_peak_reserved_bytes=reserved,
        latencies_ms=latencies,
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
