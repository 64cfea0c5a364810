"""A night killed outright (SIGKILL: no handler runs) leaves its run `running`; once its
heartbeat is older than its budget, the next night (or `segbench runs reap`) closes it as
`abandoned`, with the reason in its notes. A night that is alive is left alone."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from faults.fault_tools import wait_for
from segtasks import nightly, store
from segtasks.cli import main
from segtasks.cli_run import STALE_AFTER_S
from segtasks.store import repository
from segtasks.store.schema import Run

pytestmark = [pytest.mark.faults]


def _run(url: str, pk: int = 1) -> Run:
    store.database.dispose(url)
    return repository.get_run(store.connect(url), pk)


def _silent_for(url: str, seconds: float, pk: int = 1) -> None:
    """As if the night's last heartbeat were `seconds` ago."""
    with store.connect(url).begin() as conn:
        conn.execute(update(Run).where(Run.id == pk).values(
            heartbeat_at=datetime.now(UTC) - timedelta(seconds=seconds)))


@pytest.mark.slow
def test_a_killed_night_is_closed_as_abandoned_by_runs_reap(bench, sqlite_url, capsys):
    store.upgrade(sqlite_url)
    proc = bench.start(sqlite_url)
    try:
        wait_for("the night's run", lambda: _has_run(sqlite_url))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _run(sqlite_url).state == "running"  # nobody closed it
    assert _run(sqlite_url).stale_after_s == STALE_AFTER_S

    assert main(["runs", "reap", "--url", sqlite_url]) == 0  # its heartbeat is recent
    assert "no abandoned run" in capsys.readouterr().out
    assert _run(sqlite_url).state == "running"

    _silent_for(sqlite_url, STALE_AFTER_S + 60)
    assert main(["runs", "reap", "--url", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run 1 (cli__") and "closed: abandoned: no heartbeat since" in out
    run = _run(sqlite_url)
    assert run.state == "abandoned" and run.finished_at is not None
    assert run.notes and run.notes[-1].endswith(
        f"longer than its budget of {STALE_AFTER_S:g} s (its process is gone)")


def _has_run(url: str) -> bool:
    try:
        with store.connect(url).connect() as conn:
            return conn.execute(select(Run.id)).first() is not None
    except store.StoreUnavailable:
        return False


def test_the_next_night_closes_a_stale_run_and_leaves_a_live_one(sqlite_url, caplog):
    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    stale = repository.open_own_run(engine, dag_id="d", run_id="killed", trigger="manual",
                                    params={}, code_version="x", stale_after_s=60.0)
    alive = repository.open_own_run(engine, dag_id="d", run_id="alive", trigger="manual",
                                    params={}, code_version="x", stale_after_s=60.0)
    # a DAG night waits in queues between tasks: a day's budget by default
    queued = repository.open_own_run(engine, dag_id="d", run_id="queued", trigger="manual",
                                     params={}, code_version="x")
    _silent_for(sqlite_url, 61.0, stale.pk)
    _silent_for(sqlite_url, 30.0, alive.pk)
    _silent_for(sqlite_url, 3600.0, queued.pk)

    tonight = nightly.open_run(db_url=sqlite_url, dag_id="d", run_id="tonight",
                               trigger="manual", params=nightly.plan({}))

    states = {r: _run(sqlite_url, r.pk).state for r in (stale, alive, queued, tonight)}
    assert states == {stale: "abandoned", alive: "running", queued: "running",
                      tonight: "running"}
    assert f"run {stale.pk} (killed) closed: abandoned: no heartbeat since" in caplog.text


def test_a_heartbeat_keeps_a_long_case_from_looking_abandoned(sqlite_url):
    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    night = repository.open_own_run(engine, dag_id="d", run_id="long", trigger="manual",
                                    params={}, code_version="x", stale_after_s=60.0)
    _silent_for(sqlite_url, 3600.0, night.pk)
    before = _run(sqlite_url, night.pk).heartbeat_at
    with nightly.heartbeat(engine, night, every_s=0.05):
        wait_for("a heartbeat", lambda: _run(sqlite_url, night.pk).heartbeat_at != before,
                 timeout_s=30)
    assert repository.reap_abandoned(store.connect(sqlite_url)) == []


def test_a_night_taken_for_abandoned_that_comes_back_says_so_in_its_notes(sqlite_url):
    # e.g. its process was paused (SIGSTOP, a suspended VM) longer than its budget
    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    night = repository.open_own_run(engine, dag_id="d", run_id="paused", trigger="manual",
                                    params={}, code_version="x", stale_after_s=60.0)
    _silent_for(sqlite_url, 61.0, night.pk)
    assert [gone.run_pk for gone in repository.reap_abandoned(engine)] == [night.pk]

    repository.finish_run(engine, night, "success")

    run = _run(sqlite_url, night.pk)
    assert run.state == "success"
    assert run.notes[0].startswith("abandoned: no heartbeat since")
    assert run.notes[-1] == ("came back after it was closed as abandoned, and finished as "
                             "success")
