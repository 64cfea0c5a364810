"""torch.compile for a case: the kernel cache, the wrapping, and the count of compilations.

The model is wrapped after loading, precision and memory format, so that what is compiled
is what eager mode runs. Compilation is lazy: the first call traces and compiles (its time
is the case's compile time), the second is the first call of the compiled code; both run
before the warm-up and are stored apart from the steady state (segtasks.measure.protocol).

Compiled kernels are cached in a folder under var/ (segtasks.paths.compile_cache_dir), so
that the next case and the next night load them instead of compiling again; the cache keys
include torch's version and the graph, so a changed model or torch compiles afresh.

torch is imported inside functions only; the cache variables must be set before it loads.
Works on torch 2.11 (the GPU machine) as well as newer: only `torch.compile` and dynamo's
counters are used, the latter read defensively.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from segtasks.errors import SegbenchError
from segtasks.measure import planted

# Inductor reads these when it loads (the FX graph and AOT autograd caches) or when it first
# needs the folder (the cache folder itself, where Triton's kernels go too).
CACHE_DIR_VARIABLE = "TORCHINDUCTOR_CACHE_DIR"
CACHE_SWITCHES = ("TORCHINDUCTOR_FX_GRAPH_CACHE", "TORCHINDUCTOR_AUTOGRAD_CACHE")


class CompileFailed(SegbenchError, RuntimeError):
    """torch.compile could not compile the model (no C compiler, an inductor error...)."""


def use_kernel_cache(folder: Path) -> None:
    """Cache compiled kernels in `folder`. Call before torch is imported.

    It overrides an inherited TORCHINDUCTOR_CACHE_DIR on purpose: torch writes its default
    (/tmp/torchinductor_<user>) into the environment of any process that touched inductor,
    and a case started from such a process would otherwise cache there, not under var/.
    SEGBENCH_COMPILE_CACHE names another folder (segtasks.paths.compile_cache_dir).
    """
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[CACHE_DIR_VARIABLE] = str(folder)
    for switch in CACHE_SWITCHES:
        os.environ.setdefault(switch, "1")


def _planted_backend(graph: Any, example_inputs: Any) -> Any:
    raise RuntimeError(f"planted compile failure ({planted.COMPILE_FAILURE_VARIABLE} is set)")


def compiled(model: Any, mode: str) -> Any:
    """The model wrapped by torch.compile in `mode` (nothing is compiled until it is called)."""
    import torch
    import torch._dynamo

    # A failure must be a recorded status, never a silent fallback to eager mode that would
    # be stored as a compiled figure.
    torch._dynamo.config.suppress_errors = False
    if planted.compile_failure():
        return torch.compile(model, backend=_planted_backend)
    return torch.compile(model, mode=mode)


def _counters() -> Any:
    try:
        from torch._dynamo.utils import counters
    except ImportError:  # a private module: absent or moved in some torch version
        return None
    return counters


def graphs_compiled() -> int | None:
    """Graphs dynamo has compiled in this process so far (a recompilation adds one)."""
    counters = _counters()
    if counters is None:
        return None
    return int(counters["stats"].get("unique_graphs", 0))


def graph_breaks() -> int | None:
    """How many times dynamo broke the model into separate graphs (each costs speed)."""
    counters = _counters()
    if counters is None:
        return None
    return int(sum(counters["graph_break"].values()))


def cache_hits() -> dict[str, int]:
    """Inductor's FX graph cache hits and misses so far, for the log."""
    counters = _counters()
    if counters is None:
        return {}
    inductor = counters["inductor"]
    return {name: int(inductor.get(name, 0))
            for name in ("fxgraph_cache_hit", "fxgraph_cache_miss")}


def failure_message(mode: str, exc: BaseException) -> str:
    """One line: what compile mode failed and the innermost cause dynamo wrapped."""
    inner: BaseException = exc
    while True:
        nested = getattr(inner, "inner_exception", None) or inner.__cause__
        if nested is None or nested is inner:
            break
        inner = nested
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return f"torch.compile(mode={mode!r}) failed: {type(inner).__name__}: {text}".rstrip(": ")


def is_compile_failure(exc: BaseException) -> bool:
    """A failure of compilation itself, whenever it surfaced (also a later recompilation)."""
    if isinstance(exc, CompileFailed):
        return True
    try:
        from torch._dynamo.exc import BackendCompilerFailed
    except ImportError:
        return False
    kinds: tuple[type[BaseException], ...] = (BackendCompilerFailed,)
    try:
        from torch._inductor.exc import InductorError  # torch 2.7 and later
    except ImportError:
        pass
    else:
        kinds += (InductorError,)
    return isinstance(exc, kinds)
