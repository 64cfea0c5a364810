"""The recommendation on hand-made results with a known Pareto front and known budgets; the
view v_recommendations finds the same front in SQL."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from factories import HARDWARE, result
from sqlalchemy import text

from segtasks import store
from segtasks.plan import ParamError, validate
from segtasks.plan.case import Case
from segtasks.report.recommend import (
    GIB,
    Constraints,
    Recommendation,
    candidates,
    dominates,
    pareto_front,
    recommend,
)
from segtasks.store import repository


def row(key, *, ips, p90, gib, precision="fp32", cl=False, compile="none", bs=1,
        energy=None, status="ok", valid=True, device="cpu", hardware=HARDWARE, **extra):
    """A stored-row stand-in with the attributes the recommendation reads."""
    return SimpleNamespace(
        case_key=key, run_pk=1, hardware_key=hardware, device=device, status=status,
        valid=valid, precision=precision, channels_last=cl, compile=compile, threads=None,
        batch_size=bs, images_per_s=ips, latency_p90_ms=p90,
        host_peak_rss_bytes=None if gib is None else int(gib * GIB),
        cuda_peak_reserved_bytes=None if gib is None else int(gib * GIB),
        cpu_energy_j_per_image=energy, gpu_energy_j_per_image=energy,
        environment=SimpleNamespace(cpu_model="Test CPU", gpu_name="Test GPU"),
        compile_seconds=None, **extra)


# On the front: A (least memory), B (low p90), D (fastest), E (less energy than D),
# J (no p90: compared on the rest). Off it: C and F (B beats both on all three), G
# (disturbed), H (outputs differ), I (out of memory), though G and H would beat them all.
ROWS = [
    row("A", ips=10, p90=100, gib=1.0),
    row("B", ips=17, p90=60, gib=1.1, precision="bf16", parity_mask_mismatch=0.005),
    row("C", ips=14, p90=70, gib=1.2, compile="default"),
    row("D", ips=30, p90=150, gib=2.0, precision="bf16", compile="max-autotune", bs=4,
        energy=5.0),
    row("E", ips=25, p90=160, gib=2.5, precision="bf16", cl=True, bs=4, energy=4.0),
    row("F", ips=12, p90=300, gib=1.8, bs=4),
    row("G", ips=50, p90=10, gib=0.5, precision="bf16", bs=8, valid=False),
    row("H", ips=40, p90=10, gib=0.5, precision="bf16", bs=8, parity_ok=False),
    row("I", ips=None, p90=None, gib=None, bs=16, status="oom"),
    row("J", ips=20, p90=None, gib=1.5, precision="bf16", bs=2),
    row("K", ips=400, p90=5, gib=2.0, device="cuda", hardware="cpu=Test CPU; gpu=Test GPU"),
]


def _keys(found):
    return [c.result.case_key for c in found]


def test_the_front_is_every_eligible_case_no_other_beats():
    recs = recommend(ROWS, Constraints())
    assert [(r.device, r.hardware_key) for r in recs] == [
        ("cpu", HARDWARE), ("cuda", "cpu=Test CPU; gpu=Test GPU")]
    cpu = recs[0]
    assert cpu.considered == 7  # G, H and I are not candidates, K is another device
    assert _keys(cpu.front) == ["D", "E", "J", "B", "A"]  # fastest first
    assert _keys(recs[1].front) == ["K"]


def test_an_objective_one_case_lacks_is_not_compared():
    found = {c.result.case_key: c for c in candidates(ROWS)}
    # J has no p90: faster than B with more memory, so neither wins
    assert not dominates(found["J"], found["B"]) and not dominates(found["B"], found["J"])
    # energy is compared where both have it: E's lower energy keeps it beside the faster D
    assert not dominates(found["D"], found["E"])
    assert dominates(found["B"], found["C"]) and not dominates(found["C"], found["C"])
    # without the energy reading, D would beat E
    assert dominates(replace(found["D"], energy_j=None), found["E"])
    assert _keys(pareto_front([found["A"], found["A"]])) == ["A", "A"]  # equals: both stay


def test_without_constraints_the_fastest_is_recommended_with_its_speedup():
    cpu = recommend(ROWS, Constraints())[0]
    assert cpu.best.result.case_key == "D"
    assert cpu.best.speedup == pytest.approx(30 / 12)  # over F: fp32 eager at batch size 4
    assert cpu.text == ("Fastest: on Test CPU, bf16 + contiguous + compile max-autotune at "
                        "batch size 4: 2.50 times the fp32 eager throughput (30 images/s, "
                        "p90 150 ms), 2.00 GiB")


@pytest.mark.parametrize(("limits", "best"), [
    (Constraints(memory_budget_gib=1.6), "J"),  # the fastest within 1.6 GiB
    (Constraints(memory_budget_gib=1.6, latency_target_ms=80), "B"),  # J cannot show a p90
    (Constraints(latency_target_ms=100), "B"),
    (Constraints(memory_budget_gib=2.2, latency_target_ms=155), "D"),
    (Constraints(memory_budget_gib=0.5), None),
])
def test_the_best_configuration_meets_the_budget_and_the_target(limits, best):
    cpu = recommend(ROWS, limits)[0]
    assert (cpu.best.result.case_key if cpu.best else None) == best


def test_the_sentence_names_masks_and_memory_where_measured():
    cpu = recommend(ROWS, Constraints(memory_budget_gib=1.6, latency_target_ms=80))[0]
    assert cpu.text == (
        "Best within 1.6 GiB and p90 latency at most 80 ms: on Test CPU, bf16 + contiguous + "
        "eager at batch size 1: 1.70 times the fp32 eager throughput (17 images/s, p90 60 ms), "
        "masks 99.50% identical, 1.10 GiB")
    none = recommend(ROWS, Constraints(memory_budget_gib=0.5))[0]
    assert none.text == ("on Test CPU (cpu), no configuration of the 7 measured is within "
                         "0.5 GiB")
    assert isinstance(none, Recommendation) and none.front  # the front is still shown


def test_budgets_are_run_parameters_with_no_default():
    params = validate({})
    assert (params.recommending.memory_budget_gib, params.recommending.latency_target_ms) == (
        None, None)
    conf = validate({"memory_budget_gib": 4, "latency_target_ms": 50.5}).conf
    assert Constraints.from_conf(conf) == Constraints(4, 50.5)
    assert Constraints.from_conf({}) == Constraints()  # a run stored before they existed
    with pytest.raises(ParamError, match="bad parameter memory_budget_gib: 0 is less than or "
                                         "equal to the minimum of 0"):
        validate({"memory_budget_gib": 0})


def _stored(key_row) -> object:
    """A CaseResult with the row's axes and figures, as the nightly stores one."""
    r = key_row
    case = Case(device=r.device, batch_size=r.batch_size, precision=r.precision,
                channels_last=r.channels_last, compile=r.compile, seed_images=4,
                warmup_batches=1)
    if r.status != "ok":
        return replace(result(status=r.status, hardware=r.hardware_key), case=case)
    base = result(device=r.device, batch_size=r.batch_size, images_per_s=r.images_per_s,
                  hardware=r.hardware_key, p90_ms=r.latency_p90_ms,
                  reserved=r.cuda_peak_reserved_bytes if r.device == "cuda" else None,
                  disturbed=None if r.valid else "other processes used 48% of the cores")
    base.memory.host_peak_rss_bytes = r.host_peak_rss_bytes
    base.telemetry.cpu_energy_j_per_image = r.cpu_energy_j_per_image if r.device == "cpu" \
        else None
    return replace(base, case=case)


def test_the_view_finds_the_same_front_as_the_report(db_url):
    engine = store.connect(db_url)
    pk = repository.open_run(engine, dag_id="segbench_nightly", run_id="r1", trigger="cli",
                             params={}, code_version="abc")
    keys = {}
    for r in ROWS:
        if getattr(r, "parity_ok", None) is False:
            continue  # output parity is another migration's column
        stored = _stored(r)
        repository.save_result(engine, pk, stored)
        keys[stored.case.key] = r.case_key
    with engine.connect() as conn:
        view = conn.execute(text(
            "SELECT case_key, device, compile, speedup_vs_fp32_eager, memory_bytes "
            "FROM v_recommendations WHERE run_pk = :pk ORDER BY images_per_s DESC"),
            {"pk": pk}).all()
    assert [keys[v.case_key] for v in view] == ["K", "D", "E", "J", "B", "A"]
    speedups = {keys[v.case_key]: v.speedup_vs_fp32_eager for v in view}
    assert speedups["D"] == pytest.approx(30 / 12) and speedups["A"] == pytest.approx(1)
    assert speedups["K"] == pytest.approx(1) and speedups["J"] is None
    assert {keys[v.case_key]: v.compile for v in view}["D"] == "max-autotune"
    stored_rows = repository.run_results(engine, pk)
    python = {c.result.case_key for rec in recommend(stored_rows, Constraints())
              for c in rec.front}
    assert python == {v.case_key for v in view}
