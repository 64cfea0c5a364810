"""What a night is judged against, loaded in a few queries: the run, its results and
measuring processes, the history of every series it measured (one query), the newest
earlier verdict of each series, and the previous run's results."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from segtasks.domain.records import Night, Process, Result, Run, Series
from segtasks.domain.verdicts import Verdict
from segtasks.judge.series import NOISE_NIGHTS
from segtasks.store import repository

__all__ = ["NOISE_NIGHTS", "Evidence", "load"]


@dataclass(frozen=True)
class Evidence:
    run: Run
    results: list[Result]  # tonight's results, with batch latencies and environment
    history: dict[Series, list[Night]]  # good nights of each series, newest first
    previous_run: Run | None  # the run of the same DAG before this one
    previous_results: list[Result]
    processes: dict[str, list[Process]] = field(default_factory=dict)  # case key -> processes
    # (case key, hardware key, metric) -> the series' newest verdict before tonight
    last_verdicts: dict[tuple[str, str | None, str], Verdict] = field(default_factory=dict)

    def nights(self, result: Result) -> list[Night]:
        return self.history.get((result.case_key, result.hardware_key), [])

    def processes_of(self, result: Result) -> list[Process]:
        return self.processes.get(result.case_key, [])

    def last_verdict(self, result: Result, metric: str) -> str | None:
        found = self.last_verdicts.get((result.case_key, result.hardware_key, metric))
        return None if found is None else found.verdict


def load(engine: Engine, run_pk: int, *, baseline_runs: int) -> Evidence:
    run = repository.get_run(engine, run_pk)
    results = repository.run_results(engine, run_pk)
    series = sorted({(r.case_key, r.hardware_key) for r in results},
                    key=lambda s: (s[0], s[1] or ""))
    history = repository.series_history(engine, run, series,
                                        limit=max(baseline_runs, NOISE_NIGHTS))
    previous = repository.previous_run(engine, run)
    return Evidence(run, results, history, previous,
                    repository.run_results(engine, previous.id) if previous else [],
                    repository.processes_of(engine, run_pk),
                    repository.last_verdicts(engine, run, series))
