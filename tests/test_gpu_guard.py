"""NVML readings with a stand-in NVML library: CI has no GPU, the matching must still be right.

The case's GPU is found by the UUID torch reports, not by index; this process is told
apart by PID on bare metal and by the PID that appeared with it inside a container (the
driver reports host PIDs); the sampler summarises the timed loop's telemetry.
"""

import os
import sys
import time

import pytest
from fake_nvml import FakeDevice, FakeNvml, Proc

from segtasks.measure import gpu, peaks, telemetry
from segtasks.measure.telemetry import Watch

# torch prints the UUID bare; NVML spells it with its prefix
OURS = "8932f937-d72c-4106-c12f-20bd9faed9f6"
OTHER = "11111111-2222-3333-4444-555555555555"
CONTAINER_PID = 17  # what os.getpid() says inside a container; the driver never does


def _two_gpus(our_procs, other_procs=()):
    """NVML's device 0 is another GPU; ours is NVML's device 1 (torch's 0 under
    CUDA_VISIBLE_DEVICES=1, or with CUDA's FASTEST_FIRST order)."""
    return FakeNvml([FakeDevice(f"GPU-{OTHER}", procs=list(other_procs)),
                     FakeDevice(f"GPU-{OURS}", procs=list(our_procs))])


def test_the_device_is_found_by_its_uuid_not_by_its_index():
    nvml = _two_gpus([])
    device = gpu.find_device(nvml, OURS)
    assert device.handle is nvml.devices[1] and device.parent is nvml.devices[1]
    assert (device.uuid, device.mig) == (f"GPU-{OURS}", False)
    assert gpu.find_device(nvml, "GPU-" + OURS).handle is nvml.devices[1]
    assert gpu.find_device(nvml, "00000000-0000-0000-0000-000000000000") is None


def test_in_a_container_our_host_pid_is_the_one_that_appeared_with_us():
    nvml = _two_gpus([Proc(555, 2**30)], other_procs=[Proc(777, 2**29)])
    before = gpu.pids_everywhere(nvml)  # before this process touched CUDA
    assert before == {555, 777}
    nvml.devices[1].procs.append(Proc(90001, 3 * 2**30))  # our context, under its host pid
    seen = gpu.processes(gpu.find_device(nvml, OURS), before)
    assert (seen.own_pid, seen.own_bytes, seen.matched_by) == (90001, 3 * 2**30, "new pid")
    assert seen.others == [(555, 2**30)]  # 777 is on the other GPU: not our business
    assert seen.other_count == 1
    assert seen.warning() == ("other processes were using the GPU, timings may be slowed: "
                              "pid 555 (1024 MiB)")


def test_on_bare_metal_our_pid_is_our_own():
    me = os.getpid()
    seen = gpu.match_processes([Proc(me, 3 * 2**30), Proc(4242, 2**30), Proc(4343, None)],
                               before=None)
    assert (seen.own_pid, seen.own_bytes, seen.matched_by) == (me, 3 * 2**30, "pid")
    assert seen.others == [(4242, 2**30), (4343, None)]
    assert seen.warning() == ("other processes were using the GPU, timings may be slowed: "
                              "pid 4242 (1024 MiB), pid 4343 (? MiB)")


def test_a_driver_without_the_v3_process_call_is_asked_with_v2():
    nvml = FakeNvml([FakeDevice(f"GPU-{OURS}", procs=[Proc(555, 2**30)])], old_driver=True)
    assert gpu.pids_everywhere(nvml) == {555} and "processes (v2)" in nvml.calls


def test_a_gpu_to_ourselves_reports_no_others():
    seen = gpu.match_processes([Proc(90001, 2**30)], before=set(), my_pid=CONTAINER_PID)
    assert seen.own_pid == 90001 and seen.others == [] and seen.warning() is None


def test_when_two_processes_appeared_with_ours_which_is_ours_is_not_guessed():
    seen = gpu.match_processes([Proc(90001, 2**30), Proc(90002, 2**31)], before=set(),
                               my_pid=CONTAINER_PID)
    assert (seen.own_pid, seen.own_bytes, seen.matched_by) == (None, None, "unknown")
    assert seen.unmatched == [90001, 90002] and seen.other_count == 1
    assert "2 processes started with this one" in seen.warning()


def test_without_nvml_there_is_no_reading_rather_than_a_zero(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([], fail_init=True))
    nvml, why = gpu.load_nvml()
    assert nvml is None and why == "NVML cannot start: NVML Shared Library Not Found"


def test_a_mig_instance_is_read_on_its_parent_and_has_no_peak_and_no_energy():
    parent = FakeDevice(f"GPU-{OTHER}")
    instance = FakeDevice(f"MIG-{OURS}", parent=parent)
    parent.mig_children.append(instance)
    device = gpu.find_device(FakeNvml([parent]), OURS)
    assert device.mig and device.handle is instance and device.parent is parent
    assert peaks.peak_tflops("NVIDIA H100 80GB HBM3", "bf16", mig=True) is None
    assert peaks.peak_tflops("NVIDIA H100 80GB HBM3 MIG 1g.10gb", "bf16") is None
    watch = _watched(device, images=100)
    assert watch.telemetry.gpu_energy_j_per_image is None
    assert "MIG instance" in watch.telemetry.gpu_energy_reason


def test_clock_event_reasons_are_named_and_harmful_ones_counted():
    assert gpu.reason_names(0x4 | 0x40) == ["sw_power_cap", "hw_thermal_slowdown"]
    assert 0x4 & gpu.HARMFUL == 0  # a software power cap under full load is normal
    assert all(bit & gpu.HARMFUL for bit in (0x8, 0x20, 0x40, 0x80))


def _watched(device, images, seconds=0.3, during=None, **kwargs):
    """Watch a pretend timed loop of `seconds` (CPU counters faked: interference is tested
    elsewhere); `during(nvml_device)` changes the device half way."""
    from segtasks.measure.interference import CoreTimes, Counters

    clock = iter(range(10**6))

    def counters(_whole):
        return Counters(wall_s=float(next(clock)), cores={0: CoreTimes(0.0, 0.0)},
                        tree_cpu_s=0.0)

    with (watch := Watch((0,), device, interval_s=0.01, process_every_s=0.05,
                         counters=counters, **kwargs)):
        time.sleep(seconds / 2)
        if during:
            during(device.handle)
        time.sleep(seconds / 2)
    return watch.summary(images)


def test_the_sampler_summarises_power_clocks_reasons_energy_and_who_was_there(monkeypatch):
    monkeypatch.setattr(telemetry, "MIN_ENERGY_WINDOW_S", 0.1)  # a short pretend loop
    nvml = _two_gpus([Proc(555, 2**30), Proc(90001, 3 * 2**30)])
    ours = nvml.devices[1]
    ours.energy_per_read_mj = 250_000  # 250 J between the two readings
    device = gpu.find_device(nvml, OURS)

    def heat_up(handle):
        handle.power_mw, handle.sm_clock, handle.reasons = 700_000, 1500, 0x4 | 0x40
        handle.memory_used = 5 * 2**30
        handle.procs.append(Proc(4242, 2**29))  # arrives in the middle of the loop
        handle.procs[1] = Proc(90001, 4 * 2**30)  # our peak grows

    seen = _watched(device, images=500, during=heat_up, gpu_before={555})
    t = seen.telemetry
    assert t.gpu_uuid == f"GPU-{OURS}" and t.gpu_samples >= 10
    assert 300 < t.gpu_power_w_mean < 700 and t.gpu_power_w_max == 700.0
    assert (t.gpu_sm_clock_mhz_min, t.gpu_sm_clock_mhz_max) == (1500.0, 1980.0)
    assert t.gpu_clock_events == "sw_power_cap,hw_thermal_slowdown"
    assert 0.2 < t.gpu_throttled_share < 0.8 and seen.harmful_reasons == ["hw_thermal_slowdown"]
    assert t.gpu_memory_used_bytes == 5 * 2**30 and t.gpu_utilization_pct == 97
    assert t.gpu_energy_j_per_image == pytest.approx(250.0 / 500)
    procs = seen.gpu_processes
    assert (procs.own_pid, procs.own_bytes) == (90001, 4 * 2**30)
    assert procs.others == [(555, 2**30), (4242, 2**29)]


def test_a_driver_without_the_new_reason_call_falls_back_to_the_old_one():
    nvml = FakeNvml([FakeDevice(f"GPU-{OURS}", reasons=0x8)], new_reason_api=False)
    seen = _watched(gpu.find_device(nvml, OURS), images=10, seconds=0.1)
    assert seen.telemetry.gpu_clock_events == "hw_slowdown"
    assert "throttle (old name)" in nvml.calls


def test_energy_is_null_with_its_reason_when_the_driver_has_no_counter_or_the_loop_is_short():
    nvml = FakeNvml([FakeDevice(f"GPU-{OURS}", has_energy=False)])
    seen = _watched(gpu.find_device(nvml, OURS), images=10, seconds=0.1)
    assert seen.telemetry.gpu_energy_j_per_image is None
    assert seen.telemetry.gpu_energy_reason.startswith("no total-energy counter on this GPU")
    nvml = FakeNvml([FakeDevice(f"GPU-{OURS}")])
    seen = _watched(gpu.find_device(nvml, OURS), images=10, seconds=0.1)
    assert seen.telemetry.gpu_energy_reason.startswith(
        "timed loop too short for the driver's energy counter")


def test_the_process_list_is_read_only_every_few_seconds_not_at_every_sample():
    nvml = FakeNvml([FakeDevice(f"GPU-{OURS}")])
    _watched(gpu.find_device(nvml, OURS), images=10, seconds=0.3)
    samples, lists = nvml.calls.count("power"), nvml.calls.count("processes")
    assert samples >= 10 and lists <= 2 + samples // 4


@pytest.mark.parametrize(
    ("name", "precision", "expected"),
    [
        ("NVIDIA H200", "bf16", 989.4),  # SXM
        ("NVIDIA H200 NVL", "bf16", 835.5),  # not the SXM figure
        ("NVIDIA H200 NVL", "fp32", 60.0),
        ("NVIDIA H100 80GB HBM3", "tf32", 494.7),
        ("NVIDIA H100 80GB HBM3", "fp32", 67.0),  # strict fp32: CUDA cores, not TF32
        ("NVIDIA A100-SXM4-80GB", "fp16", 312.0),
        ("NVIDIA H200 MIG 3g.71gb", "bf16", None),
        ("NVIDIA GeForce RTX 4090", "bf16", None),  # unknown: no guess
        (None, "fp32", None),
    ],
)
def test_device_peaks_go_by_exact_name(name, precision, expected):
    assert peaks.peak_tflops(name, precision) == expected
