"""The report of one run, as one value: built once from what the judge already holds (or
from the store, for `segbench report`), then rendered in every format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from segtasks.domain.metrics import METRIC_NAMES
from segtasks.domain.records import Night, Result, Run, Series
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.report.paired_section import PairedSection
from segtasks.report.recommend import (
    Constraints,
    Recommendation,
    RuntimeGain,
    recommend,
    runtime_gains,
)


@dataclass(frozen=True)
class Trend:
    """A regressed series' recent nights, oldest first, with tonight last."""

    case_key: str
    metric: str
    nights: list[tuple[datetime, float]]
    tonight: datetime
    baseline: float | None


@dataclass(frozen=True)
class RunReport:
    run_pk: int
    title: str
    database: str  # where the results came from (URL without password)
    results: Sequence[Result]
    verdicts: Sequence[Verdict]  # the judge's, or the stored ones
    trends: list[Trend] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why the night failed, if it did
    notes: list[str] = field(default_factory=list)  # the run's notes
    # a paired night's software-vs-machine verdicts (None: not read, e.g. an older caller)
    paired: PairedSection | None = None
    # the night's model in one line each, where not the default (model_spec.model_line)
    models: list[str] = field(default_factory=list)
    # what each runtime other than torch gains over PyTorch eager, per batch size
    runtime_gains: list[RuntimeGain] = field(default_factory=list)

    @property
    def regressions(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == VerdictKind.REGRESSION]


def title_of(run: Run) -> str:
    return (f"segbench run {run.id} ({run.dag_id} / {run.run_id}, {run.trigger}, "
            f"state {run.state}, code {run.code_version})")


def build(run: Run, results: Sequence[Result], verdicts: Sequence[Verdict],
          history: Mapping[Series, list[Night]], database: str,
          problems: Sequence[str] = (), paired: PairedSection | None = None) -> RunReport:
    """The report of `run`; `history` (newest first, as the judge loaded it) gives the trend
    of every regressed series; `paired` (segtasks.report.paired_section.paired_section) the
    night's paired verdicts, or why it was not paired."""
    tonight = {(r.case_key, r.hardware_key): r for r in results}
    trends = []
    for v in verdicts:
        if v.verdict != VerdictKind.REGRESSION or v.metric not in METRIC_NAMES:
            continue
        series = (v.case_key, v.hardware_key)
        nights = [(n.started_at, getattr(n.result, v.metric))
                  for n in reversed(history.get(series, []))]
        if series in tonight:
            nights.append((run.started_at, getattr(tonight[series], v.metric)))
        trends.append(Trend(v.case_key, v.metric,
                            [(at, value) for at, value in nights if value is not None],
                            run.started_at, v.baseline))
    return RunReport(run.id, title_of(run), database, results, verdicts, trends,
                     recommend(results, Constraints.from_conf(run.params)), list(problems),
                     list(run.notes or []), paired, models_of(run, results),
                     runtime_gains(results))


def models_of(run: Run, results: Sequence[Result]) -> list[str]:
    """The models a night measured, in one line each, where not the default: as its
    results recorded them, else as its run conf names it (a night without results yet)."""
    found = list(dict.fromkeys(line for r in results if (line := r.model_line)))
    if not found and (line := run.model_line):
        found.append(line)
    return found
