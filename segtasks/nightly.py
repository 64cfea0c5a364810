"""The steps of one benchmark night, shared by the Airflow DAG and the `segbench run` command.

Each step takes and returns small values (ids, dicts), since in Airflow they cross
process boundaries through XCom; the data itself lives in the results database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from segtasks import paths, store
from segtasks.domain import run_states
from segtasks.domain.paired import PairedVerdict
from segtasks.domain.records import Result
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.errors import NotFound
from segtasks.judge import evidence as judge_evidence
from segtasks.judge.night import judge_night
from segtasks.judge.stored import judge_run
from segtasks.paired_night.judge import judge_pairs, paired_problems, report_section
from segtasks.plan import NightParams, validate
from segtasks.plan.case import Case
from segtasks.plan.params import DEFAULTS
from segtasks.report import files, model
from segtasks.report.markdown import render
from segtasks.report.unfinished import Unfinished, unfinished_work
from segtasks.result import FAILED_STATUSES, CaseResult
from segtasks.store import repository, spool
from segtasks.store.identity import RunRef, RunReplaced
from segtasks.store.repository import RunAddress

log = logging.getLogger(__name__)

# Seconds between a measuring night's heartbeats (see heartbeat)
HEARTBEAT_S = 30.0


def plan(conf: dict[str, Any] | None, *, db_url: str | None = None) -> NightParams:
    """Every parameter checked before anything is measured (segtasks.plan.validate); the
    locks that `environments` and `control` name are found in the results database (asked
    only when a parameter names one)."""
    from segtasks.paired_night.environments import lock_resolver

    return validate(conf, resolve_lock=lock_resolver(db_url))


def code_version() -> str:
    """The code being measured (git sha); asked of the measuring package, which knows how."""
    from segtasks.measure.environment import code_version as version

    return version()


def open_run(*, db_url: str | None, dag_id: str, run_id: str, trigger: str,
             params: NightParams, logical_date: datetime | None = None,
             stale_after_s: float | None = None, one_at_a_time: bool = False) -> RunRef:
    """The night's run, opened (or found, on a retry) with its identity, its planned cases
    and the lock of the environment it runs in (stored in `locks`); before it, runs whose
    process is gone are closed as abandoned and the spool is replayed.

    `stale_after_s`: how long the night may go without a heartbeat before the next night
    counts it abandoned (None: a day, for nights whose tasks wait in queues).
    `one_at_a_time`: the DAG runs one night at a time (max_active_runs=1), so a run of it
    still open from before ended without its last task: it is closed as `incomplete`
    (segtasks.store.night_plan.close_superseded)."""
    from segtasks.paired_night.environments import record_current
    from segtasks.store import night_plan

    engine = store.connect(db_url)
    reap(engine)
    spool.flush(engine, store.resolve_url(db_url))  # results an earlier run could not store
    run = repository.open_own_run(engine, dag_id=dag_id, run_id=run_id, trigger=trigger,
                                  params=params.conf, code_version=code_version(),
                                  logical_date=logical_date, stale_after_s=stale_after_s,
                                  lock_sha256=record_current(engine),
                                  planned_cases=[case.key for case in params.cases])
    if one_at_a_time:
        for closed in night_plan.close_superseded(engine, dag_id=dag_id, run_id=run_id):
            log.warning("run %d (%s) closed as incomplete: it was still open when this run "
                        "opened; not measured: %s", closed.run_pk, closed.run_id,
                        "; ".join(closed.unfinished) or "nothing planned was left")
    log.info("results go to %s, run %d", store.masked(store.resolve_url(db_url)), run.pk)
    return run


def reap(engine: Engine) -> list[repository.Abandoned]:
    """Close the runs whose process is gone (no heartbeat for longer than their budget)."""
    closed = repository.reap_abandoned(engine)
    for run in closed:
        log.warning("run %d (%s) closed: %s", run.run_pk, run.run_id, run.reason)
    return closed


@contextmanager
def heartbeat(engine: Engine, run: RunAddress, every_s: float = HEARTBEAT_S
              ) -> Iterator[None]:
    """Say the night is alive every `every_s` while the block runs (a daemon thread): a
    night measuring one long case is not taken for an abandoned one. A failed beat (the
    database away for a moment) is only logged; the next write finds out for real."""
    if isinstance(run, int):
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                repository.beat(engine, run)
            except Exception as exc:  # noqa: BLE001 - a heartbeat must never end the night
                log.info("heartbeat of run %d failed: %s", run.pk, exc)

    thread = threading.Thread(target=beat, name=f"heartbeat-run-{run.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def prepare_environments(run: RunAddress, params: NightParams, *, db_url: str | None,
                         run_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Each case's environment and control, the environments built (cached under
    var/envs: an unchanged night builds nothing), the pairs sized; a JSON-able plan for the
    grid (segtasks.paired_night.environments). `run_id`: what seeds the pairs' orders
    (default: the run's own id)."""
    from segtasks.paired_night.environments import prepare

    engine = store.connect(db_url)
    if run_id is None:
        run_id = run.run_id if isinstance(run, RunRef) else str(run)
    return prepare(engine, run, params, run_id=run_id)


def _identity(engine: Engine, run: RunAddress) -> spool.RunIdentity:
    if isinstance(run, RunRef):
        return spool.RunIdentity(run.dag_id, run.run_id, run.token)
    stored = repository.get_run(engine, run)
    return spool.RunIdentity(stored.dag_id, stored.run_id, stored.token)


def _measure(case: Case, inputs: Path | None, weights: Path | None,
             timeout_s: float | None, watch_pid: int | None = None,
             python: str | None = None, headline_only: bool = False
             ) -> tuple[CaseResult, float]:
    """One fresh measuring process of the case (once more if disturbed), and its wall time.
    `python`: the interpreter of the case's environment when it is not this one;
    `headline_only`: the timed loop only, for a process after the case's first, whose
    images/s and latency are all that is stored of it (repository.save_process)."""
    from segtasks.launch.attempts import run_case_checked

    started = time.monotonic()
    result = run_case_checked(case, inputs or paths.inputs_dir(),
                              weights or paths.weights_path(), timeout_s=timeout_s,
                              watch_pid=watch_pid, python=python, headline_only=headline_only)
    return result, time.monotonic() - started


def _unbuilt(case: Case, reason: str) -> CaseResult:
    """The result of a case whose environment could not be had: an error, with this
    machine's hardware so that it joins its series."""
    from segtasks.launch.isolated import _hardware_of_this_machine

    hardware_key, env = _hardware_of_this_machine()
    return CaseResult(case=case, status="error", reason=reason, hardware_key=hardware_key,
                      environment=env)


def _python_of(engine: Engine, sha256: str | None) -> str | None:
    """This machine's interpreter of a lock; None for the one this night runs in."""
    from segtasks.paired_night.environments import current_sha256, interpreter_of

    if sha256 is None or sha256 == current_sha256():
        return None
    return interpreter_of(engine, sha256)


def bench(case: dict[str, Any], run: RunAddress, *, db_url: str | None,
          environments: dict[str, dict[str, Any]] | None = None,
          inputs: Path | None = None, weights: Path | None = None,
          timeout_s: float | None = None, watch_pid: int | None = None) -> dict[str, Any]:
    """Measure one case in its own process (`repeats` of them), or in pairs against its
    control, and store it; returns a small summary.

    `run`: the night's run (its RunRef: every write checks the run is still the night's,
    and RunReplaced fails the case without storing it, keeping its result in the spool
    under the night's own identity). `environments`: the night's environment plan
    (prepare_environments); a case with a control there is measured in pairs
    (segtasks.paired_night.bench), one without runs in its own environment as every night
    did. `watch_pid`: the process the case is measured for (Airflow's task supervisor);
    the case stops when it dies (segtasks.launch.process.run_streamed).

    When the database fails while storing, the result is spooled (segtasks.store.spool) and
    StoreUnavailable is raised: the next attempt of the task, or the next run, stores it.
    A case stored already (by an earlier attempt) is not measured again.
    """
    from segtasks.paired_night.environments import current_sha256

    # Fail before minutes of measuring, not after, when the database is not there.
    engine = store.connect(db_url)
    url = store.resolve_url(db_url)
    the_case = Case.from_dict(case)
    repository.check_run(engine, run)
    run_pk = repository.pk_of(run)
    identity = _identity(engine, run)
    spool.flush(engine, url)  # an earlier attempt measured it and only the write failed
    entry = (environments or {}).get(the_case.key)
    treatment = (entry["treatment"]["sha256"] if entry
                 else the_case.lock_sha256 or current_sha256())
    if repository.has_result(engine, run_pk, the_case.key):  # do not measure it again
        row = repository.run_result(engine, run_pk, the_case.key)
        if row.status == "ok":  # but finish what the earlier attempt left: processes, pairs
            with heartbeat(engine, run):
                _resume(engine, run, the_case, entry, treatment, inputs=inputs,
                        weights=weights, timeout_s=timeout_s, watch_pid=watch_pid)
        return _summary(row.case_key, row.status, row.reason, row.images_per_s, row.stable)

    def store_first(result: CaseResult, seconds: float, lock: str) -> None:
        result.lock_sha256 = lock  # before it may be spooled: the spool keeps it too
        try:
            repository.save_result(engine, run, result)
            repository.save_process(engine, run, result, process=0, role="first",
                                    seconds=seconds)
        except RunReplaced as exc:
            kept = spool.keep(url, identity, result)
            raise RunReplaced(f"{exc}; {the_case.key} is not stored, its result is kept in "
                              f"{kept}") from None
        except DBAPIError as exc:
            kept = spool.keep(url, identity, result)
            raise store.ResultSpooled(
                f"the results database at {store.masked(url)} failed while storing "
                f"{the_case.key} ({str(exc.orig).strip().splitlines()[0]}); the result is "
                f"kept in {kept} and will be stored by the next attempt or the next run"
            ) from None

    with heartbeat(engine, run):
        result = _measure_stored(engine, run, the_case, entry, treatment, store_first,
                                 inputs=inputs, weights=weights, timeout_s=timeout_s,
                                 watch_pid=watch_pid)
    images_per_s = result.throughput.images_per_s if result.throughput else None
    log.info("%s: %s%s", the_case.key, result.status,
             f" ({images_per_s:.3f} images/s)" if images_per_s else f" ({result.reason})")
    stable = result.latency.stable if result.latency else None
    return _summary(the_case.key, result.status, result.reason, images_per_s, stable)


def _measure_stored(engine: Engine, run: RunAddress, case: Case,
                    entry: dict[str, Any] | None, treatment: str,
                    store_first: Callable[[CaseResult, float, str], None], *,
                    inputs: Path | None, weights: Path | None, timeout_s: float | None,
                    watch_pid: int | None) -> CaseResult:
    """The case measured as its plan says: its result row stored (through `store_first`),
    every further process of it, then its pairs when it has a control; its first result."""
    from segtasks.errors import SegbenchError

    if entry and entry["treatment"].get("error"):
        result = _unbuilt(case, entry["treatment"]["error"])
        store_first(result, 0.0, treatment)
        return result
    try:
        python = _python_of(engine, treatment)
    except SegbenchError as exc:  # its environment could not be built on this machine
        result = _unbuilt(case, f"its environment {treatment[:12]} could not be had: {exc}")
        store_first(result, 0.0, treatment)
        return result
    result, seconds = _measure(case, inputs, weights, timeout_s, watch_pid, python=python)
    store_first(result, seconds, treatment)
    if result.status == "ok":
        _further(engine, run, case, entry, python, range(1, case.repeats), inputs=inputs,
                 weights=weights, timeout_s=timeout_s, watch_pid=watch_pid)
    elif entry and entry.get("control"):  # pairs of a case that does not run in its own
        repository.add_notes(engine, run, [  # environment tell nothing
            f"{case.key}: not paired: its own measurement ended {result.status}"])
    return result


def _further(engine: Engine, run: RunAddress, case: Case, entry: dict[str, Any] | None,
             python: str | None, processes: Iterable[int], *, inputs: Path | None,
             weights: Path | None, timeout_s: float | None, watch_pid: int | None) -> None:
    """After a measured first process: the case's further processes (`processes`, their
    indices), then its pairs when it has a control; each stored as it is measured."""
    from segtasks.paired_night.bench import measure_paired

    for process in processes:
        again, took = _measure(case, inputs, weights, timeout_s, watch_pid, python=python,
                               headline_only=True)
        repository.save_process(engine, run, again, process=process, role="first",
                                seconds=took)
    if entry and entry.get("control"):
        measure_paired(engine, run, case, entry, inputs=inputs or paths.inputs_dir(),
                       weights=weights or paths.weights_path(), timeout_s=timeout_s,
                       watch_pid=watch_pid)


def _resume(engine: Engine, run: RunAddress, case: Case, entry: dict[str, Any] | None,
            treatment: str, *, inputs: Path | None, weights: Path | None,
            timeout_s: float | None, watch_pid: int | None) -> None:
    """A retried task whose case is stored: an earlier attempt measured its first process
    and was killed (or lost its worker) before the further processes or pairs were done.
    Those it stored are kept; the missing ones are measured now."""
    stored = {p.process for p in
              repository.processes_of(engine, repository.pk_of(run)).get(case.key, [])}
    missing = [p for p in range(1, case.repeats) if p not in stored]
    if missing:
        log.info("%s: resuming: processes %s were not measured by an earlier attempt",
                 case.key, missing)
    _further(engine, run, case, entry, _python_of(engine, treatment), missing,
             inputs=inputs, weights=weights, timeout_s=timeout_s, watch_pid=watch_pid)


def _summary(case_key: str, status: str, reason: str | None,
             images_per_s: float | None, stable: bool | None = None) -> dict[str, Any]:
    """What a bench task hands to XCom: small, and enough for a log line."""
    return {"case_key": case_key, "status": status, "reason": reason,
            "images_per_s": images_per_s, "stable": stable}


def screen(run: RunAddress, params: NightParams, *, db_url: str | None
           ) -> list[dict[str, Any]]:
    """The confirming processes to run tonight: one job per screened case and repeat,
    interleaved (A B C A B C) so that a slow drift through the night hits every case alike.

    A job is {"case": the case as a dict, "process": its process index}. No verdict is
    stored: they are made once, at close, with every process measured by then. The jobs are
    recorded with the run (`runs.confirm_jobs`): its progress counts them, and its close
    names those whose task did not finish.
    """
    from segtasks.store import night_plan

    judging = params.judging
    engine = store.connect(db_url)
    repository.check_run(engine, run)
    if not judging.confirm_repeats:
        night_plan.set_confirm_jobs(engine, run, [])
        return []
    loaded = judge_evidence.load(engine, repository.pk_of(run),
                                 baseline_runs=judging.baseline_runs)
    verdicts = judge_night(loaded, judging, samples_of=lambda _result_id: [])
    screened = {v.case_key for v in verdicts if v.screened}
    cases = [case for case in params.cases if case.key in screened]
    if cases:
        log.info("screened, to be measured again: %s", ", ".join(c.key for c in cases))
    order = [(case, case.repeats + repeat)
             for repeat in range(judging.confirm_repeats) for case in cases]
    # the night's progress counts them, and its close names those that did not finish
    night_plan.set_confirm_jobs(engine, run, [
        {"case_key": case.key, "device": case.device, "process": process}
        for case, process in order])
    return [{"case": case.to_dict(), "process": process} for case, process in order]


def confirm(job: dict[str, Any], run: RunAddress, *, db_url: str | None, budget_s: float,
            inputs: Path | None = None, weights: Path | None = None,
            timeout_s: float | None = None) -> dict[str, Any]:
    """Measure a screened case again in a fresh process and store it as a confirming
    process; skipped (status "skipped") when the night's confirmation budget would be
    exceeded. A retry finds the process stored and does not measure it again."""
    engine = store.connect(db_url)
    repository.check_run(engine, run)
    the_case, process = Case.from_dict(job["case"]), int(job["process"])
    stored = repository.processes_of(engine, repository.pk_of(run))
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
    # in the environment its first process ran in (built here if this machine lacks it)
    lock = repository.run_result(engine, repository.pk_of(run), the_case.key).lock_sha256 \
        if 0 in mine else None
    with heartbeat(engine, run):
        result, seconds = _measure(the_case, inputs, weights, timeout_s,
                                   python=_python_of(engine, lock), headline_only=True)
    repository.save_process(engine, run, result, process=process, role="confirm",
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
    html_path: Path | None  # None when the report could not be written (see problems)
    problems: list[str] = field(default_factory=list)
    paired: list[PairedVerdict] = field(default_factory=list)  # the paired cases' verdicts

    @property
    def regressions(self) -> list[Verdict]:
        """Regressions to alert on tonight: new ones (an ongoing regression, alerted on an
        earlier night, is in the verdicts and the report but not alerted again)."""
        return [v for v in self.verdicts if v.is_new_regression]

    @property
    def clean(self) -> bool:
        """Nothing broke and nothing regressed that should fail the night."""
        return not self.problems

    @property
    def failure_message(self) -> str:
        return (f"run {self.run_pk} has {len(self.problems)} "
                f"problem{'s' if len(self.problems) != 1 else ''}: " + "; ".join(self.problems))


def night_problems(*, planned: Sequence[str], results: Sequence[Result],
                   verdicts: Sequence[Verdict], fail_on_regression: bool) -> list[str]:
    """What makes a night fail, one line each: a case that errored (with its reason), a
    planned case with no stored result, nothing measured at all, and, when the night is
    to fail on them, new regressions and fp32 outputs that left the golden ones. `oom` and
    `skipped` alone are not failures (an `oom` of a case that used to fit is a regression
    verdict, so it is one)."""
    problems = []
    stored = {r.case_key for r in results}
    errored = [r for r in results if r.status in FAILED_STATUSES]
    problems += [f"{r.case_key} errored: {_first_line(r.reason)}" for r in errored]
    problems += [f"{key}: no result stored (its task failed before storing one)"
                 for key in planned if key not in stored]
    if not any(r.status == "ok" for r in results):
        counts = Counter(r.status for r in results)
        what = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no case"
        problems.append(f"nothing was measured ({what})")
    if fail_on_regression:
        failed = {r.case_key for r in errored}
        # an ongoing regression failed the night it began; it is reported, not re-alerted
        problems += [f"{v.case_key} regressed: {_change(v)}" for v in verdicts
                     if v.is_new_regression and v.case_key not in failed]
        # "different" counts like "slower": the fp32 outputs left the golden ones, and the
        # night stays red until someone accepts the new ones (`segbench golden accept`)
        problems += [f"{v.case_key} outputs changed: {v.detail or 'outside tolerance'}"
                     for v in verdicts if v.verdict == VerdictKind.OUTPUTS_CHANGED]
    return problems


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "no reason recorded"


def _change(v: Verdict) -> str:
    """A regression in a few words: a metric's change, or what happened to the status."""
    if v.relative_change is not None:
        return f"{v.metric} {v.relative_change:+.1%}"
    return v.detail or v.metric


def _night_state(failed: bool, verdicts: Sequence[Verdict],
                 paired: Sequence[PairedVerdict] = (), unfinished: Sequence[str] = ()) -> str:
    """`failed`: a case errored or nothing was measured; `unfinished`: what did not finish
    (segtasks.report.unfinished). See segtasks.domain.run_states."""
    if any(v.verdict in (VerdictKind.REGRESSION, VerdictKind.OUTPUTS_CHANGED)
           for v in verdicts) or any(v.verdict == VerdictKind.REGRESSION for v in paired):
        return run_states.REGRESSED
    if failed:
        return run_states.FAILED
    return run_states.INCOMPLETE if unfinished else run_states.SUCCESS


def _unfinished(engine: Engine, run_pk: int, params: NightParams, results: Sequence[Result],
                task_states: Mapping[str, str | None] | None) -> Unfinished:
    """What the night left undone: planned cases with no stored result and, with the
    task states, confirming processes and other tasks that did not finish."""
    confirmed = {(p.case_key, p.process)
                 for rows in repository.processes_of(engine, run_pk).values()
                 for p in rows if p.role == "confirm"}
    return unfinished_work(cases=params.cases, stored={r.case_key for r in results},
                           confirm_jobs=repository.get_run(engine, run_pk).confirm_jobs or [],
                           confirmed=confirmed, task_states=task_states)


def judge_and_close(run: RunAddress, params: NightParams, *, db_url: str | None,
                    task_states: Mapping[str, str | None] | None = None) -> NightOutcome:
    """Judge the run against its history, store the verdicts, close the run, write the report.

    Tonight's results and the history of every series are loaded once; the report is made
    from the same values, not read back. The run is closed and judged even when the report
    cannot be written: that is one more problem of the night, naming the folder.

    `task_states`: the night's task states as Airflow gives them to its last task
    (segtasks.report.unfinished): the tasks that did not finish are named with the run.
    When judging itself fails the run is closed as `failed`, with why in its notes, before
    the error goes on: a night is never left `running` by its own last step.
    """
    engine = store.connect(db_url)
    repository.check_run(engine, run)  # never judge nor close another night's run
    try:
        return _judge_and_close(engine, run, params, db_url, task_states)
    except Exception as exc:
        _close_as_failed(engine, run, exc)
        raise


def _close_as_failed(engine: Engine, run: RunAddress, exc: Exception) -> None:
    """Close a night whose judging failed as `failed`, unless it is not the night's own any
    more; if even that fails, the next night closes it (repository.reap_abandoned)."""
    if isinstance(exc, RunReplaced):
        return
    try:
        repository.add_notes(engine, run, [f"judging failed: {_first_line(str(exc))}"])
        repository.finish_run(engine, run, run_states.FAILED)
    except Exception as closing:  # noqa: BLE001 - the judging failure is what propagates
        log.warning("run %d could not be closed as failed: %s", repository.pk_of(run), closing)


def _judge_and_close(engine: Engine, run: RunAddress, params: NightParams,
                     db_url: str | None, task_states: Mapping[str, str | None] | None
                     ) -> NightOutcome:
    url = store.resolve_url(db_url)
    run_pk = repository.pk_of(run)
    spool.flush(engine, url)  # results of this run (or earlier ones) kept while it was away
    loaded, verdicts = judge_run(engine, run_pk, params.judging)
    if note := budget_note(verdicts, params):
        repository.add_notes(engine, run, [note])
    paired = judge_pairs(engine, run, params, loaded.results)
    planned = [case.key for case in params.cases]
    problems = night_problems(planned=planned, results=loaded.results, verdicts=verdicts,
                              fail_on_regression=params.options.fail_on_regression)
    failed = {r.case_key for r in loaded.results if r.status in FAILED_STATUSES}
    if params.options.fail_on_regression:
        problems += paired_problems([v for v in paired if v.case_key not in failed])
    unfinished = _unfinished(engine, run_pk, params, loaded.results, task_states)
    # the cases not measured are problems already (night_problems); the rest fail it too,
    # so that Airflow's run and segbench's agree
    problems += list(unfinished.other)
    broke = bool(failed) or not any(r.status == "ok" for r in loaded.results)
    repository.finish_run(engine, run, _night_state(broke, verdicts, paired, unfinished.lines),
                          unfinished.lines)
    closed = repository.get_run(engine, run_pk)  # with its final state and finish time
    report = model.build(closed, loaded.results, verdicts, loaded.history, store.masked(url),
                         problems=problems,
                         paired=report_section(engine, run_pk, closed.notes or []))
    folder = files.default_folder(run_pk, store.masked(url))
    html_path: Path | None = None
    try:
        html_path = files.write(report, folder)
        log.info("report of run %d: %s", run_pk, html_path)
    except OSError as exc:
        problems.append(f"the report could not be written to {folder}: "
                        f"{paths.write_error(exc, folder, is_folder=True)}")
    return NightOutcome(run_pk, verdicts, render(report), html_path, problems, paired)


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
            raise NotFound(f"no run stored yet in {_database(db_url)}")
    return _stored_report(engine, run_pk, _database(db_url))


def _stored_report(engine: Engine, run_pk: int, database: str) -> model.RunReport:
    run = repository.get_run(engine, run_pk)
    # runs stored before every parameter was kept fall back to today's default
    baseline_runs = (run.params or {}).get("baseline_runs", DEFAULTS["baseline_runs"])
    loaded = judge_evidence.load(engine, run_pk, baseline_runs=baseline_runs)
    return model.build(run, loaded.results, repository.run_comparisons(engine, run_pk),
                       loaded.history, database,
                       paired=report_section(engine, run_pk, run.notes or []))
