"""Phase marks inside one batch: CUDA events on GPU, perf_counter on CPU."""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any


class PhaseTimer:
    """Marks phase boundaries inside one batch; `intervals_ms()` gives the time between marks.

    On GPU the marks are CUDA events recorded on the stream, so marking a phase adds no
    sync; only reading the intervals waits for the last mark.
    """

    def __init__(self, device: str) -> None:
        self.cuda = device == "cuda"
        self._marks: list[Any] = []

    def mark(self) -> None:
        if self.cuda:
            import torch

            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append(event)
        else:
            self._marks.append(time.perf_counter())

    def intervals_ms(self) -> list[float]:
        if self.cuda:
            self._marks[-1].synchronize()
            return [float(a.elapsed_time(b)) for a, b in pairwise(self._marks)]
        return [(b - a) * 1e3 for a, b in pairwise(self._marks)]
