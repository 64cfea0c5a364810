"""One case in a runtime other than torch, in this process (called by
segtasks.measure.case_runner, which turns what it raises into a status).

The steps: the PyTorch module on the case's device (the parity reference; loaded first,
so a bad weights file is an `error` as for any case), the export (cached, else made in a
process of its own), the runtime's session on it, the same protocol as PyTorch, then the
output check. An export or a session that fails is `export_failed` with its reason.
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path
from typing import Any

from segtasks.measure import memory, provenance
from segtasks.measure.case_runner import Readings, _cuda_index, assemble, watch_for
from segtasks.measure.data import load_images
from segtasks.measure.flops import gflop_or_zero
from segtasks.measure.model import file_sha256, load_model, preprocess, weights_of
from segtasks.measure.parity_set import parity_set
from segtasks.measure.protocol import measure_case
from segtasks.parity.outputs import device_kind
from segtasks.plan.case import Case
from segtasks.result import CaseResult, Export
from segtasks.runtimes import export
from segtasks.runtimes.onnx_export import ExportFailed, one_line
from segtasks.runtimes.outputs import check_runtime_outputs
from segtasks.runtimes.sessions import open_session
from segtasks.runtimes.workload import RuntimeWorkload

log = logging.getLogger(__name__)


def measure_in_runtime(case: Case, inputs: Path, weights: Path, base: dict[str, Any],
                       gpu_before: set[int] | None, *, headline_only: bool = False
                       ) -> CaseResult:
    spec = case.model_spec
    weights = weights_of(case.model, weights)  # the spec's file, else the night's
    image_set = load_images(inputs, spec.in_channels)
    # Loaded first, so that a bad weights file is an `error` as for any case, then let go:
    # the PyTorch module would otherwise sit in memory through the timed loop and count in
    # the runtime's peak RSS. It is loaded again for the output check, after the peak is
    # read.
    load_model(weights, case.device, case.model)
    gc.collect()
    sha256 = file_sha256(weights)
    base = {**base, "model_identity": spec.identity(sha256)}
    input_shape = tuple(preprocess(image_set.images[:1], case.model).shape)
    try:
        ready = export.ensure(case.runtime, weights, sha256, input_shape, model=case.model)
    except ExportFailed as exc:
        log.warning("%s: %s", case.key, exc)
        return CaseResult(status="export_failed", reason=str(exc), weights_sha256=sha256,
                          export=Export("failed"), **base)
    step = Export("ok", export_seconds=ready.seconds, export_opset=ready.stored.opset,
                  export_bytes=ready.stored.bytes, export_cached=ready.cached)
    log.info("%s: export %s (%s, %.1f s when made, %d bytes)", case.key, ready.stored.path,
             "cached" if ready.cached else "made now", ready.seconds, ready.stored.bytes)
    t0 = time.perf_counter()
    try:
        session = open_session(ready.stored.path, case)
    except ExportFailed as exc:
        step.export_status = "failed"
        return CaseResult(status="export_failed", reason=str(exc), weights_sha256=sha256,
                          export=step, **base)
    load_s = time.perf_counter() - t0
    step.runtime_provider = session.provider

    env = base["environment"]
    watch, _ = watch_for(case, env["hardware"]["gpus"], gpu_before)
    measurement = measure_case(RuntimeWorkload(session, case, image_set.images), watch)
    counted: list[str] = []
    readings = Readings(load_s=load_s,
                        gflop_per_image=0.0 if headline_only
                        else gflop_or_zero(case.model, counted),
                        peak_tflops=None)  # the peaks table is PyTorch's precisions'
    result = assemble(measurement, readings, image_set, weights_sha256=sha256, **base)
    result.export = step
    result.weights_origin = provenance.origin(weights, sha256)
    result.warnings.extend(counted)
    assert result.memory is not None
    result.memory.host_peak_rss_bytes = memory.peak_rss_bytes()
    if not headline_only:
        _check(result, session, load_model(weights, case.device, case.model), image_set)
    return result


def _check(result: CaseResult, session: Any, eager: Any, image_set: Any) -> None:
    """Parity after the timed work; a failure costs the check (a warning), not the result."""
    case = result.case
    kind = device_kind(case.device, result.environment.get("hardware", {}),
                       _cuda_index() if case.device == "cuda" else 0)
    try:
        result.outputs, result.reference_outputs = check_runtime_outputs(
            session, eager, parity_set(image_set), case, kind)
    except Exception as exc:  # noqa: BLE001 - the measured figures stand without it
        log.exception("output check of %s failed", case.key)
        result.warnings.append(f"outputs not checked: {one_line(exc)}")
