"""The case's worker process: its output streamed while it runs, killed with its whole
process group on a time limit or an interruption, killed by the kernel when its parent
dies, and no case folder left behind."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from segtasks.launch.process import run_streamed


def _wait_for(check, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_output_reaches_the_log_while_the_worker_still_runs(tmp_path, caplog):
    go_on = tmp_path / "go-on"
    # the worker waits for a file that the test creates only once it has seen the first
    # line in the log: the line cannot have come at the end
    script = ("import os, time\nprint('measuring batch 1', flush=True)\n"
              f"while not os.path.exists({str(go_on)!r}): time.sleep(0.02)\nprint('done')\n")
    caplog.set_level(logging.INFO, logger="segtasks.launch.process")
    seen = threading.Thread(target=lambda: _wait_for(
        lambda: "[case-x] measuring batch 1" in caplog.text) and go_on.touch(), daemon=True)
    seen.start()
    finished = run_streamed([sys.executable, "-c", script], label="case-x", timeout_s=60)
    assert finished.returncode == 0
    assert finished.tail == "measuring batch 1\ndone"


def test_a_time_limit_kills_the_worker_and_everything_it_started(tmp_path):
    pids = tmp_path / "pids"
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
              f"open({str(pids)!r}, 'w').write(str(child.pid))\n"
              "time.sleep(600)\n")
    finished = run_streamed([sys.executable, "-c", script], label="x", timeout_s=3)
    assert finished.returncode is None
    assert _wait_for(lambda: _gone(int(pids.read_text())), 10)


def test_an_interruption_kills_the_worker_group_before_it_propagates(tmp_path):
    pid_file = tmp_path / "pid"
    script = (f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
              "time.sleep(600)\n")

    def interrupt_once_started():
        _wait_for(pid_file.exists)
        os.kill(os.getpid(), signal.SIGUSR1)

    def handler(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        threading.Thread(target=interrupt_once_started, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            run_streamed([sys.executable, "-c", script], label="x", timeout_s=120)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert _wait_for(lambda: _gone(int(pid_file.read_text())), 10)


def test_the_worker_dies_with_its_parent_even_when_the_parent_is_killed(tmp_path):
    """A Celery worker SIGKILLed mid-case must not leave its case measuring on."""
    pid_file = tmp_path / "pid"
    worker = (f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
              "time.sleep(600)\n")
    parent = ("import sys\nfrom segtasks.launch.process import run_streamed\n"
              f"run_streamed([sys.executable, '-c', {worker!r}], label='x', timeout_s=600)\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], env={
        **os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        assert _wait_for(pid_file.exists)
        worker_pid = int(pid_file.read_text())
        assert not _gone(worker_pid)
        proc.kill()
        proc.wait()
        assert _wait_for(lambda: _gone(worker_pid), 10)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_no_case_folder_is_left_behind_even_by_a_killed_parent(tmp_path, monkeypatch,
                                                               tiny_inputs, weights_file):
    import tempfile

    from factories import result

    from segtasks.launch import isolated

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"segbench-case-{dead.pid}-abcd1234"  # its parent was SIGKILLed
    stale.mkdir()
    (stale / "case.json").write_text("{}")
    other = tmp_path / "segbench-case-k2j4h5g6"  # not ours to judge: no owner in its name
    other.mkdir()
    crash = isolated.run_case_isolated(result().case, tiny_inputs, weights_file, timeout_s=0.01)
    assert crash.status == "error" and "did not finish within" in crash.reason
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name]


def test_the_case_stops_when_the_process_it_was_measured_for_dies(tmp_path):
    """Airflow's task supervisor killed outright leaves its task process alive: the task
    process watches the supervisor and stops its case."""
    from segtasks.launch.process import LauncherOrphaned

    pid_file = tmp_path / "pid"
    script = (f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
              "time.sleep(600)\n")
    supervisor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    threading.Thread(target=lambda: _wait_for(pid_file.exists) and supervisor.kill(),
                     daemon=True).start()
    try:
        with pytest.raises(LauncherOrphaned, match=f"process {supervisor.pid}, which this "
                                                    "case was measured for, is gone"):
            run_streamed([sys.executable, "-c", script], label="x", timeout_s=120,
                         watch_pid=supervisor.pid)
    finally:
        supervisor.kill()
        supervisor.wait()
    assert _wait_for(lambda: _gone(int(pid_file.read_text())), 10)
