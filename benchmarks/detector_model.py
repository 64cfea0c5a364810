"""The noise model of benchmarks/detector_eval.py: simulated nightly series of one case.

One night of one series is `processes` measuring processes of the case (the first, then
the ones a confirmation would run, all the same night). Each process times `batches`
batches; its images/s is batch size / median batch latency, with the median's 95% interval
from segtasks.measure.stats.median_ci (the one the nightly stores). A batch latency is

    level x night x process x lognormal(0, cv)

- `cv`: the within-process coefficient of variation of batch latencies;
- night: 1 + N(0, drift x cv), shared by every process of the night (machine state, the
  host's other tenants, thermal: what re-measuring the same night cannot remove);
- process: 1 + N(0, process_ratio x cv), new in each process (memory layout, allocator,
  kernel choice);
- outlier: with probability `outlier_p` a night's FIRST process is 15-30% slower (a passing
  disturbance the validity checks did not see); the processes after it are not;
- disturbed: with probability `disturbed_p` the whole night is 15-30% slower and the
  validity checks see it (segtasks.measure.validity): segbench calls it `disturbed` and
  leaves it out; it is left out of every rule's series, as if every harness checked.

`level` is 1 before the step and 1 / (1 - step) after it: images/s falls by `step`.
benchmarks/noise_calibration.py measures cv, drift and process_ratio on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segtasks.measure.stats import median_ci


@dataclass(frozen=True)
class NoiseModel:
    cv: float
    drift: float = 0.5  # night-to-night sd as a multiple of cv
    process_ratio: float = 0.25  # process-to-process sd as a multiple of cv
    outlier_p: float = 0.005
    disturbed_p: float = 0.02
    batches: int = 30


@dataclass(frozen=True)
class Series:
    """One simulated series: arrays over nights (axis 0) and processes (axis 1)."""

    images_per_s: np.ndarray  # (nights, processes)
    ci_rel: np.ndarray  # (nights, processes): relative half-width of each process's interval
    disturbed: np.ndarray  # (nights,) bool
    outlier: np.ndarray  # (nights,) bool


def _ranks(batches: int) -> tuple[int, int]:
    low, high = median_ci(np.arange(batches, dtype=float))
    return int(low), int(high)


def simulate(rng: np.random.Generator, model: NoiseModel, *, series: int, nights: int,
             step_night: int, step: float, processes: int) -> list[Series]:
    shape = (series, nights, processes)
    level = np.where(np.arange(nights) >= step_night, 1.0 / (1.0 - step), 1.0)
    night = 1.0 + rng.normal(0.0, model.drift * model.cv, (series, nights))
    outlier = rng.random((series, nights)) < model.outlier_p
    disturbed = rng.random((series, nights)) < model.disturbed_p
    slower = rng.uniform(1.15, 1.30, (series, nights))
    night = night * np.where(disturbed, slower, 1.0)
    first_hit = np.zeros(shape)
    first_hit[:, :, 0] = np.where(outlier, slower - 1.0, 0.0)
    process = (1.0 + rng.normal(0.0, model.process_ratio * model.cv, shape)) * (1 + first_hit)
    factor = level[None, :, None] * night[:, :, None] * process
    latencies = factor[..., None] * rng.lognormal(0.0, model.cv, (*shape, model.batches))
    latencies.sort(axis=-1)
    low, high = _ranks(model.batches)
    median = np.median(latencies, axis=-1)
    ci_rel = np.maximum(median - latencies[..., low], latencies[..., high] - median) / median
    ips = 1.0 / median
    return [Series(ips[i], ci_rel[i], disturbed[i], outlier[i]) for i in range(series)]
