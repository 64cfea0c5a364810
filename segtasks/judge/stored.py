"""Judging a stored run: load the evidence, decide, store the verdicts. The only I/O of
the judge, kept apart from the decisions (segtasks.judge.night)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Engine

from segtasks.judge.evidence import Evidence, load
from segtasks.judge.night import judge_night
from segtasks.judge.verdict import Verdict
from segtasks.plan.params import JudgeSettings
from segtasks.store import repository


def judge_run(engine: Engine, run_pk: int, settings: JudgeSettings
              ) -> tuple[Evidence, list[Verdict]]:
    """Verdicts for every case of the run, stored (replacing any earlier ones) and returned
    with the evidence they were judged on."""
    evidence = load(engine, run_pk, baseline_runs=settings.baseline_runs)
    verdicts = judge_night(evidence, settings,
                           samples_of=lambda result_id: repository.samples_of(engine, result_id))
    repository.save_comparisons(engine, run_pk, (asdict(v) for v in verdicts))
    return evidence, verdicts
