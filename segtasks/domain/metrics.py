"""The metrics a night is judged on, with their direction. Thresholds are not here: they are
run parameters (segtasks.plan.params), turned into per-series thresholds by
segtasks.judge.thresholds, the one place that does so."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    kind: str  # "speed" or "memory": which run-level minimum effect applies
    noise_floor: float  # relative: below this, spread is treated as measurement resolution
    uses_interval: bool  # whether tonight's median interval applies to this metric

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"


METRICS = (
    Metric("images_per_s", True, "speed", 0.005, True),
    Metric("latency_p90_ms", False, "speed", 0.005, True),
    # nearly deterministic: a tight band, so that a few percent more memory is seen
    Metric("cuda_peak_reserved_bytes", False, "memory", 0.002, False),
    Metric("host_peak_rss_bytes", False, "memory", 0.01, False),
)
METRIC_NAMES = tuple(m.name for m in METRICS)
BY_NAME = {m.name: m for m in METRICS}
# the metrics each measuring process stores (segtasks.store.schema.Process)
PROCESS_METRICS = ("images_per_s", "latency_p90_ms")
