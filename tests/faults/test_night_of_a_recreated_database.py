"""Two nights, two real `segbench run` processes, one PostgreSQL database (a fresh one on the
shared server) dropped and recreated between them: night A opens run 1 and starts
measuring; A is paused (SIGSTOP); the database is dropped and recreated; night B (another
host: its own home and locks) opens run 1 and finishes; A resumes (SIGCONT). Each night's
results end in its own run or its own spool file, never in the other's: A stores nothing,
fails with one line, and leaves B's run as B closed it."""

from __future__ import annotations

import json
import signal

import psutil
import pytest
from sqlalchemy import text

from faults.fault_tools import Bench, wait_for
from segtasks import store

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.slow]


def _measuring(proc) -> bool:
    """The night's case worker is running (the night waits on it, holding its run)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    return any("segtasks.launch.worker" in " ".join(_cmdline(c)) for c in children)


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _rows(url: str, sql: str) -> list[tuple]:
    store.database.dispose(url)
    with store.connect(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def _recreate(url: str) -> None:
    from conftest import _pg_admin

    name = url.rsplit("/", 1)[1]
    store.database.dispose(url)
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    store.upgrade(url)


def test_each_night_ends_in_its_own_run_or_its_own_spool_file(pg_url, tmp_path, tiny_inputs,
                                                              weights_file):
    url = pg_url
    store.upgrade(url)
    night_a, night_b = (Bench(home=tmp_path / f"{n}-home", tmp=tmp_path / f"{n}-tmp",
                              locks=tmp_path / f"{n}-locks", inputs=tiny_inputs,
                              weights=weights_file) for n in ("a", "b"))
    for bench in (night_a, night_b):
        for folder in (bench.home, bench.tmp, bench.locks):
            folder.mkdir()

    a = night_a.start(url, "--batch-sizes", "1,2")
    try:
        wait_for("night A's run", lambda: _rows(url, "SELECT id FROM runs") == [(1,)])
        wait_for("night A measuring its first case", lambda: _measuring(a))
        a.send_signal(signal.SIGSTOP)
        _recreate(url)

        b = night_b.start(url, "--batch-sizes", "1")
        b_out, b_err = b.communicate(timeout=240)
        assert b.returncode == 0, b_out + b_err
        ((b_run_id, b_state),) = _rows(url, "SELECT run_id, state FROM runs WHERE id = 1")

        a.send_signal(signal.SIGCONT)
        a_out, a_err = a.communicate(timeout=240)
    finally:
        if a.poll() is None:
            a.send_signal(signal.SIGCONT)
            a.kill()

    # A fails with one line naming what happened, and closes nothing
    assert a.returncode == 1, a_out + a_err
    assert "Traceback" not in a_err
    last = a_err.strip().splitlines()[-1]
    assert last.startswith("segbench: error: run 1 in this database is not this night's: "
                           "it was recreated while the night ran (segbench-cli / cli__"), a_err
    assert "cpu-bs1-fp32 is not stored, its result is kept in" in last
    assert "closed as" not in a_out

    # B's run holds B's result alone, as B closed it
    assert b_state == "success"
    assert _rows(url, "SELECT id, run_id, state FROM runs") == [(1, b_run_id, "success")]
    assert _rows(url, "SELECT run_pk, case_key FROM results") == [(1, "cpu-bs1-fp32")]
    assert _rows(url, "SELECT count(*) FROM processes") == [(1,)]

    # A's measurement waits in A's own spool, under A's identity, not B's
    (kept,) = night_a.spooled()
    record = json.loads(kept.read_text())
    assert record["case_key"] == "cpu-bs1-fp32" and record["run_id"] != b_run_id
    assert record["run_id"].startswith("cli__") and len(record["token"]) == 32
    assert str(kept) in last
    assert night_b.spooled() == []

