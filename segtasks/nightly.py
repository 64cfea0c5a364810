"""The steps of one benchmark night, shared by the Airflow DAG and the `segbench run` command.

Each step takes and returns small values (ids, dicts), since in Airflow they cross
process boundaries through XCom; the data itself lives in the results database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from segtasks import paths, store
from segtasks.judge import evidence as judge_evidence
from segtasks.judge.stored import judge_run
from segtasks.judge.verdict import Verdict
from segtasks.plan import NightParams, validate
from segtasks.plan.case import Case
from segtasks.plan.params import DEFAULTS
from segtasks.report import files, model
from segtasks.report.markdown import render
from segtasks.result import FAILED_STATUSES
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


def bench(case: dict[str, Any], run_pk: int, *, db_url: str | None,
          inputs: Path | None = None, weights: Path | None = None,
          timeout_s: float | None = None) -> dict[str, Any]:
    """Measure one case in its own process and store it; returns a small summary."""
    from segtasks.launch.attempts import run_case_checked

    # Fail before minutes of measuring, not after, when the database is not there.
    engine = store.connect(db_url)
    url = store.resolve_url(db_url)
    the_case = Case.from_dict(case)
    if (run_pk, the_case.key) in spool.flush(engine, url):
        # an earlier attempt measured it and only the write failed: do not measure again
        row = repository.run_result(engine, run_pk, the_case.key)
        return _summary(row.case_key, row.status, row.reason, row.images_per_s)
    result = run_case_checked(the_case, inputs or paths.inputs_dir(),
                              weights or paths.weights_path(), timeout_s=timeout_s)
    try:
        repository.save_result(engine, run_pk, result)
    except DBAPIError as exc:
        kept = spool.keep(url, run_pk, result)
        raise store.StoreUnavailable(
            f"the results database at {store.masked(url)} failed while storing "
            f"{the_case.key} ({str(exc.orig).strip().splitlines()[0]}); the result is kept "
            f"in {kept} and will be stored by the next attempt or the next run"
        ) from None
    images_per_s = result.throughput.images_per_s if result.throughput else None
    log.info("%s: %s%s", the_case.key, result.status,
             f" ({images_per_s:.3f} images/s)" if images_per_s else f" ({result.reason})")
    return _summary(the_case.key, result.status, result.reason, images_per_s)


def _summary(case_key: str, status: str, reason: str | None,
             images_per_s: float | None) -> dict[str, Any]:
    """What a bench task hands to XCom: small, and enough for a log line."""
    return {"case_key": case_key, "status": status, "reason": reason,
            "images_per_s": images_per_s}


@dataclass(frozen=True)
class NightOutcome:
    run_pk: int
    verdicts: list[Verdict]
    text: str
    html_path: Path

    @property
    def regressions(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == "regression"]


def judge_and_close(run_pk: int, params: NightParams, *, db_url: str | None) -> NightOutcome:
    """Judge the run against its history, store the verdicts, close the run, write the report.

    Tonight's results and the history of every series are loaded once; the report is made
    from the same values, not read back.
    """
    engine = store.connect(db_url)
    loaded, verdicts = judge_run(engine, run_pk, params.judging)
    failed = any(r.status in FAILED_STATUSES for r in loaded.results)
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
