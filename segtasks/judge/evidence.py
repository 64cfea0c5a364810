"""What a night is judged against, loaded in a few queries: the run, its results, the
history of every series it measured (one query), and the previous run's results."""

from __future__ import annotations

from dataclasses import dataclass
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

    def nights(self, result: Any) -> list[Night]:
        return self.history.get((result.case_key, result.hardware_key), [])


def load(engine: Engine, run_pk: int, *, baseline_runs: int) -> Evidence:
    run = repository.get_run(engine, run_pk)
    results = repository.run_results(engine, run_pk)
    series = sorted({(r.case_key, r.hardware_key) for r in results})
    history = repository.series_history(engine, run, series,
                                        limit=max(baseline_runs, NOISE_NIGHTS))
    previous = repository.previous_run(engine, run)
    return Evidence(run, results, history, previous,
                    repository.run_results(engine, previous.id) if previous else [])
