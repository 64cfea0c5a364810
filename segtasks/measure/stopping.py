"""When to stop measuring a case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from segtasks.measure.stats import MIN_SAMPLES_FOR_CI, LatencyStats


@dataclass(frozen=True)
class StoppingRule:
    """Measure at least `min_batches` and `min_seconds`; stop once the median is pinned down
    to +-`ci_target` (95% CI), or at `max_seconds` whatever the interval.

    The cap never cuts below `min_batches`: every result has enough samples for an interval.
    The defaults are the run parameters' (segtasks.plan.case.Case); `for_case` is the usual
    way to make one.
    """

    min_batches: int
    min_seconds: float
    max_seconds: float
    ci_target: float

    def __post_init__(self) -> None:
        if self.min_batches < MIN_SAMPLES_FOR_CI:
            raise ValueError(f"min_batches must be >= {MIN_SAMPLES_FOR_CI} for a 95% interval "
                             f"of the median, got {self.min_batches}")
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ValueError("need 0 < min_seconds <= max_seconds")
        if not 0 < self.ci_target < 1:
            raise ValueError(f"ci_target must be in (0, 1), got {self.ci_target}")

    @classmethod
    def for_case(cls, case: object) -> StoppingRule:
        return cls(**{name: getattr(case, name) for name in
                      ("min_batches", "min_seconds", "max_seconds", "ci_target")})

    def stop_reason(self, samples_ms: Sequence[float], elapsed_s: float) -> str | None:
        """'stable' or 'time_cap' when measuring should stop, None to go on."""
        if len(samples_ms) < self.min_batches:
            return None
        if elapsed_s >= self.min_seconds:
            if LatencyStats.from_samples(samples_ms).ci_rel <= self.ci_target:
                return "stable"
        return "time_cap" if elapsed_s >= self.max_seconds else None
