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

from sqlalchemy.exc import DBAPIError

from segtasks import compare, environment, paths, report, store
from segtasks.grid import Case, plan_grid
from segtasks.params import DEFAULTS
from segtasks.store import repository, spool

GRID_PARAMS = ("devices", "batch_sizes", "n_images", "warmup_batches", "precisions",
               "channels_last", "cpu_threads", "warmup_seconds", "min_batches", "min_seconds",
               "max_seconds", "ci_target")

log = logging.getLogger(__name__)



def plan(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Validated cases as plain dicts (one per mapped bench task)."""
    merged = {**DEFAULTS, **params}
    grid_args = {name: merged[name] for name in GRID_PARAMS}
    return [case.to_dict() for case in plan_grid(**grid_args)]


def open_run(*, db_url: str | None, dag_id: str, run_id: str, trigger: str,
             params: dict[str, Any], logical_date: datetime | None = None) -> int:
    engine = store.connect(db_url)
    spool.flush(engine, store.resolve_url(db_url))  # results an earlier run could not store
    run_pk = repository.open_run(engine, dag_id=dag_id, run_id=run_id, trigger=trigger,
                                 params=params, code_version=environment.code_version(),
                                 logical_date=logical_date)
    log.info("results go to %s, run %d", store.masked(store.resolve_url(db_url)), run_pk)
    return run_pk


def bench(case: dict[str, Any], run_pk: int, *, db_url: str | None,
          inputs: Path | None = None, weights: Path | None = None,
          timeout_s: float | None = None) -> dict[str, Any]:
    """Measure one case in its own process and store it; returns a small summary."""
    from segtasks import runner

    # Fail before minutes of measuring, not after, when the database is not there.
    engine = store.connect(db_url)
    url = store.resolve_url(db_url)
    the_case = Case.from_dict(case)
    if (run_pk, the_case.key) in spool.flush(engine, url):
        # an earlier attempt measured it and only the write failed: do not measure again
        row = repository.run_result(engine, run_pk, the_case.key)
        return _summary(row.case_key, row.status, row.reason, row.images_per_s)
    result = runner.run_case_isolated(the_case, inputs or paths.inputs_dir(),
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
    log.info("%s: %s%s", result.case.key, result.status,
             f" ({result.images_per_s:.3f} images/s)" if result.images_per_s else
             f" ({result.reason})")
    return _summary(the_case.key, result.status, result.reason, result.images_per_s)


def _summary(case_key: str, status: str, reason: str | None,
             images_per_s: float | None) -> dict[str, Any]:
    """What a bench task hands to XCom: small, and enough for a log line."""
    return {"case_key": case_key, "status": status, "reason": reason,
            "images_per_s": images_per_s}


@dataclass(frozen=True)
class NightOutcome:
    run_pk: int
    verdicts: list[compare.Verdict]
    text: str
    html_path: Path

    @property
    def regressions(self) -> list[compare.Verdict]:
        return [v for v in self.verdicts if v.verdict == "regression"]


def judge_and_close(run_pk: int, params: dict[str, Any], *, db_url: str | None) -> NightOutcome:
    """Judge the run against its history, store the verdicts, close the run, render the report."""
    merged = {**DEFAULTS, **params}
    engine = store.connect(db_url)
    speed = {"min_effect": merged["min_effect"], "z_threshold": merged["z_threshold"]}
    memory = {"min_effect": merged["memory_min_effect"], "z_threshold": merged["z_threshold"]}
    defaults = {name: speed for name in ("images_per_s", "latency_p90_ms")} | {
        name: memory for name in ("cuda_peak_reserved_bytes", "host_peak_rss_bytes")}
    verdicts = compare.judge(engine, run_pk, k=merged["baseline_runs"],
                             min_history=merged["min_history"], defaults=defaults,
                             overrides=merged["series_thresholds"])
    results = repository.run_results(engine, run_pk)
    failed = any(r.status == "error" for r in results)
    state = "regressed" if any(v.verdict == "regression" for v in verdicts) else (
        "failed" if failed else "success")
    repository.finish_run(engine, run_pk, state)
    html_path = write_report(run_pk, db_url=db_url)
    log.info("report of run %d: %s", run_pk, html_path)
    # the Markdown written beside it, rather than a second round of queries and rendering
    text = (html_path.parent / "report.md").read_text()
    return NightOutcome(run_pk, verdicts, text, html_path)


def find_run(dag_id: str, run_id: str, *, db_url: str | None) -> int | None:
    return repository.find_run_pk(store.connect(db_url), dag_id=dag_id, run_id=run_id)


def _run_and_title(engine: Any, run_pk: int | None, db_url: str | None) -> tuple[Any, str]:
    if run_pk is None:
        run_pk = repository.latest_run_pk(engine)
        if run_pk is None:
            raise LookupError(f"no run stored yet in {store.masked(store.resolve_url(db_url))}")
    run = repository.get_run(engine, run_pk)
    title = (f"segbench run {run.id} ({run.dag_id} / {run.run_id}, {run.trigger}, "
             f"state {run.state}, code {run.code_version})")
    return run, title


def render_run(run_pk: int | None, *, db_url: str | None, fmt: str = "markdown") -> str:
    """The report of a run (the latest when `run_pk` is None)."""
    engine = store.connect(db_url)
    run, title = _run_and_title(engine, run_pk, db_url)
    return report.render(repository.run_results(engine, run.id),
                         repository.run_comparisons(engine, run.id), fmt=fmt, title=title)


TREND_NIGHTS = 30


def write_report(run_pk: int | None, *, db_url: str | None, folder: Path | None = None) -> Path:
    """report.html (self-contained, with plots) and report.md of a run; the HTML's path."""
    from segtasks import plots

    engine = store.connect(db_url)
    run, title = _run_and_title(engine, run_pk, db_url)
    results = repository.run_results(engine, run.id)
    verdicts = repository.run_comparisons(engine, run.id)
    ok = [r for r in results if r.status == "ok"]
    speed: dict[str, list[tuple[int, float]]] = {}
    memory: dict[str, list[tuple[int, float]]] = {}
    for r in ok:
        assert r.images_per_s is not None, "an ok result always has a throughput"
        speed.setdefault(report.variant(r), []).append((r.batch_size, r.images_per_s))
        if r.cuda_peak_reserved_bytes is not None:
            memory.setdefault(f"{report.variant(r)} CUDA reserved", []).append(
                (r.batch_size, r.cuda_peak_reserved_bytes / plots.GIB))
        if r.host_peak_rss_bytes is not None:
            memory.setdefault(f"{report.variant(r)} host RSS", []).append(
                (r.batch_size, r.host_peak_rss_bytes / plots.GIB))
    figures = [(alt, png) for alt, png in (
        ("images/s against batch size",
         plots.by_batch_size(speed, "Inference throughput", "images/s")),
        ("memory against batch size", plots.by_batch_size(memory, "Peak memory", "GiB")),
    ) if png is not None]
    for v in verdicts:
        if v.verdict == "regression" and v.metric in compare.METRIC_NAMES:
            nights = repository.series_values(
                engine, case_key=v.case_key, hardware_key=v.hardware_key, metric=v.metric,
                until_run_pk=run.id, nights=TREND_NIGHTS)
            figures.append((f"{v.case_key} {v.metric} trend",
                            plots.trend(v.case_key, v.metric, nights, run.started_at,
                                        v.baseline)))
    folder = folder or paths.var_dir() / "reports" / f"run-{run.id}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.md").write_text(report.render(results, verdicts, title=title))
    html_path = folder / "report.html"
    html_path.write_text(report.render_html(results, verdicts, title, figures))
    return html_path
