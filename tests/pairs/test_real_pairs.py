"""Pairs of real case processes on the CPU: both sides in this interpreter (an A/A pair),
two pairs interleaved and one duet, with a protocol kept short. Checks what each process
was given and what it stored, never how fast it was."""

from __future__ import annotations

import sys

import pytest

from segtasks.domain.paired import PairMode, Side
from segtasks.measure.placement import allowed_cores
from segtasks.pairs.measure import SideSpec, core_halves, measure_pairs
from segtasks.plan.case import Case

SHORT = Case(device="cpu", batch_size=1, seed_images=1, warmup_batches=0, warmup_seconds=0,
             min_seconds=0.01, max_seconds=0.3, end_to_end_seconds=0, end_to_end_passes=1,
             # the pairs' mechanics are under test, not this busy machine's quiet
             max_interference=1.0, max_steal=1.0)
CONTROL = SideSpec(python=sys.executable, lock_sha256="c" * 64)
TREATMENT = SideSpec(python=sys.executable, lock_sha256="t" * 64)


@pytest.mark.slow
def test_real_pairs_interleaved_and_as_a_duet(tiny_inputs, weights_file):
    seen = []
    interleaved = measure_pairs(SHORT, inputs=tiny_inputs, weights=weights_file,
                                control=CONTROL, treatment=TREATMENT, pairs=2,
                                mode=PairMode.INTERLEAVED, seed=4, timeout_s=300,
                                on_side=lambda side, result: seen.append(side))
    assert seen == interleaved.sides
    assert [(s.pair, s.position) for s in interleaved.sides] == [(0, 0), (0, 1), (1, 0),
                                                                 (1, 1)]
    for pair in (0, 1):
        assert {s.side for s in interleaved.sides if s.pair == pair} == {Side.CONTROL,
                                                                        Side.TREATMENT}
    for s, result in zip(interleaved.sides, interleaved.results, strict=True):
        assert s.status == "ok", s.reason
        assert s.images_per_s > 0 and s.latency_p50_ms > 0 and s.n_batches >= 6
        assert s.cpu_affinity == () and result.case == SHORT
    control, treatment = interleaved.complete_pairs()
    assert len(control) == len(treatment) == 2

    if len(allowed_cores()) < 2:
        pytest.skip("a duet needs 2 cores; this worker may use 1")
    duet = measure_pairs(SHORT, inputs=tiny_inputs, weights=weights_file, control=CONTROL,
                         treatment=TREATMENT, pairs=1, mode=PairMode.DUET, seed=4,
                         timeout_s=300)
    halves = core_halves(allowed_cores())
    assert len(duet.sides) == 2 and {s.position for s in duet.sides} == {0}
    assert {s.cpu_affinity for s in duet.sides} == set(halves)
    for s, result in zip(duet.sides, duet.results, strict=True):
        assert s.status == "ok", s.reason
        assert s.images_per_s > 0
        settings = result.environment["settings"]
        # each process ran pinned to its half, one torch thread per core of it
        assert tuple(settings["cpu_affinity"]) == s.cpu_affinity
        assert settings["torch_threads"] == len(s.cpu_affinity)
    assert len(duet.complete_pairs()[0]) == 1
