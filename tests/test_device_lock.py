"""Two benchmarks never measure one device at once: the second waits, then refuses."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from segtasks.launch.device_lock import DeviceBusy, devices_locked

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGBENCH_LOCK_DIR", str(tmp_path / "locks"))
    return tmp_path / "locks"


def _holder(lock_dir, device, release):
    """Another process holding `device` until `release` exists; returns it once it holds."""
    code = ("import os, sys, time\nfrom segtasks.launch.device_lock import devices_locked\n"
            f"with devices_locked([{device!r}]):\n"
            "    print('holding', flush=True)\n"
            f"    while not os.path.exists({str(release)!r}): time.sleep(0.05)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT),
                                 "SEGBENCH_LOCK_DIR": str(lock_dir)})
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_second_benchmark_of_a_held_device_refuses_naming_the_holder(lock_dir, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("SEGBENCH_LOCK_WAIT_S", "0.5")
    holder = _holder(lock_dir, "cpu", tmp_path / "release")
    try:
        told = []
        with pytest.raises(DeviceBusy) as err, devices_locked(["cpu"], waiting=told.append):
            pass
        assert str(err.value).startswith(
            f"device cpu is being benchmarked by process {holder.pid} (lock ")
        assert told == [f"device cpu is being benchmarked by process {holder.pid}: "
                        "waiting up to 0.5 s"]
        with devices_locked(["cuda"]):  # another device is free
            pass
    finally:
        (tmp_path / "release").touch()
        holder.wait(timeout=30)


def test_a_second_benchmark_waits_for_the_device_and_then_runs(lock_dir, tmp_path,
                                                               monkeypatch):
    monkeypatch.setenv("SEGBENCH_LOCK_WAIT_S", "60")
    release = tmp_path / "release"
    holder = _holder(lock_dir, "cpu", release)
    threading.Timer(1.0, release.touch).start()
    started = time.monotonic()
    with devices_locked(["cuda", "cpu"]):
        assert holder.wait(timeout=30) == 0  # it had to let go before this one got in
        assert (lock_dir / "cpu.lock").read_text() == str(os.getpid())
    assert time.monotonic() - started < 60
