"""Two `segbench run` at once never measure one device together; SIGTERM and Ctrl-C stop
the night with its worker, close the run and leave no case folder behind."""

from __future__ import annotations

import signal

import psutil
import pytest
from sqlalchemy import text

from faults.fault_tools import wait_for
from segtasks import store

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def _workers(proc) -> list[psutil.Process]:
    """The case worker of a `segbench run` (its own session, so not in its group)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if "segtasks.launch.worker" in _command_line(c)]


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # gone, or a zombie, since it was listed
        return ""


def _run_states(url):
    store.database.dispose(url)
    with store.connect(url).connect() as conn:
        return conn.execute(text("SELECT state FROM runs ORDER BY id")).scalars().all()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_second_run_refuses_and_a_signal_stops_the_first_cleanly(private_pg, bench, signum,
                                                                    code):
    url = private_pg.url()
    first = bench.start(url)
    try:
        workers = wait_for("the first run's worker", lambda: _workers(first))
        lock = bench.locks / "cpu.lock"
        assert lock.read_text() == str(first.pid)

        second = bench.start(url, SEGBENCH_LOCK_WAIT_S="1")
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2, out + err
        assert err.startswith(f"segbench: error: device cpu is being benchmarked by process "
                              f"{first.pid} (lock {lock}); waited 1 s")
        assert "waiting up to 1 s" in out

        first.send_signal(signum)
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == code, out + err
    assert f"segbench: stopped by {signal.Signals(signum).name}" in out
    assert "run 1 closed as interrupted" in out and "Traceback" not in err
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    assert bench.case_folders() == []
    assert _run_states(url) == ["interrupted"]  # the second never opened a run
