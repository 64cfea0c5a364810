"""What a night is judged against, loaded in a few queries: the run, its results and
measuring processes, the history of every series it measured (one query), the newest
earlier verdict of each series, and the previous run's results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from segtasks.store import repository
from segtasks.store.repository import Night, Series

# How far back the night-to-night noise is estimated (and a trend is drawn).
NOISE_NIGHTS = 30


@dataclass(frozen=True)
class Evidence:
    run: Any  # the runs row
    results: list[Any]  # tonight's results rows, with samples and environment
    history: dict[Series, list[Night]]  # good nights of each series, newest first
    previous_run: Any | None  # the run of the same DAG before this one
    previous_results: list[Any]
    processes: dict[str, list[Any]] = field(default_factory=dict)  # case key -> its processes
    # (case key, hardware key, metric) -> the series' newest verdict before tonight
    last_verdicts: dict[tuple[str, str | None, str], Any] = field(default_factory=dict)

    def nights(self, result: Any) -> list[Night]:
        return self.history.get((result.case_key, result.hardware_key), [])

    def processes_of(self, result: Any) -> list[Any]:
        return self.processes.get(result.case_key, [])

    def last_verdict(self, result: Any, metric: str) -> str | None:
        row = self.last_verdicts.get((result.case_key, result.hardware_key, metric))
        return None if row is None else row.verdict


def load(engine: Engine, run_pk: int, *, baseline_runs: int) -> Evidence:
    run = repository.get_run(engine, run_pk)
    results = repository.run_results(engine, run_pk)
    series = sorted({(r.case_key, r.hardware_key) for r in results})
    history = repository.series_history(engine, run, series,
                                        limit=max(baseline_runs, NOISE_NIGHTS))
    previous = repository.previous_run(engine, run)
    return Evidence(run, results, history, previous,
                    repository.run_results(engine, previous.id) if previous else [],
                    repository.processes_of(engine, run_pk),
                    repository.last_verdicts(engine, run, series))
