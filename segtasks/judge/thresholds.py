"""The thresholds of a night, built in one place from its run parameters.

Order: each metric's run-level threshold (speed or memory minimum effect, z threshold),
then the per-series overrides of `series_thresholds`, which win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from segtasks.judge.metrics import METRICS
from segtasks.plan.params import JudgeSettings


@dataclass(frozen=True)
class Threshold:
    min_effect: float  # smallest relative change that counts
    z_threshold: float  # and how many noise units it must lie away


@dataclass(frozen=True)
class NightThresholds:
    run_level: Mapping[str, Threshold]  # metric -> threshold
    per_series: Mapping[str, Mapping[str, Threshold]] = field(default_factory=dict)

    def of(self, case_key: str, metric: str) -> Threshold:
        return self.per_series.get(case_key, {}).get(metric) or self.run_level[metric]


def night_thresholds(settings: JudgeSettings) -> NightThresholds:
    run_level = {
        m.name: Threshold(settings.memory_min_effect if m.kind == "memory"
                          else settings.min_effect, settings.z_threshold)
        for m in METRICS
    }
    per_series = {
        case_key: {metric: replace(run_level[metric], **change)
                   for metric, change in by_metric.items()}
        for case_key, by_metric in settings.series_thresholds.items()
    }
    return NightThresholds(run_level, per_series)
