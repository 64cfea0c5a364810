"""A model other than the default is named wherever its cases and series are: the report
(Markdown and HTML), the run, series and compare pages, and the alert. The default model
stays unnamed, as it always was."""

from __future__ import annotations

import dataclasses

import pytest
from factories import judge, result
from fastapi.testclient import TestClient

from segtasks import nightly, store
from segtasks.alerts.message import from_store
from segtasks.domain.model_spec import ModelSpec, spec_or_default
from segtasks.report.html import render_html
from segtasks.report.markdown import render_markdown
from segtasks.store import repository
from segtasks.ui import engines
from segtasks.ui.access import LocalAccess
from segtasks.ui.app import build_app
from segtasks.ui.settings import UiSettings

UNET18 = {"architecture": "Unet", "encoder": "resnet18", "encoder_depth": 5,
          "decoder_channels": [256, 128, 64, 32, 16], "in_channels": 3, "classes": 2,
          "input_size": [256, 256], "weights": "weights/unet18.pt"}
SPEC = ModelSpec.from_dict(UNET18)
LINE = f"{SPEC.describe()} · {SPEC.identity()}"


def _of_model(r, spec: ModelSpec | None):
    """A stored-result stand-in measured on `spec` (None: the default), with what the
    measuring process records of its model (segtasks.measure.case_runner)."""
    r.case = dataclasses.replace(r.case, model=spec)
    r.model_description = spec_or_default(spec).describe()
    r.model_identity = spec_or_default(spec).identity("0" * 64)
    return r


def _nights(url: str, spec: ModelSpec | None, nights: int = 2) -> list[int]:
    conf = {} if spec is None else {"model": spec.to_dict()}
    engine = store.connect(url)
    pks = []
    for night in range(nights):
        pk = repository.open_run(engine, dag_id="d", run_id=f"n{night}", trigger="scheduled",
                                 params=conf, code_version="x")
        for bs in (1, 2):
            repository.save_result(engine, pk, _of_model(
                result(batch_size=bs, images_per_s=10.0 * bs - night), spec))
        judge(engine, pk)
        repository.finish_run(engine, pk, "success")
        pks.append(pk)
    return pks


def test_the_report_names_a_model_other_than_the_default_in_its_header_and_tables(db_url):
    (pk,) = _nights(db_url, SPEC, nights=1)
    report = nightly.stored_report(pk, db_url=db_url)
    markdown = render_markdown(report)
    assert f"**Model**: {LINE}" in markdown
    # each case table says which model it is (the case keys end with its identity)
    assert f"## CPU fp32 · model {SPEC.identity()}" in markdown
    assert f"cpu-bs1-fp32-m{SPEC.identity()}" in markdown
    page = render_html(report)
    assert f'<p class="model">Model: {LINE}</p>' in page
    assert f"<h2>CPU fp32 · model {SPEC.identity()}</h2>" in page


def test_the_default_model_stays_unnamed_in_the_report(db_url):
    (pk,) = _nights(db_url, None, nights=1)
    report = nightly.stored_report(pk, db_url=db_url)
    assert report.models == []
    markdown = render_markdown(report)
    assert "**Model**" not in markdown and "## CPU fp32\n" in markdown
    assert 'class="model"' not in render_html(report)


@pytest.fixture
def pages(db_url):
    pks = _nights(db_url, SPEC)
    settings = UiSettings(writer_url=db_url, reader_url=db_url, airflow_url="")
    yield TestClient(build_app(lambda: settings, LocalAccess("tester"))), pks
    engines.dispose(db_url)


def test_the_run_series_and_compare_pages_name_the_model(pages):
    client, (first, last) = pages
    run = client.get(f"/runs/{last}")
    assert run.status_code == 200
    assert f'<p class="model">model: {LINE}</p>' in run.text
    assert client.get(f"/api/runs/{last}").json()["models"] == [LINE]
    key = f"cpu-bs1-fp32-m{SPEC.identity()}"
    series = client.get(f"/series/{key}")
    assert series.status_code == 200
    assert f'<p class="model">model: {LINE}</p>' in series.text
    compare = client.get(f"/api/compare?a={first}&b={last}").json()
    assert compare["models"] == {"a": [LINE], "b": [LINE]}
    assert f"model: {LINE}" in client.get(f"/compare?a={first}&b={last}").text


def test_the_default_models_pages_name_no_model(db_url):
    first, last = _nights(db_url, None)
    settings = UiSettings(writer_url=db_url, reader_url=db_url, airflow_url="")
    client = TestClient(build_app(lambda: settings, LocalAccess("tester")))
    try:
        assert client.get(f"/api/runs/{last}").json()["models"] == []
        assert 'class="model"' not in client.get(f"/runs/{last}").text
        assert 'class="model"' not in client.get("/series/cpu-bs1-fp32").text
        assert client.get(f"/api/compare?a={first}&b={last}").json()["models"] == {
            "a": [], "b": []}
    finally:
        engines.dispose(db_url)


def test_the_alert_names_the_nights_model(db_url):
    (pk,) = _nights(db_url, SPEC, nights=1)
    alert = from_store(store.connect(db_url), pk)
    assert f"Model: {LINE}" in alert.text and alert.payload["model"] == LINE


def test_the_default_models_alert_names_no_model(db_url):
    (pk,) = _nights(db_url, None, nights=1)
    alert = from_store(store.connect(db_url), pk)
    assert "Model:" not in alert.text and alert.payload["model"] is None
