"""`segbench run`: a night without Airflow, that a person can follow and that ends honestly.

- One line per case as it finishes: n of N, the case, its status, images/s, stable or not,
  elapsed time and an estimate of the time left.
- A case whose result cannot be stored is spooled (segtasks.store.spool) and the grid goes
  on; the results are replayed before the night is judged.
- Cases whose change passes screening are measured again in fresh processes, interleaved,
  before the night is judged (as the DAG's confirm tasks do).
- The run is closed with a state whatever happens: `failed` when the command breaks,
  `interrupted` on Ctrl-C or SIGTERM, which also stop the case's worker process.
- The devices of the grid are locked for the whole night (segtasks.launch.device_lock).
- The night says it is alive (a heartbeat) while it runs; killed outright, its run is closed
  as `abandoned` by the next night, or by `segbench runs reap`.
- Every write checks the run is still this night's (segtasks.store.identity): when the
  database was recreated under it, the night stops with one line, stores nothing more and
  leaves the other night's run alone; the case it measured waits in the spool.

Exit codes: 0 the night is clean; 1 it has problems (a case errored, nothing was measured,
a regression with fail_on_regression, its run was recreated under it); 2 a user error;
130 Ctrl-C; 143 SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from segtasks import nightly, store
from segtasks.plan import NightParams
from segtasks.plan.case import Case
from segtasks.store.identity import RunRef, RunReplaced

log = logging.getLogger(__name__)

EXIT_CLEAN, EXIT_PROBLEMS = 0, 1
CLI_DAG_ID = "segbench-cli"
# the store may be away for a moment (a restart): pauses before giving up on it
STORE_RETRY_S = (2.0, 5.0, 10.0, 20.0)
# a night whose heartbeat (every nightly.HEARTBEAT_S) stops this long is taken for dead
STALE_AFTER_S = 600.0


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: stop measuring, close the run, exit 128 + the signal number.
    A BaseException, like KeyboardInterrupt, so no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted in the main thread; the launcher kills the
    worker's process group on the way out (segtasks.launch.process)."""
    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def say(line: str) -> None:
    print(line, flush=True)


def progress_line(done: int, total: int, summary: dict[str, Any], started: float) -> str:
    elapsed = time.monotonic() - started
    left = elapsed / done * (total - done)
    fps = summary.get("images_per_s")
    stable = summary.get("stable")
    parts = [f"[{done}/{total}] {summary['case_key']}: {summary['status']}"]
    if fps:
        parts.append(f"{fps:.2f} images/s")
    if stable is not None:
        parts.append("stable" if stable else "not stable")
    if summary["status"] not in ("ok",) and summary.get("reason"):
        parts.append(_short(summary["reason"]))
    parts.append(f"{_duration(elapsed)} elapsed, about {_duration(left)} left")
    return ", ".join(parts)


def _short(text: str, limit: int = 120) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def run_night(conf: dict[str, Any], db_url: str | None) -> int:
    from segtasks.launch.device_lock import devices_locked

    params = nightly.plan(conf, db_url=db_url)
    with signals_interrupt():
        try:
            with devices_locked([c.device for c in params.cases],
                                waiting=lambda line: say(f"segbench: {line}")):
                return _locked_night(params, db_url)
        except Interrupted as stop:
            say(f"segbench: stopped by {stop}")
            return 128 + stop.signum


def _locked_night(params: NightParams, db_url: str | None) -> int:
    run = nightly.open_run(db_url=db_url, dag_id=CLI_DAG_ID,
                           run_id=f"cli__{datetime.now(UTC).isoformat()}", trigger="cli",
                           params=params, stale_after_s=STALE_AFTER_S)
    say(f"run {run.pk}: {len(params.cases)} cases, results to "
        f"{store.masked(store.resolve_url(db_url))}")
    try:
        with nightly.heartbeat(store.connect(db_url), run):
            environments = _measure_grid(params, run, db_url)
            _confirm_screened(params, run, db_url)
            outcome = _judged(params, run, db_url)
    except RunReplaced as exc:
        # not this night's run any more: neither closed nor judged, it is another night's
        print(f"segbench: error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except Interrupted:
        _close_anyway(run, db_url, "interrupted")
        raise
    except BaseException:
        _close_anyway(run, db_url, "failed")
        raise
    print(outcome.text)
    # after the run is closed: a bisection stopped here (Ctrl-C) leaves the night's state
    # as judged, and its stored steps for `segbench bisect` to resume from
    for line in _bisected(params, run, db_url, environments):
        say(line)
    if outcome.html_path is not None:
        say(f"report: {outcome.html_path}")
    say(f"stored as run {run.pk} in {store.masked(store.resolve_url(db_url))}")
    if outcome.clean:
        return EXIT_CLEAN
    print(f"segbench: {outcome.failure_message}", file=sys.stderr)
    return EXIT_PROBLEMS


def _bisected(params: NightParams, run: RunRef, db_url: str | None,
              environments: dict[str, Any]) -> list[str]:
    """With `bisect` on, the night's paired regressions bisected (after judging, as the
    DAG's bisect task does after compare), one line each; the report is written again."""
    if not params.pairing.bisect:
        return []
    from segtasks.paired_night.bisection import bisect_night
    from segtasks.report.bisection import bisection_line

    found = bisect_night(run, params.cases, environments, db_url=db_url,
                         budget_s=params.pairing.bisect_budget_s)
    return [f"bisection of {b.case_key}: {bisection_line(b)}" for b in found]


def _measure_grid(params: NightParams, run: RunRef, db_url: str | None) -> dict[str, Any]:
    environments = nightly.prepare_environments(run, params, db_url=db_url)
    if paired := [key for key, entry in environments.items() if entry.get("control")]:
        say(f"{len(paired)} case(s) measured in pairs against their control")
    started, total = time.monotonic(), len(params.cases)
    for done, case in enumerate(params.cases, start=1):
        try:
            summary = _bench_when_the_store_answers(case.to_dict(), run, db_url,
                                                    environments)
        except store.StoreUnavailable as exc:
            # spooled when it was measured (judging replays the spool), or the store stayed
            # away: either way the grid goes on
            say(f"segbench: warning: {exc}")
            summary = {"case_key": case.key, "status": "not stored", "reason": None}
        say(progress_line(done, total, summary, started))
    return environments


def _confirm_screened(params: NightParams, run: RunRef, db_url: str | None) -> None:
    """The screened cases measured again in fresh processes, interleaved, as the DAG's
    confirm tasks do; a store failure here costs the confirmation, not the night."""
    try:
        jobs = nightly.screen(run, params, db_url=db_url)
    except store.StoreUnavailable as exc:
        say(f"segbench: warning: no confirmation tonight: {exc}")
        return
    if not jobs:
        return
    say(f"confirming {len({Case.from_dict(job['case']).key for job in jobs})} screened "
        f"case(s) "
        f"in {len(jobs)} fresh process(es)")
    started = time.monotonic()
    for done, job in enumerate(jobs, start=1):
        try:
            summary = nightly.confirm(job, run, db_url=db_url,
                                      budget_s=params.options.confirm_budget_s)
        except store.StoreUnavailable as exc:
            say(f"segbench: warning: {exc}")
            continue
        say(progress_line(done, len(jobs), {**summary, "case_key":
                          f"{summary['case_key']} (confirm, process {job['process']})"},
                          started))


def _bench_when_the_store_answers(case: dict[str, Any], run: RunRef, db_url: str | None,
                                  environments: dict[str, Any] | None = None
                                  ) -> dict[str, Any]:
    """A store that went away for a moment (a restart) is waited for before measuring."""
    for pause in (*STORE_RETRY_S, None):
        try:
            return nightly.bench(case, run, db_url=db_url, environments=environments)
        except store.ResultSpooled:
            raise
        except store.StoreUnavailable as exc:
            if pause is None:
                raise
            say(f"segbench: {exc}; trying again in {pause:g} s")
            store.database.dispose(store.resolve_url(db_url))
            time.sleep(pause)
    raise AssertionError("unreachable")


def _judged(params: NightParams, run: RunRef, db_url: str | None) -> nightly.NightOutcome:
    """The night judged and closed, waiting a little for a store that went away."""
    for pause in (*STORE_RETRY_S, None):
        try:
            return nightly.judge_and_close(run, params, db_url=db_url)
        except store.StoreUnavailable as exc:
            if pause is None:
                raise
            say(f"segbench: {exc}; trying again in {pause:g} s")
            store.database.dispose(store.resolve_url(db_url))
            time.sleep(pause)
    raise AssertionError("unreachable")


def _close_anyway(run: RunRef, db_url: str | None, state: str) -> None:
    """Record how the run ended; if even that fails, say so (the run stays `running`, and
    the next night closes it as abandoned). Never another night's run (RunReplaced)."""
    from segtasks.store import repository

    try:
        repository.finish_run(store.connect(db_url), run, state)
        say(f"run {run.pk} closed as {state}")
    except Exception as exc:  # noqa: BLE001 - the original failure is what propagates
        say(f"segbench: warning: run {run.pk} could not be closed as {state}: {exc}")
