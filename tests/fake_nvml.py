"""A stand-in NVML library (the parts segbench calls), for tests on machines without a GPU.

Devices are listed in NVML's order; each has a UUID, compute processes (host PIDs, as the
real driver reports them even inside a container) and readings that the test can change
while a sampler runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import SimpleNamespace


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801 - pynvml's own spelling
    pass


class NVMLError_FunctionNotFound(NVMLError):  # noqa: N801
    pass


class NVMLLibraryMismatchError(Exception):  # pynvml's: not an NVMLError
    pass


@dataclass
class Proc:
    pid: int
    usedGpuMemory: int | None  # noqa: N815 - pynvml's field name


@dataclass
class FakeDevice:
    uuid: str
    procs: list[Proc] = field(default_factory=list)
    memory_used: int = 2 * 2**30
    power_mw: int = 300_000
    sm_clock: int = 1980
    max_sm_clock: int = 1980
    reasons: int = 0
    utilization: int = 97
    energy_mj: int = 1_000_000
    energy_per_read_mj: int = 0  # added at each energy reading
    has_energy: bool = True
    mig_children: list[FakeDevice] = field(default_factory=list)
    parent: FakeDevice | None = None


class FakeNvml:
    NVML_CLOCK_SM = 1

    def __init__(self, devices: list[FakeDevice], *, fail_init: bool = False,
                 new_reason_api: bool = True, old_driver: bool = False) -> None:
        self.devices = devices
        self.fail_init = fail_init
        self.new_reason_api = new_reason_api
        self.old_driver = old_driver  # no _v3 process call
        self.NVMLError = NVMLError
        self.NVMLLibraryMismatchError = NVMLLibraryMismatchError
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def _log(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)

    def _all(self) -> list[FakeDevice]:
        return [*self.devices, *(c for d in self.devices for c in d.mig_children)]

    def nvmlInit(self) -> None:  # noqa: N802
        if self.fail_init:
            raise NVMLError("NVML Shared Library Not Found")

    def nvmlShutdown(self) -> None:  # noqa: N802
        pass

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeDevice:  # noqa: N802
        return self.devices[index]

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> FakeDevice:  # noqa: N802
        for device in self._all():
            if device.uuid == uuid:
                return device
        raise NVMLError("Not Found")

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, mig: FakeDevice) -> FakeDevice:  # noqa: N802
        if mig.parent is None:
            raise NVMLError("Invalid Argument")
        return mig.parent

    def nvmlDeviceGetMigMode(self, handle: FakeDevice) -> list[int]:  # noqa: N802
        if not handle.mig_children:
            raise NVMLError_NotSupported("Not Supported")
        return [1, 1]

    def nvmlDeviceGetComputeRunningProcesses(self, handle: FakeDevice) -> list[Proc]:  # noqa: N802
        if self.old_driver:
            raise NVMLLibraryMismatchError("Unversioned function called ...")
        self._log("processes")
        return list(handle.procs)

    def nvmlDeviceGetComputeRunningProcesses_v2(self, handle: FakeDevice) -> list[Proc]:  # noqa: N802
        self._log("processes (v2)")
        return list(handle.procs)

    def nvmlDeviceGetMemoryInfo(self, handle: FakeDevice) -> SimpleNamespace:  # noqa: N802
        return SimpleNamespace(used=handle.memory_used, total=141 * 2**30)

    def nvmlDeviceGetPowerUsage(self, handle: FakeDevice) -> int:  # noqa: N802
        self._log("power")
        return handle.power_mw

    def nvmlDeviceGetClockInfo(self, handle: FakeDevice, kind: int) -> int:  # noqa: N802
        assert kind == self.NVML_CLOCK_SM
        return handle.sm_clock

    def nvmlDeviceGetMaxClockInfo(self, handle: FakeDevice, kind: int) -> int:  # noqa: N802
        return handle.max_sm_clock

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: FakeDevice) -> int:  # noqa: N802
        if not self.new_reason_api:
            raise NVMLError_FunctionNotFound("Function Not Found")
        return handle.reasons

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: FakeDevice) -> int:  # noqa: N802
        self._log("throttle (old name)")
        return handle.reasons

    def nvmlDeviceGetUtilizationRates(self, handle: FakeDevice) -> SimpleNamespace:  # noqa: N802
        return SimpleNamespace(gpu=handle.utilization, memory=40)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: FakeDevice) -> int:  # noqa: N802
        if not handle.has_energy:
            raise NVMLError_NotSupported("Not Supported")
        handle.energy_mj += handle.energy_per_read_mj
        return handle.energy_mj
