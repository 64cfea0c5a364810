"""The steps of one benchmark night, shared by the Airflow DAG and the `segbench run` command.

Each step takes and returns small values (ids, dicts), since in Airflow they cross
process boundaries through XCom; the data itself lives in the results database.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from segtasks import paths, store
from segtasks.judge import evidence as judge_evidence
from segtasks.judge.night import judge_night
from segtasks.judge.stored import judge_run
from segtasks.judge.verdict import Verdict
from segtasks.plan import NightParams, validate
from segtasks.plan.case import Case
from segtasks.plan.params import DEFAULTS
from segtasks.report import files, model
from segtasks.report.markdown import render
from segtasks.result import CaseResult
from segtasks.store import repository, spool

log = logging.getLogger(__name__)


def plan(conf: dict[str, Any] | None) -> NightParams:
    """Every parameter checked before anything is measured (segtasks.plan.validate)."""
    return validate(conf)


def code_version() -> str:
    """The code being measured (git sha); asked of the measuring package, which knows how."""
    from segtasks.measure.environment import code_version as version

    return version()


def open_run(*, db_url: str | None, dag_id: str, run_id: str, trigger: str,
             params: NightParams, logical_date: datetime | None = None) -> int:
    engine = store.connect(db_url)
    spool.flush(engine, store.resolve_url(db_url))  # results an earlier run could not store
    run_pk = repository.open_run(engine, dag_id=dag_id, run_id=run_id, trigger=trigger,
                                 params=params.conf, code_version=code_version(),
                                 logical_date=logical_date)
    log.info("results go to %s, run %d", store.masked(store.resolve_url(db_url)), run_pk)
    return run_pk


def _measure(case: Case, inputs: Path | None, weights: Path | None,
             timeout_s: float | None) -> tuple[CaseResult, float]:
    """One fresh measuring process of the case (once more if disturbed), and its wall time."""
    from segtasks.launch.attempts import run_case_checked

    started = time.monotonic()
    result = run_case_checked(case, inputs or paths.inputs_dir(),
                              weights or paths.weights_path(), timeout_s=timeout_s)
    return result, time.monotonic() - started


def bench(case: dict[str, Any], run_pk: int, *, db_url: str | None,
          inputs: Path | None = None, weights: Path | None = None,
          timeout_s: float | None = None) -> dict[str, Any]:
    """Measure one case in its own process (`repeats` of them) and store it; returns a
    small summary."""
    # Fail before minutes of measuring, not after, when the database is not there.
    engine = store.connect(db_url)
    url = store.resolve_url(db_url)
    the_case = Case.from_dict(case)
    if (run_pk, the_case.key) in spool.flush(engine, url):
        # an earlier attempt measured it and only the write failed: do not measure again
        row = repository.run_result(engine, run_pk, the_case.key)
        return _summary(row.case_key, row.status, row.reason, row.images_per_s)
    result, seconds = _measure(the_case, inputs, weights, timeout_s)
    try:
        repository.save_result(engine, run_pk, result)
        repository.save_process(engine, run_pk, result, process=0, role="first",
                                seconds=seconds)
    except DBAPIError as exc:
        kept = spool.keep(url, run_pk, result)
        raise store.StoreUnavailable(
            f"the results database at {store.masked(url)} failed while storing "
            f"{the_case.key} ({str(exc.orig).strip().splitlines()[0]}); the result is kept "
            f"in {kept} and will be stored by the next attempt or the next run"
        ) from None
    if result.status == "ok":
        for process in range(1, the_case.repeats):
            again, took = _measure(the_case, inputs, weights, timeout_s)
            repository.save_process(engine, run_pk, again, process=process, role="first",
                                    seconds=took)
    images_per_s = result.throughput.images_per_s if result.throughput else None
    log.info("%s: %s%s", the_case.key, result.status,
             f" ({images_per_s:.3f} images/s)" if images_per_s else f" ({result.reason})")
    return _summary(the_case.key, result.status, result.reason, images_per_s)


def _summary(case_key: str, status: str, reason: str | None,
             images_per_s: float | None) -> dict[str, Any]:
    """What a bench task hands to XCom: small, and enough for a log line."""
    return {"case_key": case_key, "status": status, "reason": reason,
            "images_per_s": images_per_s}


def screen(run_pk: int, params: NightParams, *, db_url: str | None) -> list[dict[str, Any]]:
    """The confirming processes to run tonight: one job per screened case and repeat,
    interleaved (A B C A B C) so that a slow drift through the night hits every case alike.

    A job is {"case": the case as a dict, "process": its process index}. Nothing is stored:
    the verdicts are made once, at close, with every process measured by then.
    """
    judging = params.judging
    if not judging.confirm_repeats:
        return []
    engine = store.connect(db_url)
    loaded = judge_evidence.load(engine, run_pk, baseline_runs=judging.baseline_runs)
    verdicts = judge_night(loaded, judging, samples_of=lambda _result_id: [])
    screened = {v.case_key for v in verdicts if v.screened}
    cases = [case for case in params.cases if case.key in screened]
    if cases:
        log.info("screened, to be measured again: %s", ", ".join(c.key for c in cases))
    return [{"case": case.to_dict(), "process": case.repeats + repeat}
            for repeat in range(judging.confirm_repeats) for case in cases]


def confirm(job: dict[str, Any], run_pk: int, *, db_url: str | None, budget_s: float,
            inputs: Path | None = None, weights: Path | None = None,
            timeout_s: float | None = None) -> dict[str, Any]:
    """Measure a screened case again in a fresh process and store it as a confirming
    process; skipped (status "skipped") when the night's confirmation budget would be
    exceeded. A retry finds the process stored and does not measure it again."""
    engine = store.connect(db_url)
    the_case, process = Case.from_dict(job["case"]), int(job["process"])
    stored = repository.processes_of(engine, run_pk)
    mine = {p.process: p for p in stored.get(the_case.key, [])}
    if process in mine:
        done = mine[process]
        return _summary(the_case.key, done.status, done.reason, done.images_per_s)
    spent = sum(p.seconds or 0.0 for rows in stored.values() for p in rows
                if p.role == "confirm")
    expected = mine[0].seconds if 0 in mine and mine[0].seconds else 0.0
    if spent + expected > budget_s:
        reason = (f"confirmation budget spent ({spent:.0f} s of {budget_s:g} s; this case "
                  f"takes about {expected:.0f} s)")
        log.warning("%s: not measured again: %s", the_case.key, reason)
        return _summary(the_case.key, "skipped", reason, None)
    result, seconds = _measure(the_case, inputs, weights, timeout_s)
    repository.save_process(engine, run_pk, result, process=process, role="confirm",
                            seconds=seconds)
    images_per_s = result.throughput.images_per_s if result.throughput else None
    log.info("%s (confirming process %d): %s%s", the_case.key, process, result.status,
             f" ({images_per_s:.3f} images/s)" if images_per_s else f" ({result.reason})")
    return _summary(the_case.key, result.status, result.reason, images_per_s)


def budget_note(verdicts: list[Verdict], params: NightParams) -> str | None:
    """A note for the run when screened cases were left unconfirmed for want of time."""
    if not params.judging.confirm_repeats:
        return None
    screened = {v.case_key for v in verdicts if v.screened}
    missed = {v.case_key for v in verdicts if v.screened and v.confirmed is None}
    if not missed:
        return None
    return (f"confirmation budget ({params.options.confirm_budget_s:g} s) ran out after "
            f"{len(screened) - len(missed)} of {len(screened)} screened cases; "
            f"{', '.join(sorted(missed))} keep their first verdict")


@dataclass(frozen=True)
class NightOutcome:
    run_pk: int
    verdicts: list[Verdict]
    text: str
    html_path: Path

    @property
    def regressions(self) -> list[Verdict]:
        """Regressions to alert on tonight: new ones (an ongoing regression, alerted on an
        earlier night, is in the verdicts and the report but not alerted again)."""
        return [v for v in self.verdicts if v.verdict == "regression" and v.alerted is not False]


def judge_and_close(run_pk: int, params: NightParams, *, db_url: str | None) -> NightOutcome:
    """Judge the run against its history, store the verdicts, close the run, write the report.

    Tonight's results and the history of every series are loaded once; the report is made
    from the same values, not read back.
    """
    engine = store.connect(db_url)
    loaded, verdicts = judge_run(engine, run_pk, params.judging)
    if note := budget_note(verdicts, params):
        repository.add_notes(engine, run_pk, [note])
    failed = any(r.status == "error" for r in loaded.results)
    state = "regressed" if any(v.verdict == "regression" for v in verdicts) else (
        "failed" if failed else "success")
    repository.finish_run(engine, run_pk, state)
    run = repository.get_run(engine, run_pk)  # with its final state and finish time
    report = model.build(run, loaded.results, verdicts, loaded.history, _database(db_url))
    html_path = files.write(report, files.default_folder(run_pk))
    log.info("report of run %d: %s", run_pk, html_path)
    return NightOutcome(run_pk, verdicts, render(report), html_path)


def find_run(dag_id: str, run_id: str, *, db_url: str | None) -> int | None:
    return repository.find_run_pk(store.connect(db_url), dag_id=dag_id, run_id=run_id)


def _database(db_url: str | None) -> str:
    return store.masked(store.resolve_url(db_url))


def stored_report(run_pk: int | None, *, db_url: str | None) -> model.RunReport:
    """The report of a stored run (the latest when `run_pk` is None), from the database."""
    engine = store.connect(db_url)
    if run_pk is None:
        run_pk = repository.latest_run_pk(engine)
        if run_pk is None:
            raise LookupError(f"no run stored yet in {_database(db_url)}")
    return _stored_report(engine, run_pk, _database(db_url))


def _stored_report(engine: Engine, run_pk: int, database: str) -> model.RunReport:
    run = repository.get_run(engine, run_pk)
    # runs stored before every parameter was kept fall back to today's default
    baseline_runs = (run.params or {}).get("baseline_runs", DEFAULTS["baseline_runs"])
    loaded = judge_evidence.load(engine, run_pk, baseline_runs=baseline_runs)
    return model.build(run, loaded.results, repository.run_comparisons(engine, run_pk),
                       loaded.history, database)
