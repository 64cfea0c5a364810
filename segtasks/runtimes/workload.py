"""A runtime's session as the protocol's workload (segtasks.measure.protocol.Workload), so
that it is timed exactly as PyTorch is: the same warm-up, stopping rule, phases and
end-to-end passes.

The phases keep their meaning: preprocess is the same transform (to the NumPy batch the
session takes); h2d is handing the batch to the session, a contiguous float32 array (0 on
the CPU: the copy to a GPU happens inside the session's run and counts as forward);
forward is the session's run, which returns the logits on the host (so it ends
synchronised); postprocess is the same sigmoid, threshold and resize as PyTorch's. Every
mark is the host clock: the session's run is synchronous.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from segtasks.domain.model_spec import ModelSpec
from segtasks.measure.model import postprocess, preprocess
from segtasks.measure.protocol import Workload


def as_batch(images: list[np.ndarray], spec: ModelSpec | None = None) -> np.ndarray:
    """The same transform as PyTorch's cases, as the contiguous float32 array a session
    takes."""
    return np.ascontiguousarray(preprocess(images, spec).numpy(), dtype=np.float32)


@dataclass
class RuntimeWorkload(Workload):
    """`model` is a segtasks.runtimes.sessions.Session."""

    torch_device: ClassVar[bool] = False

    def run(self, images: list[np.ndarray]) -> tuple[float, float, float, float]:
        import torch

        t0 = time.perf_counter()
        x = preprocess(images, self.case.model)
        t1 = time.perf_counter()
        batch = np.ascontiguousarray(x.numpy(), dtype=np.float32)
        t2 = time.perf_counter()
        logits = self.model.run(batch)
        if self._delay_s:
            time.sleep(self._delay_s)
        t3 = time.perf_counter()
        postprocess(torch.from_numpy(logits), [img.shape[:2] for img in images],
                    self.case.model_spec.classes)
        t4 = time.perf_counter()
        return (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, (t4 - t3) * 1e3
