"""The compilation axis: case keys, planning, a compiled CPU case measured and stored with its
one-off costs apart, and compile failures recorded as a status."""

from __future__ import annotations

import re

import pytest

from segtasks import nightly, store
from segtasks.measure import planted
from segtasks.plan import validate
from segtasks.plan.case import CASE_KEY_PATTERN, Case
from segtasks.store import repository

# A short protocol, every check of a quiet machine off: these tests check the accounting of a
# compiled case, not the machine's speed (the development VM is shared).
FAST = {"devices": ["cpu"], "batch_sizes": [1], "n_images": 1, "warmup_batches": 1,
        "warmup_seconds": 0, "min_batches": 6, "min_seconds": 0.01, "max_seconds": 0.5,
        "end_to_end_seconds": 0, "end_to_end_passes": 1, "max_interference": 1,
        "max_steal": 1, "fail_on_regression": False}


def test_eager_cases_keep_the_keys_they_had_before_compilation_existed():
    keys = [case.key for case in validate({"batch_sizes": [1, 4], "precisions": ["fp32", "bf16"],
                                           "channels_last": [False, True]}).cases]
    assert "cpu-bs4-fp32" in keys and "cuda-bs1-bf16-cl" in keys
    assert not any("compile" in key for key in keys)
    assert Case.from_dict({"device": "cpu", "batch_size": 2}).compile == "none"  # old XCom/JSON


def test_each_compile_mode_is_its_own_series():
    cases = validate({"devices": ["cpu"], "batch_sizes": [2], "channels_last": [True],
                      "compile": ["none", "default", "max-autotune"], "cpu_threads": [2]}).cases
    assert [c.key for c in cases] == ["cpu-bs2-fp32-cl-t2", "cpu-bs2-fp32-cl-compile-t2",
                                      "cpu-bs2-fp32-cl-compile-max-autotune-t2"]
    assert all(re.match(CASE_KEY_PATTERN, c.key) for c in cases)
    assert cases[2].label == "cpu bs=2 fp32 cl compile max autotune t2"
    cuda = Case(device="cuda", batch_size=8, precision="bf16", compile="reduce-overhead")
    assert cuda.key == "cuda-bs8-bf16-compile-reduce-overhead"
    assert re.match(CASE_KEY_PATTERN, cuda.key)


def test_an_unknown_compile_mode_is_refused_with_the_parameter_named():
    with pytest.raises(ValueError, match=r"bad parameter compile\.0: 'max_autotune' is not one "
                                         r"of \['none', 'default', 'max-autotune', "
                                         r"'reduce-overhead'\]"):
        validate({"compile": ["max_autotune"]})


@pytest.mark.slow
def test_reduce_overhead_on_the_cpu_is_recorded_as_skipped_with_the_reason(
        tiny_inputs, weights_file):
    from segtasks.measure.case_runner import run_case

    case = validate({**FAST, "compile": ["reduce-overhead"]}).cases[0]
    result = run_case(case, tiny_inputs, weights_file)
    assert (result.status, result.reason) == (
        "skipped", "torch.compile mode reduce-overhead captures CUDA graphs; on the CPU use "
                   "default or max-autotune")


def _night(db_url, conf):
    store.upgrade(db_url)
    params = validate({**FAST, **conf})
    run_pk = nightly.open_run(db_url=db_url, dag_id="segbench_nightly", run_id="compile-test",
                              trigger="cli", params=params).pk
    return params, run_pk


@pytest.mark.slow
def test_a_compile_failure_is_a_recorded_status_and_the_night_goes_on(
        sqlite_url, tiny_inputs, weights_file, monkeypatch):
    monkeypatch.setenv(planted.COMPILE_FAILURE_VARIABLE, "1")
    params, run_pk = _night(sqlite_url, {"compile": ["default"]})
    summary = nightly.bench(params.cases[0].to_dict(), run_pk, db_url=sqlite_url,
                            inputs=tiny_inputs, weights=weights_file)
    reason = ("torch.compile(mode='default') failed: RuntimeError: planted compile failure "
              f"({planted.COMPILE_FAILURE_VARIABLE} is set)")
    assert (summary["status"], summary["reason"]) == ("compile_failed", reason)
    row = repository.run_result(store.connect(sqlite_url), run_pk,
                                "cpu-bs1-fp32-compile")
    assert (row.status, row.reason, row.compile) == ("compile_failed", reason, "default")
    assert row.warnings == [f"{planted.COMPILE_FAILURE_VARIABLE} is set: a planted compile "
                            "failure"]
    outcome = nightly.judge_and_close(run_pk, params, db_url=sqlite_url)
    run = repository.get_run(store.connect(sqlite_url), run_pk)
    assert run.state == "failed"  # a failed case fails the run, as an error does
    assert [(v.metric, v.verdict) for v in outcome.verdicts] == [("status", "failed")]
    assert f"compile_failed: {reason}" in outcome.text


@pytest.mark.slow
def test_a_compiled_cpu_case_stores_its_compile_time_apart_and_caches_its_kernels(
        sqlite_url, tiny_inputs, weights_file, tmp_path):
    # one case, batch size 1: compiling UNet++ on 2 busy cores takes one to three minutes cold
    params, run_pk = _night(sqlite_url, {"compile": ["default"]})
    summary = nightly.bench(params.cases[0].to_dict(), run_pk, db_url=sqlite_url,
                            inputs=tiny_inputs, weights=weights_file)
    assert summary["status"] == "ok", summary["reason"]
    row = repository.run_result(store.connect(sqlite_url), run_pk,
                                "cpu-bs1-fp32-compile")
    assert row.compile == "default"
    # the first call compiles; the second is the first compiled call; both before warm-up
    assert row.compile_seconds > row.first_call_seconds > 0
    assert row.recompiles == 0  # same shapes every batch: nothing to recompile
    assert row.graph_breaks is not None
    cache = tmp_path / "var" / "compile-cache"  # SEGBENCH_HOME is the test's tmp_path
    assert any(p.is_file() for p in cache.rglob("*")), "no compiled kernel was cached"
    outcome = nightly.judge_and_close(run_pk, params, db_url=sqlite_url)
    assert "torch.compile (one-off costs" in outcome.text
    assert "Fastest: on " in outcome.text and "compile default at batch size 1" in outcome.text


def test_a_recompilation_after_the_first_call_is_stored_and_warned_about():
    from pathlib import Path

    import numpy as np

    from segtasks.measure.case_runner import Readings, assemble
    from segtasks.measure.data import ImageSet
    from segtasks.measure.protocol import FirstCalls, Measurement

    latencies = [100.0, 101.0, 99.0, 100.5, 100.2, 99.8]
    run = Measurement(latencies, [[1.0, 0.0, ms - 1.0, 1.0] for ms in latencies],
                      cold_start_ms=300.0, stop_reason="stable", end_to_end_s=0.6,
                      end_to_end_images=6,
                      compiled=FirstCalls(compile_s=40.0, first_call_s=0.2,
                                          graphs_after_compile=1, graph_breaks=1,
                                          recompiles=2))
    result = assemble(run, Readings(load_s=0.5, gflop_per_image=36.1, peak_tflops=None),
                      ImageSet(Path("."), [np.zeros((8, 8), np.uint8)], ["a.png"], "f"),
                      case=Case(device="cpu", compile="default"), weights_sha256="w",
                      hardware_key="h", environment={})
    assert result.columns()["compile_seconds"] == 40.0
    assert (result.compilation.first_call_seconds, result.compilation.recompiles,
            result.compilation.graph_breaks) == (0.2, 2, 1)
    assert ("torch.compile recompiled 2 time(s) after the first call: the steady state may "
            "include compilation") in result.warnings
    assert "torch.compile split the model at 1 graph break(s)" in result.warnings
