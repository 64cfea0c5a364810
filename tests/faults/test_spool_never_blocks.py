"""A spool file that can never be stored (truncated, not JSON, not UTF-8, another shape, no
`result`, a result of another shape) is moved aside to var/spool/orphaned with a warning
that names it and why; the night opens and runs, and the good files are stored."""

from __future__ import annotations

import json

import pytest
from factories import result

from segtasks import nightly, store
from segtasks.store import repository, spool

pytestmark = [pytest.mark.faults]

GOOD = {"dag_id": "d", "run_id": "earlier", "case_key": "cpu-bs1-fp32"}
FOREIGN = {
    "truncated": (json.dumps({**GOOD, "result": result().to_dict()})[:80].encode(),
                  "it is not readable JSON"),
    "not UTF-8": (b"\xff\xfe\x00garbage", "it is not readable JSON"),
    "a list": (b"[1, 2, 3]", "it holds a JSON list, not a spool record"),
    "no result": (json.dumps(GOOD).encode(), "it has no 'result' field"),
    "a result of another shape": (json.dumps({**GOOD, "result": [1, 2]}).encode(),
                                  "its result is not a case result"),
    "a result without its case": (json.dumps({**GOOD, "result": {"status": "ok"}}).encode(),
                                  "its result is not a case result"),
    "nested too deep for the JSON reader": (b"[" * 100_000 + b"]" * 100_000,
                                            "it is not readable JSON"),
    "a figure of another type": (json.dumps({**GOOD, "result": {
        **result().to_dict(), "latency": {**result().to_dict()["latency"], "p90_ms": "abc"}}}
    ).encode(), "its result is not a case result (result.latency.p90_ms is str, not float)"),
    "an environment that is not an object": (json.dumps({**GOOD, "result": {
        **result().to_dict(), "environment": [1]}}).encode(),
        "its result is not a case result (result.environment is list, not dict)"),
    "reference outputs without a checksum": (json.dumps({**GOOD, "result": {
        **result().to_dict(), "weights_sha256": "a" * 64, "dataset_fingerprint": "d",
        "reference_outputs": {"npz": None}}}).encode(),
        "its result is not a case result (reference_outputs has no checksum)"),
    "a run id that is not text": (json.dumps({**GOOD, "run_id": 7,
                                              "result": result().to_dict()}).encode(),
                                  "its dag_id, run_id or case_key is not text"),
}

@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_a_foreign_spool_file_is_moved_aside_and_the_night_opens(kind, sqlite_url, caplog):
    store.upgrade(sqlite_url)
    url = store.resolve_url(sqlite_url)
    earlier = repository.open_own_run(store.connect(sqlite_url), dag_id="d", run_id="earlier",
                                      trigger="manual", params={}, code_version="x")
    good = spool.keep(url, spool.RunIdentity("d", "earlier", earlier.token),
                      result(images_per_s=3.0))
    content, why = FOREIGN[kind]
    bad = good.with_name(f"{spool._prefix(url)}-0000000000-bad.json")
    bad.write_bytes(content)

    tonight = nightly.open_run(db_url=sqlite_url, dag_id="d", run_id="tonight",
                               trigger="manual", params=nightly.plan({}))

    assert tonight.pk == earlier.pk + 1
    (row,) = repository.run_results(store.connect(sqlite_url), earlier.pk)
    assert row.images_per_s == 3.0  # the good file is stored all the same
    assert list(spool.spool_dir().glob("*.json")) == []
    moved = spool.orphaned_dir() / bad.name
    assert moved.read_bytes() == content  # kept as it was, for a person to look at
    warning = next(r.getMessage() for r in caplog.records if bad.name in r.getMessage())
    assert why in warning and str(moved) in warning

@pytest.mark.slow
def test_the_night_runs_past_a_foreign_file_through_the_command(bench, sqlite_url):
    store.upgrade(sqlite_url)
    folder = bench.home / "var" / "spool"
    folder.mkdir(parents=True)
    bad = folder / f"{spool._prefix(store.resolve_url(sqlite_url))}-x-y.json"
    bad.write_text('{"dag_id": "d", "run_id": "r", "case_key": "cpu-bs1-fp32", "resu')
    proc = bench.start(sqlite_url, "--batch-sizes", "1")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, out + err
    assert f"spooled result {bad.name} was not stored: it is not readable JSON" in err
    assert (folder / "orphaned" / bad.name).exists() and not bad.exists()
    assert "stored as run 1" in out
