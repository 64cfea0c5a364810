"""segbench_nightly: time UNet++/ResNet-34 inference per device and batch size, store, compare.

plan -> open_run -> build_environments (each case's environment and control, built with
uv where they are not this one, cached: an unchanged night builds nothing) ->
bench_cpu[...] / bench_cuda[...] (one mapped task per case, each measured in its own
process, or in pairs of fresh processes against its control) -> screen_cpu / screen_cuda
(which changes to measure again tonight) -> confirm_cpu[...] / confirm_cuda[...] (one
mapped task per screened case and repeat, in fresh processes, interleaved) -> compare
(verdicts against earlier nights, pooled with the confirming processes, the paired
verdicts, and the report). compare is the leaf Airflow judges the run
by: it fails, naming the cases and reasons, whenever the night is not clean (planning
failed, a case errored, nothing was measured, a task did not finish, or a new regression,
paired or not, with `fail_on_regression`), so the run's colour and alerts tell the truth;
the `segbench_alerts` connection, when defined, then gets the alert with its context.
segbench's run follows Airflow's: compare closes it as success, regressed, failed or
incomplete, naming the tasks that did not finish (from the task states Airflow gives it);
a run whose compare never ran (marked failed in Airflow) is closed as incomplete when the
next run opens (max_active_runs=1), or as abandoned once silent past its budget.

Results go to the Airflow connection `segbench_db` when defined, else to
$SEGBENCH_DB_URL, else to the embedded SQLite file var/segbench.db.
open_run hands the run on by its identity (segtasks.store.identity.RunRef: id, dag_id,
run_id and a random token), and every later task checks it before writing: a results
database recreated while the night ran fails the task with one line instead of storing into
another night's run. bench and confirm hold the device's lock (segtasks.launch.device_lock),
as `segbench run` does, so a hand-started run and the nightly never measure one device at
once.

This file only wires tasks: the work is in segtasks.nightly, and torch is imported only
inside the bench tasks' own case processes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import BaseNotifier, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from segtasks.plan.form import SCHEMAS
from segtasks.result import FAILED_STATUSES

log = logging.getLogger(__name__)

# Tests shorten it: dag.test() really waits out the retry delay.
RETRY_DELAY = timedelta(seconds=float(os.environ.get("SEGBENCH_RETRY_DELAY_SECONDS", "60")))


def results_db_url() -> str | None:
    """The `segbench_db` connection's URI, or None to let segtasks fall back."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get("segbench_db").get_uri()
    except AirflowNotFoundException:
        return None


class SegbenchAlert(BaseNotifier):
    """Sends the night's alert (regressed cases, effect, z, what each series can see,
    software changes since the baseline, where the report is) to the target of the Airflow
    connection `segbench_alerts`: an http(s) webhook URL or an smtp(s):// mail server (see
    segtasks.alerts.send). Without that connection it does nothing."""

    def notify(self, context: Any) -> None:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException

        from segtasks import store
        from segtasks.alerts import message, send
        from segtasks.store import repository

        try:
            uri = Connection.get("segbench_alerts").get_uri()
        except AirflowNotFoundException:
            return
        run = _night_run(context)
        if run is None:
            return
        engine = store.connect(results_db_url())
        if repository.find_own_run(engine, dag_id=run.dag_id, run_id=run.run_id) != run:
            return  # the database was recreated: that run is another night's, not to alert on
        send.send(send.target_from_connection(uri), message.from_store(engine, run.pk))


def _validated(params: dict[str, Any] | None, context: str = "") -> Any:
    """The run's parameters, checked as a whole; a bad one fails the task, not retried."""
    from segtasks.nightly import plan
    from segtasks.plan import ParamError

    try:
        # the results database is asked only when a parameter names a lock
        return plan(dict(params or {}), db_url=results_db_url())
    except ParamError as exc:
        raise AirflowFailException(context + str(exc)) from None


@contextmanager
def _not_retried() -> Iterator[None]:
    """An outdated schema stays outdated until someone runs `segbench db upgrade`, a bad
    results URL stays bad, and a run recreated under the night stays another night's: fail
    at once with the message instead of retrying them like an unreachable database."""
    from segtasks.store import BadDatabaseUrl, SchemaOutdated
    from segtasks.store.identity import RunReplaced

    try:
        yield
    except (SchemaOutdated, BadDatabaseUrl, RunReplaced) as exc:
        raise AirflowFailException(str(exc)) from None


@contextmanager
def _device_locked(device: str) -> Iterator[None]:
    """The device's lock, as `segbench run` takes it (the pools only keep Airflow's own
    tasks apart)."""
    from segtasks.launch.device_lock import devices_locked

    with devices_locked([device], waiting=print):
        yield


def _task_states(context: Any) -> dict[str, str | None] | None:
    """This DAG run's task states as the Task SDK gives them to a running task (`task_id`,
    or `task_id_N` for map index N), for the night to record what did not finish; None
    when Airflow cannot say (the night then names the cases with no stored result)."""
    dag_run = context["dag_run"]
    try:
        found = context["ti"].get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id])
    except Exception as exc:  # noqa: BLE001 - the store still knows which cases were measured
        log.warning("the run's task states could not be read: %s", exc)
        return None
    return dict(found.get(dag_run.run_id, {}))


def _night_run(context: Any) -> Any:
    """The night's run as open_run handed it on (None when no run was opened)."""
    from segtasks.store.identity import RunRef

    opened = context["ti"].xcom_pull(task_ids="open_run")
    return RunRef.from_dict(opened) if opened else None


@dag(
    dag_id="segbench_nightly",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["benchmark", "segbench"],
    # the trigger form: grid open, other groups folded, nothing required (segtasks.plan.form)
    params={name: Param(**arguments) for name, arguments in SCHEMAS.items()},
    default_args={
        "retries": 2,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
    },
)
def segbench_nightly() -> None:
    @task
    def plan(device: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Validate every parameter; keep this device's cases (mapping cannot filter by key)."""
        return [case.to_dict() for case in _validated(params).cases if case.device == device]

    @task
    def open_run(params: dict[str, Any] | None = None, dag_run: Any = None
                 ) -> dict[str, Any]:
        from segtasks.nightly import open_run as open_stored_run

        with _not_retried():
            return open_stored_run(
                db_url=results_db_url(), dag_id=dag_run.dag_id, run_id=dag_run.run_id,
                trigger=getattr(dag_run.run_type, "value", str(dag_run.run_type)),
                params=_validated(params), logical_date=dag_run.logical_date,
                one_at_a_time=True,  # max_active_runs=1: a run still open ended unfinished
            ).to_dict()

    @task(execution_timeout=timedelta(hours=2))
    def build_environments(run: dict[str, Any], params: dict[str, Any] | None = None
                           ) -> dict[str, Any]:
        """Each case's environment and control, built where they are not this one; the
        plan goes to every bench task (segtasks.paired_night.environments)."""
        from segtasks.nightly import prepare_environments
        from segtasks.store.identity import RunRef

        night = _validated(params)
        with _not_retried():
            return prepare_environments(RunRef.from_dict(run), night, db_url=results_db_url())

    @task(map_index_template="{{ case_label }}", execution_timeout=timedelta(hours=2))
    def bench(case: dict[str, Any], run: dict[str, Any], environments: dict[str, Any]
              ) -> dict[str, Any]:
        from segtasks.nightly import bench as bench_case
        from segtasks.plan.case import Case
        from segtasks.store.identity import RunRef

        the_case = Case.from_dict(case)
        get_current_context()["case_label"] = the_case.label
        # `dags test` logs no map index name: make run's task lines take the case from this
        log.info("case: %s", the_case.label)
        with _not_retried(), _device_locked(the_case.device):
            # the task's supervisor: if it is killed, the case must not measure on
            # a worker that lacks the case's environments builds them here (cached)
            summary = bench_case(case, RunRef.from_dict(run), db_url=results_db_url(),
                                 environments=environments, watch_pid=os.getppid())
        if summary["status"] == "skipped":
            raise AirflowSkipException(summary["reason"])
        if summary["status"] in FAILED_STATUSES:
            # Recorded already; a failure of the case itself would fail the same way again.
            raise AirflowFailException(f"{summary['case_key']}: {summary['reason']}")
        return summary

    @task(trigger_rule="all_done")
    def screen(device: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """This device's cases whose change passes the screening criterion, one job per
        confirming process (mapping cannot filter by key, as for plan)."""
        from segtasks.nightly import screen as screen_run

        run = _night_run(get_current_context())
        with _not_retried():
            jobs = ([] if run is None
                    else screen_run(run, _validated(params), db_url=results_db_url()))
        return [job for job in jobs if job["case"]["device"] == device]

    @task(map_index_template="{{ case_label }}", execution_timeout=timedelta(hours=2))
    def confirm(job: dict[str, Any], run: dict[str, Any], params: dict[str, Any] | None = None
                ) -> dict[str, Any]:
        from segtasks.nightly import confirm as confirm_case
        from segtasks.plan.case import Case
        from segtasks.store.identity import RunRef

        the_case = Case.from_dict(job["case"])
        get_current_context()["case_label"] = label = (
            f"{the_case.label} (confirm, process {job['process']})")
        log.info("case: %s", label)
        night = _validated(params)
        with _not_retried(), _device_locked(the_case.device):
            summary = confirm_case(job, RunRef.from_dict(run), db_url=results_db_url(),
                                   budget_s=night.options.confirm_budget_s)
        if summary["status"] == "skipped":
            raise AirflowSkipException(summary["reason"])
        return summary

    @task(trigger_rule="all_done", on_failure_callback=[SegbenchAlert()])
    def compare(params: dict[str, Any] | None = None) -> dict[str, Any]:
        from segtasks.nightly import judge_and_close

        # a skipped leaf counts as success: every way the night broke fails this task
        night = _validated(params, "planning failed, nothing was measured: ")
        context = get_current_context()
        run = _night_run(context)
        if run is None:
            raise AirflowFailException("no run was opened (planning or open_run failed): "
                                       "nothing was measured")
        with _not_retried():
            # closes the run as success, regressed, failed or incomplete, naming the tasks
            # that did not finish (killed, marked failed, upstream failed)
            outcome = judge_and_close(run, night, db_url=results_db_url(),
                                      task_states=_task_states(context))
        print(outcome.text)
        if not outcome.clean:
            raise AirflowFailException(outcome.failure_message)
        return {"run_pk": run.pk, "verdicts": {v.case_key: v.verdict for v in outcome.verdicts}}

    @task(trigger_rule="all_done", execution_timeout=timedelta(hours=4))
    def bisect(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """After compare: which change explains each new software regression (with the
        `bisect` parameter on; segtasks.paired_night.bisection), then the alert again with
        the culprits. The run's leaf: it fails whenever compare did not succeed, so that
        the night's state stays compare's."""
        from segtasks.paired_night.bisection import bisect_night

        context = get_current_context()
        # a task that failed pushed no return value: compare's is there iff it succeeded
        compared = context["ti"].xcom_pull(task_ids="compare")
        environments = context["ti"].xcom_pull(task_ids="build_environments")
        night = _validated(params, "planning failed, nothing was measured: ")
        run = _night_run(context)
        found = []
        if night.pairing.bisect and run is not None and environments:
            with _not_retried():
                found = bisect_night(run, night.cases, environments, db_url=results_db_url(),
                                     budget_s=night.pairing.bisect_budget_s)
            if found:
                SegbenchAlert().notify(context)  # the first went out before any bisection
        if compared is None:
            raise AirflowFailException("compare did not succeed: the night's verdict and "
                                       "problems are in its log")
        return {"bisected": [b.case_key for b in found]}

    cpu_cases = plan.override(task_id="plan_cpu")("cpu")
    cuda_cases = plan.override(task_id="plan_cuda")("cuda")
    night_run = open_run()
    [cpu_cases, cuda_cases] >> night_run
    # Pools with one slot per device keep two benchmarks off the same device; CUDA cases
    # also go to the `gpu` queue, which only GPU workers consume.
    bench_cpu = bench.override(task_id="bench_cpu", pool="cpu_bench")
    bench_cuda = bench.override(task_id="bench_cuda", pool="gpu_bench", queue="gpu")
    # Screening waits for every case of both devices: the suspicious ones are then
    # re-measured together, interleaved, after the grid.
    screen_cpu = screen.override(task_id="screen_cpu")("cpu")
    screen_cuda = screen.override(task_id="screen_cuda")("cuda")
    # the environments are built once, before the grid: its plan goes to every bench task
    environments = build_environments(night_run)
    benches = [bench_cpu.partial(run=night_run, environments=environments)
               .expand(case=cpu_cases),
               bench_cuda.partial(run=night_run, environments=environments)
               .expand(case=cuda_cases)]
    benches >> screen_cpu
    benches >> screen_cuda
    confirm_cpu = confirm.override(task_id="confirm_cpu", pool="cpu_bench")
    confirm_cuda = confirm.override(task_id="confirm_cuda", pool="gpu_bench", queue="gpu")
    [
        confirm_cpu.partial(run=night_run).expand(job=screen_cpu),
        confirm_cuda.partial(run=night_run).expand(job=screen_cuda),
    ] >> compare() >> bisect()


segbench_nightly()
