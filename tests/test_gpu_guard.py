"""NVML readings, with a stand-in NVML library: CI has no GPU, the parsing must still be right."""

import os
import sys
import types
from collections import namedtuple

from segtasks.measure import gpu as measure

Proc = namedtuple("Proc", "pid usedGpuMemory")


def _fake_nvml(procs, fail=False):
    class NVMLError(Exception):
        pass

    def init():
        if fail:
            raise NVMLError("NVML Shared Library Not Found")

    return types.SimpleNamespace(
        NVMLError=NVMLError, nvmlInit=init, nvmlShutdown=lambda: None,
        nvmlDeviceGetHandleByIndex=lambda i: f"gpu{i}",
        nvmlDeviceGetComputeRunningProcesses=lambda handle: procs,
    )


def test_another_process_on_the_gpu_is_seen_with_its_memory(monkeypatch):
    me = os.getpid()
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(
        [Proc(me, 3 * 2**30), Proc(4242, 2**30), Proc(4343, None)]))
    seen = measure.gpu_processes()
    assert seen.own_bytes == 3 * 2**30  # the CUDA context included, unlike torch's counters
    assert seen.others == [(4242, 2**30), (4343, None)]
    assert seen.warning() == ("other processes were using the GPU, timings may be slowed: "
                              "pid 4242 (1024 MiB), pid 4343 (? MiB)")


def test_a_gpu_to_ourselves_reports_no_others(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml([Proc(os.getpid(), 2**30)]))
    seen = measure.gpu_processes()
    assert seen.others == [] and seen.warning() is None


def test_without_nvml_there_is_no_reading_rather_than_a_zero(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml([], fail=True))
    assert measure.gpu_processes() is None
