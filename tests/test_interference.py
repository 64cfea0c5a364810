"""Interference accounting: known answers on made-up counters, a planted busy process on
the case's core, and the validity verdict it leads to."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from segtasks.measure import interference, placement, rapl, validity
from segtasks.measure.interference import CoreTimes, Counters, account, parse_proc_stat

# /proc/stat of a 2-core VM (USER_HZ = 100): user nice system idle iowait irq softirq steal
PROC_STAT = """cpu  9145 0 5043 24191 529 0 70 15 0 0
cpu0 1814 0 1218 16361 66 0 9 4 0 0
cpu1 7330 0 3825 7830 462 0 60 10 0 0
intr 1234 0 0
ctxt 99
"""


def test_proc_stat_gives_busy_and_steal_per_core_without_idle_iowait_or_guest():
    cores = parse_proc_stat(PROC_STAT, ticks_per_s=100)
    assert set(cores) == {0, 1}
    assert cores[0] == CoreTimes(busy_s=(1814 + 1218 + 9) / 100, steal_s=0.04)
    assert cores[1] == CoreTimes(busy_s=(7330 + 3825 + 60) / 100, steal_s=0.10)


def _counters(wall, busy, steal, tree):
    return Counters(wall_s=wall, cores={c: CoreTimes(b, s) for c, (b, s) in
                                        enumerate(zip(busy, steal, strict=True))},
                    tree_cpu_s=tree)


def test_others_are_the_busy_time_on_the_cores_in_use_less_the_case_own():
    before = _counters(100.0, busy=[50.0, 70.0], steal=[1.0, 1.0], tree=10.0)
    # 10 s later: the case used 14 s of CPU; the two cores were busy for 19.6 s in all,
    # so others used 5.6 s of the 20 core-seconds: 28%; steal 0.4 s: 2%
    after = _counters(110.0, busy=[59.8, 79.8], steal=[1.2, 1.2], tree=24.0)
    seen = account(before, after, (0, 1))
    assert seen.others_cpu_s == pytest.approx(5.6)
    assert seen.interference == pytest.approx(0.28) and seen.steal == pytest.approx(0.02)
    # pinned to core 1 only: its 9.8 s busy, 14 s of ours cannot all have run there,
    # and others are never below zero (two clocks, ticks and nanoseconds)
    assert account(before, after, (1,)).interference == 0.0
    assert account(before, after, (0,)).steal == pytest.approx(0.02)


def test_an_account_without_time_or_cores_is_refused():
    reading = _counters(1.0, busy=[1.0], steal=[0.0], tree=0.0)
    with pytest.raises(ValueError, match="must come after"):
        account(reading, reading, (0,))
    later = _counters(2.0, busy=[1.0], steal=[0.0], tree=0.0)
    with pytest.raises(ValueError, match="no counters for the cores in use"):
        account(reading, later, (7,))


CASE = textwrap.dedent("""
    import json, os, subprocess, sys, time
    from segtasks.measure import interference
    core = int(sys.argv[1]); with_child = sys.argv[2] == "child"
    os.sched_setaffinity(0, {core})
    tree = interference.ProcessTree()
    child = None
    if with_child:  # the case's own helper process: its time is the case's, not others'
        child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.3)
    before = interference.read(tree)
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        pass
    after = interference.read(tree)
    own_only = interference.read(tree, whole_tree=False)
    if child:
        child.kill(); child.wait()
    seen = interference.account(before, after, (core,))
    print(json.dumps({"interference": seen.interference, "wall": seen.wall_s,
                      "tree": after.tree_cpu_s - before.tree_cpu_s,
                      "child": after.tree_cpu_s - own_only.tree_cpu_s}))
""")


def _run_case(core, child=False):
    done = subprocess.run([sys.executable, "-c", CASE, str(core), "child" if child else "-"],
                          capture_output=True, text=True, check=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    return json.loads(done.stdout)


@pytest.mark.slow
def test_a_busy_process_planted_on_the_case_core_is_counted_as_interference():
    core = placement.allowed_cores()[0]
    busy = subprocess.Popen(
        [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{core}}})\n"
                               "while True: pass"], start_new_session=True)
    try:
        seen = _run_case(core)
    finally:
        busy.kill()
        busy.wait()
    # two busy processes on one core share it about evenly: the planted one takes about
    # half (more when this shared machine's other work lands on the same core too)
    assert 0.35 <= seen["interference"] <= 1.05, seen
    assert seen["tree"] < 0.75 * seen["wall"], seen  # the case did not have its core
    verdict = validity.judge(interference.Interference(seen["wall"], 1, seen["interference"]
                                                       * seen["wall"], 0.0),
                             max_interference=0.10, max_steal=0.05)
    assert not verdict.valid
    assert verdict.validity_reason.startswith("other processes used")


@pytest.mark.slow
def test_the_case_own_child_processes_are_not_others():
    core = placement.allowed_cores()[0]
    seen = _run_case(core, child=True)
    # the child shared the core with the case: a good part of the window is its CPU time,
    # and it is in the tree's time, not in others'
    assert seen["child"] >= 0.2 * seen["wall"], seen
    assert seen["tree"] >= seen["child"]


@pytest.mark.parametrize(
    ("share", "steal", "expected"),
    [
        (0.03, 0.0, None),
        (0.48, 0.0, "other processes used 48% of the cores in use (at most 10% allowed)"),
        (0.0, 0.07, "the hypervisor took 7% of the cores in use as steal time "
                    "(at most 5% allowed)"),
        (0.20, 0.07, "other processes used 20% of the cores in use (at most 10% allowed); "
                     "the hypervisor took 7% of the cores in use as steal time "
                     "(at most 5% allowed)"),
    ],
)
def test_validity_names_each_cause_beyond_its_limit(share, steal, expected):
    seen = interference.Interference(wall_s=10.0, cores_in_use=2, others_cpu_s=share * 20,
                                     steal_s=steal * 20)
    verdict = validity.judge(seen, max_interference=0.10, max_steal=0.05)
    assert (verdict.valid, verdict.validity_reason) == (expected is None, expected)
    assert verdict.interference == pytest.approx(share) and verdict.cores_in_use == 2


def test_the_gpu_causes_other_processes_and_clocks_cut_for_heat():
    verdict = validity.judge(None, max_interference=0.1, max_steal=0.05,
                             gpu_others=[(4242, 2**30)], harmful_reasons=["hw_thermal_slowdown"],
                             throttled_share=0.3)
    assert not verdict.valid
    assert verdict.validity_reason == (
        "another process was using the GPU: pid 4242 (1024 MiB); the GPU cut its clocks "
        "(hw_thermal_slowdown) in 30% of the samples")
    # a moment of slowdown is not enough, nor is the power cap (not harmful)
    assert validity.judge(None, max_interference=0.1, max_steal=0.05,
                          harmful_reasons=["hw_slowdown"], throttled_share=0.01).valid


def test_a_limit_of_one_turns_a_check_off():
    everything = interference.Interference(wall_s=1.0, cores_in_use=1, others_cpu_s=1.01,
                                           steal_s=1.0)
    assert validity.judge(everything, max_interference=1.0, max_steal=1.0).valid


def test_cpu_affinity_to_cores_the_worker_lacks_is_refused_with_what_it_may_use():
    allowed = placement.allowed_cores()
    assert placement.unavailable(()) is None
    assert placement.unavailable(allowed[:1]) is None
    why = placement.unavailable((4000,))
    assert why.startswith("cpu_affinity asks for cores 4000, which this worker cannot use")


@pytest.mark.slow
def test_a_pinned_case_runs_on_its_cores_with_one_thread_per_core(tiny_inputs, weights_file):
    from segtasks.launch.isolated import run_case_isolated
    from segtasks.plan.case import Case

    core = placement.allowed_cores()[-1]
    case = Case(device="cpu", batch_size=1, seed_images=1, warmup_batches=0,
                warmup_seconds=0, min_seconds=0.01, max_seconds=0.3, end_to_end_seconds=0,
                end_to_end_passes=1, cpu_affinity=(core,))
    result = run_case_isolated(case, tiny_inputs, weights_file)
    assert result.status == "ok", result.reason
    settings = result.environment["settings"]
    assert settings["cpu_affinity"] == [core] and settings["torch_threads"] == 1
    assert result.case.key == f"cpu-bs1-fp32-pin{core}"
    assert result.validity.cores_in_use == 1


# --- RAPL: energy of the CPU packages, or why not ---

def _powercap(tmp_path, zones):
    root = tmp_path / "powercap"
    for name, (kind, energy, max_range) in zones.items():
        zone = root / name
        zone.mkdir(parents=True)
        (zone / "name").write_text(kind + "\n")
        (zone / "energy_uj").write_text(f"{energy}\n")
        (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    return root


def test_rapl_sums_the_packages_and_survives_a_counter_wrap(tmp_path):
    root = _powercap(tmp_path, {"intel-rapl:0": ("package-0", 900, 1000),
                                "intel-rapl:1": ("package-1", 5_000_000, 10**9),
                                "intel-rapl:0:0": ("core", 1, 1000)})
    first, why = rapl.start(root)
    assert why is None and [z.path.name for z in first.zones] == ["intel-rapl:0",
                                                                  "intel-rapl:1"]
    (root / "intel-rapl:0" / "energy_uj").write_text("100\n")  # wrapped: 100 + 1000 - 900
    (root / "intel-rapl:1" / "energy_uj").write_text("7000000\n")
    joules, why = rapl.joules_since(first)
    assert why is None and joules == pytest.approx((200 + 2_000_000) / 1e6)


def test_without_rapl_the_energy_is_null_with_the_reason(tmp_path, monkeypatch):
    reading, why = rapl.start(tmp_path / "absent")
    assert reading is None and why.startswith("no RAPL on this machine")
    root = _powercap(tmp_path, {"intel-rapl:0": ("package-0", 1, 1000)})
    original = type(root).read_text

    def root_only(path, *args, **kwargs):
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(type(root), "read_text", root_only)
    reading, why = rapl.start(root)
    assert reading is None and "readable by root only" in why
