"""The export a runtime runs, made once and cached (segtasks.runtimes.cache), each form in a
process of its own.

The exporter runs in a child process (`python -m segtasks.runtimes.export_worker`): its
memory (torch.export traces the whole model) never counts in the case's peak RSS, so a
night that makes the export and a night that reuses it measure the same process; and an
exporter that crashes costs the export, not the case's process. ONNX is made from the
PyTorch module; OpenVINO's IR from that ONNX file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from segtasks.domain.model_spec import ModelSpec
from segtasks.runtimes import cache
from segtasks.runtimes.identity import export_identity
from segtasks.runtimes.onnx_export import OPSET, ExportFailed

EXPORT_TIMEOUT_S = 1800  # a large model's trace takes minutes; a hung exporter must not hang
# the form each runtime opens, and the forms it is made from
FORMS = {"onnxruntime": ("onnx",), "openvino": ("onnx", "openvino")}


@dataclass(frozen=True)
class Ready:
    """The export a runtime opens, how long making it took (every form it needed, when it
    was made) and whether tonight found it in the cache."""

    stored: cache.Stored
    seconds: float
    cached: bool


def ensure(runtime: str, weights: Path, weights_sha256: str, input_shape: tuple[int, ...],
           opset: int = OPSET, root: Path | None = None, model: ModelSpec | None = None
           ) -> Ready:
    """The runtime's export of `model` (None: the mission's) with these weights, from the
    cache or made now; ExportFailed with the exporter's reason when it cannot be made."""
    identity = export_identity(weights_sha256, model)
    seconds, cached, stored, source = 0.0, True, None, None
    for form in FORMS[runtime]:
        where = cache.folder(identity, form, opset, root)
        stored = cache.read(where)
        if stored is None:
            cached = False
            stored = _make(form, where, weights, input_shape, opset, source, model)
        seconds += stored.seconds
        source = stored.path
    assert stored is not None
    return Ready(stored, seconds, cached)


def _make(form: str, where: Path, weights: Path, input_shape: tuple[int, ...], opset: int,
          source: Path | None, model: ModelSpec | None = None) -> cache.Stored:
    job = {"form": form, "folder": str(where), "weights": str(weights),
           "model": None if model is None else model.to_dict(),
           "input_shape": list(input_shape), "opset": opset,
           "source": None if source is None else str(source)}
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "segtasks.runtimes.export_worker",
                               json.dumps(job)], capture_output=True, text=True,
                              timeout=EXPORT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ExportFailed(f"{form} export did not finish in {EXPORT_TIMEOUT_S} s") from None
    said = _last_json(done.stdout)
    if said is not None and "failed" in said:
        raise ExportFailed(said["failed"])
    stored = cache.read(where)
    if done.returncode != 0 or stored is None:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise ExportFailed(f"{form} export process failed after "
                           f"{time.perf_counter() - started:.0f} s: {why}")
    return stored


def _last_json(text: str) -> dict | None:
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None
