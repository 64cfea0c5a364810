"""The runtime axis: ONNX Runtime and OpenVINO beside PyTorch (segtasks.runtimes).

Planning (keys, the grid, validation), a runtime that is not installed, the export (made
once, then cached; a failure is `export_failed` with its reason), real cases of both
runtimes through run_case with their outputs checked against PyTorch fp32 eager, the
recommendation across runtimes, and the stored columns and views."""

from __future__ import annotations

import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest
from factories import HARDWARE, result
from sqlalchemy import text

from segtasks import store
from segtasks.plan import ParamError, validate
from segtasks.plan.case import Case
from segtasks.report.recommend import GIB, Constraints, recommend, runtime_gains
from segtasks.result import Export
from segtasks.runtimes import available
from segtasks.store import repository


def _case(runtime, **options):
    # a fast protocol: these tests check what runs and what is recorded, not speed
    return Case(device="cpu", batch_size=2, seed_images=3, warmup_batches=1,
                warmup_seconds=0, min_batches=6, min_seconds=0.01, max_seconds=0.5,
                end_to_end_seconds=0, end_to_end_passes=1, runtime=runtime, **options)


# --- planning ---

def test_only_other_runtimes_than_torch_name_themselves_in_the_key():
    assert _case("torch").key == "cpu-bs2-fp32"
    assert _case("onnxruntime", threads=2).key == "cpu-bs2-fp32-onnxruntime-t2"
    assert _case("openvino").key == "cpu-bs2-fp32-openvino"


def test_pytorchs_own_axes_spread_over_torch_cases_only():
    night = validate({"devices": ["cpu"], "batch_sizes": [1], "precisions": ["fp32", "bf16"],
                      "compile": ["none", "default"],
                      "runtimes": ["torch", "onnxruntime", "openvino"]})
    keys = [case.key for case in night.cases]
    assert sorted(keys) == sorted([
        "cpu-bs1-fp32", "cpu-bs1-fp32-compile", "cpu-bs1-bf16", "cpu-bs1-bf16-compile",
        "cpu-bs1-fp32-onnxruntime", "cpu-bs1-fp32-openvino"])
    assert len(set(keys)) == len(keys)


def test_a_runtime_unknown_or_torch_axes_without_torch_are_refused_in_one_line():
    with pytest.raises(ParamError, match=r"^bad parameter runtimes\.0"):
        validate({"runtimes": ["tensorrt"]})
    with pytest.raises(ParamError) as err:
        validate({"runtimes": ["onnxruntime"], "compile": ["max-autotune"]})
    message = str(err.value)
    assert message.startswith("bad parameter compile:") and "torch runtime only" in message
    assert len(message.splitlines()) == 1
    assert validate({"runtimes": ["onnxruntime"]}).cases


# --- a runtime that is not installed, a device it has not ---

def test_a_runtime_not_installed_makes_its_cases_skipped_with_the_extra_to_install(
        monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` fails
    monkeypatch.setitem(sys.modules, "openvino", None)
    assert available.unsupported(_case("onnxruntime")) == (
        "onnxruntime is not installed: pip install -e .[onnx]")
    assert available.unsupported(_case("openvino")) == (
        "openvino is not installed: pip install -e .[openvino]")
    assert available.unsupported(_case("torch")) is None


@pytest.mark.slow
def test_run_case_records_a_missing_runtime_as_skipped(monkeypatch, tiny_inputs,
                                                        weights_file):
    from segtasks.measure.case_runner import run_case

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    done = run_case(_case("onnxruntime"), tiny_inputs, weights_file)
    assert (done.status, done.reason) == (
        "skipped", "onnxruntime is not installed: pip install -e .[onnx]")


def test_openvino_on_cuda_is_skipped_with_its_reason():
    pytest.importorskip("openvino")
    reason = available.unsupported(replace(_case("openvino"), device="cuda"))
    assert reason is not None and "CPU" in reason


# --- the export ---

@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """One export cache for the module: each form is made once, by the first test."""
    return tmp_path_factory.mktemp("exports")


@pytest.fixture
def shared_exports(exports, monkeypatch):
    monkeypatch.setenv("SEGBENCH_EXPORTS", str(exports))
    return exports


@pytest.mark.slow
def test_the_export_is_made_once_then_reused_from_the_cache(shared_exports, weights_file):
    pytest.importorskip("onnxruntime")
    from segtasks.measure.model import file_sha256
    from segtasks.runtimes import export

    sha = file_sha256(weights_file)
    first = export.ensure("onnxruntime", weights_file, sha, (1, 1, 256, 256))
    again = export.ensure("onnxruntime", weights_file, sha, (1, 1, 256, 256))
    assert again.cached and again.stored.path == first.stored.path
    assert again.seconds == first.stored.seconds > 0  # the time it took when it was made
    # the files the runtime loads, without the cache's own record
    assert first.stored.bytes == sum(f.stat().st_size for f in first.stored.folder.iterdir()
                                     if f.is_file() and f.name != "export.json")
    assert first.stored.opset == export.OPSET and first.stored.path.suffix == ".onnx"
    # nothing half-made is left beside it
    assert [p.name for p in first.stored.folder.parent.iterdir()
            if p.name.endswith(".partial")] == []


class _NoOnnxOperator:
    """A module with an operator ONNX has no translation for (an SVD). (A data-dependent
    shape is no such test: the exporter's last strategy traces it with real values and
    bakes them in, which only the output check then catches.)"""

    @staticmethod
    def make():
        import torch

        class Module(torch.nn.Module):
            def forward(self, x):
                return torch.linalg.svd(x[:, 0]).S

        return Module().eval()


@pytest.mark.slow
def test_an_export_that_fails_raises_export_failed_with_one_line(tmp_path):
    pytest.importorskip("onnxscript")
    from segtasks.runtimes.onnx_export import ExportFailed, export_onnx

    with pytest.raises(ExportFailed) as err:
        export_onnx(_NoOnnxOperator.make(), tmp_path / "m.onnx", (1, 1, 8, 8))
    message = str(err.value)
    # which of the exporter's steps refuses it depends on torch's state in this process
    # (its capture strategies): the message names that step's error, on one line
    assert message.startswith("torch.onnx.export (opset 18) failed: ")
    assert len(message.splitlines()) == 1 and "\x1b" not in message  # no terminal colours


@pytest.mark.slow
def test_a_failing_export_makes_the_case_export_failed_not_a_crash(
        monkeypatch, tmp_path, tiny_inputs, weights_file):
    pytest.importorskip("onnxruntime")
    from segtasks.measure import planted
    from segtasks.measure.case_runner import run_case

    monkeypatch.setenv("SEGBENCH_EXPORTS", str(tmp_path / "exports"))
    monkeypatch.setenv(planted.EXPORT_FAILURE_VARIABLE, "1")
    done = run_case(_case("onnxruntime"), tiny_inputs, weights_file)
    assert done.status == "export_failed"
    assert "planted export failure" in done.reason and len(done.reason.splitlines()) == 1
    assert done.export == Export("failed")
    assert not list((tmp_path / "exports").rglob("*.onnx"))  # a failure is not cached


# --- real cases ---

@pytest.mark.slow
@pytest.mark.parametrize("runtime, provider", [("onnxruntime", "CPUExecutionProvider"),
                                               ("openvino", "CPU")])
def test_a_runtime_case_is_timed_by_the_protocol_and_matches_pytorch_fp32_eager(
        runtime, provider, shared_exports, tiny_inputs, weights_file):
    pytest.importorskip(runtime)
    from segtasks.measure.case_runner import run_case
    from segtasks.plan.params import OUTPUT_TOLERANCES

    done = run_case(_case(runtime), tiny_inputs, weights_file)
    assert done.status == "ok", done.reason
    n = len(done.latencies_ms)
    assert n == done.latency.n_batches >= 6  # the same stopping rule as PyTorch's cases
    for total, (pre, h2d, forward, post) in zip(done.latencies_ms, done.phases_ms,
                                                strict=True):
        assert total == pytest.approx(h2d + forward + post) and pre > 0 and forward > 0
    assert done.throughput.end_to_end_images == 4
    export = done.export
    assert (export.export_status, export.export_opset, export.runtime_provider) == (
        "ok", 18, provider)
    assert export.export_seconds > 0 and export.export_bytes > 1_000_000
    # checked on the parity images against PyTorch fp32 eager, within fp32's tolerance
    check = done.outputs
    assert check.parity_images == 3
    assert check.parity_max_abs_diff <= OUTPUT_TOLERANCES["fp32"]["max_abs_diff"]
    assert check.parity_mask_mismatch <= OUTPUT_TOLERANCES["fp32"]["mask_mismatch"]
    assert done.reference_outputs is not None


# --- the recommendation across runtimes ---

def _row(key, *, ips, runtime="torch", bs=1, parity_ok=None, precision="fp32"):
    return SimpleNamespace(
        case_key=key, run_pk=1, hardware_key=HARDWARE, device="cpu", status="ok",
        valid=True, precision=precision, channels_last=False, compile="none",
        runtime=runtime, runtime_provider=None if runtime == "torch" else "X",
        threads=None, batch_size=bs, images_per_s=ips, latency_p90_ms=None,
        host_peak_rss_bytes=GIB, cuda_peak_reserved_bytes=None, cpu_energy_j_per_image=None,
        gpu_energy_j_per_image=None, parity_ok=parity_ok, parity_mask_mismatch=0.0,
        environment=SimpleNamespace(cpu_model="Test CPU", gpu_name=None),
        compile_seconds=None, export_seconds=None if runtime == "torch" else 9.0)


def test_the_recommendation_spans_runtimes_but_not_one_outside_parity():
    rows = [_row("eager1", ips=10), _row("eager4", ips=12, bs=4),
            _row("ort1", ips=13, runtime="onnxruntime"),
            _row("ort4", ips=15, runtime="onnxruntime", bs=4),
            _row("ov4", ips=30, runtime="openvino", bs=4, parity_ok=False)]
    [rec] = recommend(rows, Constraints())
    assert rec.best.result.case_key == "ort4"  # the openvino case is faster, but differs
    assert "ov4" not in [c.result.case_key for c in rec.front]
    assert rec.best.speedup == pytest.approx(15 / 12)  # against PyTorch eager at bs4
    assert rec.text.startswith("Fastest: on Test CPU, onnxruntime (X) + fp32 at batch size 4")
    gains = {g.runtime: g.text for g in runtime_gains(rows)}
    assert gains == {
        "onnxruntime": "onnxruntime (cpu): 1.30x eager at bs1, 1.25x eager at bs4",
        "openvino": "openvino (cpu): 2.50x eager at bs4; outputs outside tolerance at bs4 "
                    "(not recommended)"}


def test_the_view_recommends_across_runtimes_against_pytorch_eager(db_url):
    engine = store.connect(db_url)
    run_pk = repository.open_run(engine, dag_id="d", run_id="r", trigger="manual", params={},
                                 code_version="abc")
    repository.save_result(engine, run_pk, result(images_per_s=10.0))
    faster = result(images_per_s=20.0)
    faster.case = replace(faster.case, runtime="onnxruntime")
    faster.export = Export("ok", export_seconds=9.5, export_opset=18, export_bytes=123,
                           export_cached=True, runtime_provider="CPUExecutionProvider")
    repository.save_result(engine, run_pk, faster)
    failed = result(status="export_failed", reason="openvino could not load the export")
    failed.case = replace(failed.case, runtime="openvino")
    failed.export = Export("failed")
    repository.save_result(engine, run_pk, failed)
    with engine.connect() as conn:
        front = conn.execute(text(
            "SELECT case_key, runtime, speedup_vs_fp32_eager, export_seconds, "
            "runtime_provider FROM v_recommendations WHERE run_pk = :pk"),
            {"pk": run_pk}).all()
        flat = conn.execute(text(
            "SELECT case_key, runtime, status, export_status, export_opset, export_bytes, "
            "export_cached FROM v_results ORDER BY case_key")).all()
    assert [tuple(r) for r in front] == [
        ("cpu-bs1-fp32-onnxruntime", "onnxruntime", 2.0, 9.5, "CPUExecutionProvider")]
    assert [tuple(r) for r in flat] == [
        ("cpu-bs1-fp32", "torch", "ok", None, None, None, None),
        ("cpu-bs1-fp32-onnxruntime", "onnxruntime", "ok", "ok", 18, 123, True),
        ("cpu-bs1-fp32-openvino", "openvino", "export_failed", "failed", None, None, None)]


def _published(where, payload=b"0123456789"):
    from segtasks.runtimes import cache

    stage = cache.staging(where)
    (stage / "model.onnx").write_bytes(payload)
    return cache.publish(stage, where, "model.onnx", 1.5, 18, {"torch": "x"})


def test_a_truncated_export_in_the_cache_is_made_again_not_reused(tmp_path):
    from segtasks.runtimes import cache

    where = cache.folder("abc", "onnx", 18, tmp_path)
    stored = _published(where)
    assert cache.read(where) == stored and stored.bytes == 10
    (where / "model.onnx").write_bytes(b"01234")  # a full disk, a hand's rm
    assert cache.read(where) is None  # so ensure() makes it again
    remade = _published(where, b"abcdefghij")
    assert cache.read(where) == remade and (where / "model.onnx").read_bytes() == b"abcdefghij"
    # nothing left beside it: no staging, no broken copy
    assert [p.name for p in where.parent.iterdir()] == [where.name]


def test_a_model_that_cannot_be_counted_on_meta_keeps_its_timing_with_a_warning(monkeypatch):
    from segtasks.measure import flops

    def refuses(spec=None):
        raise RuntimeError("Tensor on device meta is not on the expected device cpu!\nmore")

    monkeypatch.setattr(flops, "flops_per_image", refuses)
    warnings: list[str] = []
    assert flops.gflop_or_zero(None, warnings) == 0.0
    assert warnings == ["FLOPs not counted: RuntimeError: Tensor on device meta is not on "
                        "the expected device cpu!"]
