"""How a case is measured: warm-up, the timed loop under the stopping rule, and the seed's
end-to-end pass. See docs/measuring.md.

Every batch is split into phases: preprocess (host, untimed by the device timer),
host-to-device copy, forward, and postprocess (threshold, resize, copy back to host).
A batch's latency is h2d + forward + postprocess, measured between the same marks, so
the phases add up to it exactly.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from segtasks.measure import compilation, failures, memory, planted
from segtasks.measure.model import autocast_dtype, postprocess, preprocess
from segtasks.measure.stopping import StoppingRule
from segtasks.measure.telemetry import Watch, Watched
from segtasks.measure.timers import PhaseTimer
from segtasks.plan.case import Case


@dataclass
class Workload:
    """The model on its device with the case's options, and a way to run one batch."""

    model: Any
    case: Case
    images: Sequence[np.ndarray]
    # PyTorch runs the model on the case's device, so its allocator's peaks and a
    # torch.cuda.synchronize mean something; another runtime (segtasks.runtimes) sets False
    torch_device: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self._delay_s = planted.forward_delay_s()

    def batch(self, index: int) -> list[np.ndarray]:
        """The `index`-th batch of the input stream, cycling through the images."""
        bs, n = self.case.batch_size, len(self.images)
        return [self.images[(index * bs + i) % n] for i in range(bs)]

    def run(self, images: list[np.ndarray]) -> tuple[float, float, float, float]:
        """One batch; returns (preprocess, h2d, forward, postprocess) in ms."""
        import torch

        device, dtype = self.case.device, autocast_dtype(self.case.precision)
        t0 = time.perf_counter()
        x = preprocess(images, self.case.model)
        if self.case.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        pre_ms = (time.perf_counter() - t0) * 1e3
        sizes = [img.shape[:2] for img in images]
        autocast = torch.autocast(device, dtype=dtype) if dtype is not None else nullcontext()
        timer = PhaseTimer(device)
        timer.mark()
        x = x.to(device)
        timer.mark()
        with autocast:
            logits = self.model(x)
        if self._delay_s:
            time.sleep(self._delay_s)
        timer.mark()
        # ends with the masks on the host: a sync
        postprocess(logits.float(), sizes, self.case.model_spec.classes)
        timer.mark()
        h2d, forward, post = timer.intervals_ms()
        return pre_ms, h2d, forward, post


@dataclass
class Measurement:
    """The raw data of one case: every statistic is derived from it."""

    latencies_ms: list[float]
    phases_ms: list[list[float]]
    cold_start_ms: float
    stop_reason: str
    end_to_end_s: float  # the median pass
    end_to_end_images: int  # in each pass
    warmup_peaks: tuple[int, int] | None = None  # CUDA (allocated, reserved)
    steady_peaks: tuple[int, int] | None = None
    watched: Watched | None = None
    compiled: FirstCalls | None = None  # torch.compile's one-off costs; None when eager


@dataclass
class FirstCalls:
    """The first two calls of a compiled model, in seconds (latency: h2d + forward +
    postprocess), and dynamo's graph count after the first."""

    compile_s: float
    first_call_s: float
    graphs_after_compile: int | None
    graph_breaks: int | None
    recompiles: int | None = None


def first_calls(work: Workload) -> FirstCalls:
    """Call the compiled model twice before the warm-up, so that neither its compilation nor
    its first compiled call hides in the warm-up or reaches the steady state.

    A failure of the first call is a compile failure (the eager model runs the same
    batches), unless it is an allocation failure, which stays one.
    """
    breaks_before = compilation.graph_breaks()  # counters are per process, not per model
    try:
        _, h2d, forward, post = work.run(work.batch(0))
    except Exception as exc:
        if failures.is_out_of_memory(exc):
            raise
        raise compilation.CompileFailed(
            compilation.failure_message(work.case.compile, exc)) from exc
    compile_s = (h2d + forward + post) / 1e3
    graphs, breaks = compilation.graphs_compiled(), compilation.graph_breaks()
    if breaks is not None and breaks_before is not None:
        breaks -= breaks_before
    _, h2d, forward, post = work.run(work.batch(1))
    return FirstCalls(compile_s, (h2d + forward + post) / 1e3, graphs, breaks)


def warm_up(work: Workload) -> tuple[float | None, int]:
    """Run at least `warmup_batches` and at least `warmup_seconds`: the first batch's latency
    and the number of batches run."""
    case, cold, index = work.case, None, 0
    start = time.perf_counter()
    while index < case.warmup_batches or (
        case.warmup_seconds > 0 and time.perf_counter() - start < case.warmup_seconds
    ):
        _, h2d, forward, post = work.run(work.batch(index))
        cold = cold if cold is not None else h2d + forward + post
        index += 1
    return cold, index


def timed_loop(work: Workload, rule: StoppingRule, first_index: int = 0
               ) -> tuple[list[float], list[list[float]], str]:
    """Batches until the stopping rule says stop: latencies, phases and why it stopped."""
    latencies: list[float] = []
    phases: list[list[float]] = []
    start = time.perf_counter()
    index = first_index
    while True:
        pre, h2d, forward, post = work.run(work.batch(index))
        latencies.append(h2d + forward + post)
        phases.append([pre, h2d, forward, post])
        index += 1
        stop = rule.stop_reason(latencies, time.perf_counter() - start)
        if stop:
            return latencies, phases, stop


def _sync(work: Workload) -> None:
    if work.case.device == "cuda" and work.torch_device:
        import torch

        torch.cuda.synchronize()


def end_to_end(work: Workload) -> tuple[float, int]:
    """The seed's figure, measured properly: preprocessing included, after warm-up, under
    inference mode, synchronised, and long enough to mean something.

    The first pass runs whole batches until it holds at least `seed_images` images and
    lasted at least `end_to_end_seconds`; the other `end_to_end_passes - 1` passes run the
    same batches. Returns the median pass's seconds and the images in a pass.
    """
    case = work.case
    at_least = math.ceil(case.seed_images / case.batch_size)
    start = time.perf_counter()
    n_batches = 0
    # each batch ends with its masks on the host (a sync), so the clock sees the device's time
    while n_batches < at_least or time.perf_counter() - start < case.end_to_end_seconds:
        work.run(work.batch(n_batches))
        n_batches += 1
    _sync(work)
    passes = [time.perf_counter() - start]
    for _ in range(case.end_to_end_passes - 1):
        start = time.perf_counter()
        for index in range(n_batches):
            work.run(work.batch(index))
        _sync(work)
        passes.append(time.perf_counter() - start)
    return statistics.median(passes), n_batches * case.batch_size


def measure_case(work: Workload, watch: Watch | None = None) -> Measurement:
    """The first calls of a compiled model, warm-up, the timed loop (watched by `watch`, if
    given) and the end-to-end passes.

    On CUDA, the warm-up's peak memory and the timed loop's are each measured from an
    emptied cache (segtasks.measure.memory); one untimed batch after the second reset lets
    the allocator take back what the loop needs, so the timed batches do not pay for it.
    """
    import torch

    case = work.case
    cuda = case.device == "cuda" and work.torch_device
    with torch.inference_mode():
        if cuda:
            memory.fresh_peaks()
        # compiling belongs to what a deployment must fit: inside the warm-up's peak
        compiled = first_calls(work) if case.compile != "none" else None
        cold, index = warm_up(work)
        warmup_peaks = memory.cuda_peaks() if cuda else None
        if cuda:
            memory.fresh_peaks()
            work.run(work.batch(index))
            index += 1
        with watch if watch is not None else nullcontext():
            latencies, phases, stop = timed_loop(work, StoppingRule.for_case(case), index)
        steady_peaks = memory.cuda_peaks() if cuda else None
        watched = watch.summary(len(latencies) * case.batch_size) if watch else None
        e2e_s, e2e_images = end_to_end(work)
    if compiled is not None and compiled.graphs_after_compile is not None:
        now = compilation.graphs_compiled()
        compiled.recompiles = None if now is None else now - compiled.graphs_after_compile
    return Measurement(latencies, phases, cold if cold is not None else latencies[0], stop,
                       e2e_s, e2e_images, warmup_peaks, steady_peaks, watched, compiled)
