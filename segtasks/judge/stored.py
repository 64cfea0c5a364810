"""Judging a stored run: load the evidence, decide, store the verdicts. The only I/O of
the judge, kept apart from the decisions (segtasks.judge.night)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine

from segtasks.judge.evidence import Evidence, load
from segtasks.judge.night import judge_night
from segtasks.judge.outputs import golden_drift, golden_verdicts, parity_verdicts
from segtasks.judge.verdict import Verdict
from segtasks.plan.params import JudgeSettings
from segtasks.store import golden, repository


def judge_run(engine: Engine, run_pk: int, settings: JudgeSettings
              ) -> tuple[Evidence, list[Verdict]]:
    """Verdicts for every case of the run, stored (replacing any earlier ones) and returned
    with the evidence they were judged on."""
    compare_with_golden(engine, run_pk)
    evidence = load(engine, run_pk, baseline_runs=settings.baseline_runs)
    verdicts = judge_night(evidence, settings,
                           samples_of=lambda result_id: repository.samples_of(engine, result_id))
    on_outputs, decided = parity_verdicts(evidence.results, settings)
    goldens = golden.by_ids(engine, {r.golden_id for r in evidence.results
                                     if r.golden_id is not None})
    verdicts += on_outputs + golden_verdicts(evidence.results, goldens, evidence.run, settings)
    repository.set_parity_ok(engine, decided)
    # the report is made from these values, not read back
    evidence = replace(evidence, results=[replace(r, parity_ok=decided.get(r.id))
                                          for r in evidence.results])
    repository.save_comparisons(engine, run_pk, verdicts)
    return evidence, verdicts


def compare_with_golden(engine: Engine, run_pk: int) -> None:
    """The run's reference outputs against the golden ones (the first night of a weights,
    dataset and device kind makes them), stored with each result before it is judged."""
    golden.make_first_golden(engine, run_pk)
    for check in golden.references(engine, run_pk):
        golden.record_check(engine, run_pk, check, golden_drift(check))
