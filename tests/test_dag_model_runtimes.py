"""A night through the real DAG (dag.test()) of a model that is not the mission's (Unet with
a ResNet-18 encoder, 3 input channels, 2 classes, 64x64) in two runtimes, PyTorch and ONNX
Runtime: both cases measured and stored under keys naming the model and the runtime, the
export a measured step of its own, the runtime's outputs checked against PyTorch fp32
eager, and the report naming the model and what ONNX Runtime gains over eager."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import text
from test_dag import TINY_GRID, dag  # noqa: F401 - the fixture

from segtasks import store
from segtasks.domain.model_spec import ModelSpec

pytestmark = pytest.mark.slow
SPEC = {"architecture": "Unet", "encoder": "resnet18", "encoder_depth": 5,
        "decoder_channels": [64, 32, 16, 16, 8], "in_channels": 3, "classes": 2,
        "input_size": [64, 64]}
CONF = {**TINY_GRID, "devices": ["cpu"], "batch_sizes": [1], "cpu_threads": [1],
        "runtimes": ["torch", "onnxruntime"], "confirm_repeats": 0}


def test_a_night_of_another_model_in_two_runtimes(dag, airflow_db, sqlite_url_at_head,  # noqa: F811
                                                   tiny_inputs, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    from segtasks.measure.model import make_weights

    weights = make_weights(tmp_path / "unet18.pt", seed=3, spec=ModelSpec.from_dict(SPEC))
    monkeypatch.setenv("SEGBENCH_DB_URL", sqlite_url_at_head)
    monkeypatch.setenv("SEGBENCH_INPUTS", str(tiny_inputs))
    model = {**SPEC, "weights": str(weights)}
    dag_run = dag.test(run_conf=copy.deepcopy({**CONF, "model": model}))

    assert dag_run.state == "success"
    identity = ModelSpec.from_dict(model).identity()
    torch_key = f"cpu-bs1-fp32-t1-m{identity}"
    ort_key = f"cpu-bs1-fp32-onnxruntime-t1-m{identity}"
    with store.connect(sqlite_url_at_head).connect() as conn:
        rows = {r.case_key: r for r in conn.execute(text(
            "SELECT case_key, status, reason, runtime, images_per_s, model_description, "
            "export_status, export_seconds, export_opset, export_bytes, runtime_provider, "
            "parity_ok, parity_max_abs_diff, parity_mask_mismatch FROM v_results")).all()}
    assert set(rows) == {torch_key, ort_key}, rows
    for key, runtime in ((torch_key, "torch"), (ort_key, "onnxruntime")):
        row = rows[key]
        assert (row.status, row.runtime) == ("ok", runtime), row.reason
        assert row.images_per_s > 0
        assert row.model_description.startswith("Unet(resnet18") and "classes=2" in \
            row.model_description
    ort = rows[ort_key]
    # the export is a step of its own: made once (the cache keeps it), its figures stored
    assert ort.export_status == "ok" and ort.export_opset >= 17
    assert ort.export_seconds > 0 and ort.export_bytes > 1e6  # ResNet-18's weights at least
    assert ort.runtime_provider == "CPUExecutionProvider"
    # against PyTorch fp32 eager on the same images, with the same tolerances
    assert ort.parity_ok and ort.parity_max_abs_diff < 1e-3 and ort.parity_mask_mismatch < 0.01
    assert rows[torch_key].export_status is None  # torch runs the module itself
    (report,) = (tmp_path / "var" / "reports").glob("*/run-*/report.md")
    text_ = report.read_text()
    assert "Unet(resnet18" in text_ and "onnxruntime" in text_
    assert "x eager at bs1" in text_  # what ONNX Runtime gains over PyTorch eager
