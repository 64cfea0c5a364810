"""The rules benchmarks/detector_eval.py runs side by side on the same simulated series.

Each rule walks one series night by night (disturbed nights already left out) and returns
its alerts as (night, where): the night the alert is raised and the night it says the
change began (the same night for per-night rules; Otava and asv place change points back
in the history). segbench's own rule is the nightly's (segtasks.judge.series.judge_series, the same
function the nightly calls); Apache Otava and asv are the real packages (optional: `pip install -e
'.[bench]'` and `pip install --no-deps apache-otava`), not re-implementations.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from segtasks.domain.metrics import BY_NAME
from segtasks.domain.verdicts import VerdictKind
from segtasks.judge.series import NightValue, Tonight, judge_series
from segtasks.judge.thresholds import night_thresholds
from segtasks.plan import validate
from segtasks.plan.params import JudgeSettings
from segtasks.pooling import ProcessValue

SPEED = BY_NAME["images_per_s"]

Alert = tuple[int, int]


@dataclass
class Walk:
    alerts: list[Alert] = field(default_factory=list)
    first_processes: int = 0  # nights judged (one measuring process each)
    confirm_processes: int = 0  # processes spent confirming
    mdes: list[float] = field(default_factory=list)
    inconclusive: int = 0  # nights whose verdict was inconclusive


def settings(**conf: object) -> JudgeSettings:
    return validate(conf).judging


Rule = Callable[[np.ndarray, np.ndarray, int], Walk]


def segbench(judging: JudgeSettings, *, steps: bool = True, confirmation: bool = True) -> Rule:
    """The nightly's own rule (segtasks.judge.series.judge_series: first measurement,
    screening, confirmation, step test), walked night by night; a night's run id is its
    index. `steps=False` leaves the step test out (a z threshold no step reaches)."""
    threshold = night_thresholds(judging).of("cpu-bs1-fp32", SPEED.name)
    repeats = judging.confirm_repeats if confirmation else 0
    if not steps:
        judging = replace(judging, step_z_threshold=math.inf)

    def walk(ips: np.ndarray, ci: np.ndarray, start: int) -> Walk:
        out = Walk()
        history = [NightValue(t, float(v)) for t, v in enumerate(ips[:start, 0])]
        previous: str | None = None
        for t in range(start, len(ips)):
            measured = [ProcessValue(float(ips[t, p]), float(ci[t, p]))
                        for p in range(1 + repeats)]
            tonight = Tonight(t, measured[0].value, measured[0].ci_rel, firsts=measured[:1],
                              confirming=measured[1:])
            judged = judge_series(SPEED, threshold, judging, tonight, history[::-1],
                                  previous=previous, inconclusive=True)
            out.first_processes += 1
            out.mdes.append(judged.first.mde or 0.0)
            out.inconclusive += judged.verdict == VerdictKind.INCONCLUSIVE
            if judged.screened:
                out.confirm_processes += repeats
            if judged.alerted:
                out.alerts.append((t, judged.began_run_pk if judged.began_run_pk is not None
                                   else t))
            previous = judged.verdict
            history.append(NightValue(t, judged.value))
        return out

    return walk


def fixed_gate(gate: float = 0.07, k: int = 7, nights_in_a_row: int = 1
               ) -> Callable[[np.ndarray, np.ndarray, int], Walk]:
    """TorchBench: tonight below the median of the last k nights by more than `gate`;
    its nightly rule wants the gate crossed on `nights_in_a_row` nights."""
    def walk(ips: np.ndarray, _ci: np.ndarray, start: int) -> Walk:
        out, crossed = Walk(), 0
        values = ips[:, 0]
        for t in range(start, len(values)):
            past = values[t - k:t]
            # the baseline of the two-night rule is the nights before the first crossing
            if crossed:
                past = values[t - crossed - k:t - crossed]
            crossed = crossed + 1 if values[t] < np.median(past) * (1 - gate) else 0
            if crossed == nights_in_a_row:
                out.alerts.append((t, t - crossed + 1))
        return out
    return walk


def conbench(z: float = 5.0, window: int = 30) -> Callable[[np.ndarray, np.ndarray, int], Walk]:
    """Conbench's default: tonight more than z standard deviations below the mean of the
    last `window` nights."""
    def walk(ips: np.ndarray, _ci: np.ndarray, start: int) -> Walk:
        out = Walk()
        values = ips[:, 0]
        for t in range(start, len(values)):
            past = values[max(0, t - window):t]
            mean, std = statistics.fmean(past), statistics.stdev(past)
            if std > 0 and (mean - values[t]) / std > z:
                out.alerts.append((t, t))
        return out
    return walk


def otava(window_len: int = 50, max_pvalue: float = 0.001, min_magnitude: float = 0.0
          ) -> Callable[[np.ndarray, np.ndarray, int], Walk]:
    """Apache Otava's change-point detection with its defaults, run every night on the
    series so far; each change point (slower) it places for the first time is an alert."""
    from otava.analysis import compute_change_points

    def walk(ips: np.ndarray, _ci: np.ndarray, start: int) -> Walk:
        out, seen = Walk(), set()
        values = [float(v) for v in ips[:, 0]]
        for t in range(start, len(values)):
            points, _weak = compute_change_points(values[:t + 1], window_len=window_len,
                                                  max_pvalue=max_pvalue,
                                                  min_magnitude=min_magnitude)
            for cp in points:
                if cp.index not in seen and cp.stats.forward_rel_change() < 0:
                    out.alerts.append((t, cp.index))
                seen.add(cp.index)
        return out
    return walk


def asv_steps(threshold: float = 0.05) -> Callable[[np.ndarray, np.ndarray, int], Walk]:
    """asv's step detection (asv.step_detect) with asv's default regression threshold
    (5%), on batch latency (asv's "lower is better"); each regression it places for the
    first time is an alert."""
    from asv.step_detect import detect_regressions, detect_steps

    def walk(ips: np.ndarray, _ci: np.ndarray, start: int) -> Walk:
        out, seen = Walk(), set()
        latency = [1.0 / float(v) for v in ips[:, 0]]
        for t in range(start, len(latency)):
            _latest, _best, positions = detect_regressions(detect_steps(latency[:t + 1]),
                                                           threshold=threshold)
            for _before, after, _v_before, _v_after in positions or []:
                if after not in seen:
                    out.alerts.append((t, after))
                seen.add(after)
        return out
    return walk
