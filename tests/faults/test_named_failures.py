"""Every failure names what is wrong, on one line, with the right exit code: a lock wait
that is not a number, an output folder that is a file or a device, an empty or unusable
results URL (and nothing left behind), and curation that names a series, run or device
that is not stored (with the nearest ones)."""

from __future__ import annotations

import numpy as np
import pytest
from factories import HARDWARE, result

from segtasks import store
from segtasks.cli import main
from segtasks.parity.outputs import Outputs, encode
from segtasks.result import OutputCheck
from segtasks.store import repository

pytestmark = [pytest.mark.faults]


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("segbench: error: ")
    return err.removeprefix("segbench: error: ")


@pytest.fixture
def stored(sqlite_url) -> str:
    """Two nights of cpu-bs1-fp32 and cpu-bs2-fp32 on the factory's hardware."""
    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    for night in ("night-1", "night-2"):
        run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=night,
                                     trigger="scheduled", params={}, code_version="x")
        for batch_size in (1, 2):
            repository.save_result(engine, run_pk, result(batch_size=batch_size))
    return sqlite_url


@pytest.mark.parametrize("value", ["abc", "nan", "-1", "inf"])
def test_a_lock_wait_that_is_not_a_number_of_seconds_is_named(value, capsys, sqlite_url,
                                                              monkeypatch):
    monkeypatch.setenv("SEGBENCH_LOCK_WAIT_S", value)
    assert main(["run", "--devices", "cpu", "--batch-sizes", "1", "--url", sqlite_url]) == 2
    assert _error(capsys) == (f"SEGBENCH_LOCK_WAIT_S={value!r} is not a number of seconds "
                              "to wait for a busy device (a finite number >= 0; unset: 600)")


@pytest.mark.parametrize("command", [["report", "1", "--format", "html"],
                                     ["report", "1", "--format", "markdown"],
                                     ["export", "--since", "2020-01-01"]])
def test_an_output_whose_folder_is_a_file_names_the_file(command, capsys, stored, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    output = blocker / "out" / "x"
    assert main([*command, "--output", str(output), "--url", stored]) == 2
    assert _error(capsys).endswith(f"{output}: {blocker} is a file, not a folder")


def test_a_device_as_the_report_folder_is_named(capsys, stored):
    assert main(["report", "1", "--format", "html", "--output", "/dev/full",
                 "--url", stored]) == 2
    assert _error(capsys) == ("cannot write the report to /dev/full: /dev/full is a device "
                              "or other special file, not a folder")


@pytest.mark.parametrize("command", [["report", "1"], ["export", "--since", "2020-01-01"]])
def test_a_full_disk_is_named(command, capsys, stored):
    assert main([*command, "--output", "/dev/full", "--url", stored]) == 2
    assert _error(capsys) == "cannot write /dev/full: No space left on device"


@pytest.mark.parametrize("command", [["report"], ["db", "upgrade"], ["db", "current"],
                                     ["runs", "reap"],
                                     ["run", "--devices", "cpu", "--batch-sizes", "1"]])
def test_an_empty_url_is_an_error_not_the_default_database(command, capsys, tmp_path):
    assert main([*command, "--url", ""]) == 2
    assert _error(capsys).startswith("the results URL is empty")
    assert not (tmp_path / "var" / "segbench.db").exists()


@pytest.mark.parametrize("command", [["report"], ["db", "current"], ["runs", "reap"],
                                     ["run", "--devices", "cpu", "--batch-sizes", "1"]])
def test_a_sqlite_file_that_is_not_there_is_refused_and_not_created(command, capsys, tmp_path,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--url", "sqlite:///relative.db"]) == 2
    assert _error(capsys) == (
        "the results database at sqlite:///relative.db has no segbench tables yet: run "
        f"`segbench db upgrade` (its file {tmp_path / 'relative.db'} does not exist, relative "
        f"to {tmp_path})")
    assert not (tmp_path / "relative.db").exists()  # no empty file left behind


def test_db_upgrade_still_creates_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade", "--url", "sqlite:///relative.db"]) == 0
    assert (tmp_path / "relative.db").stat().st_size > 0


@pytest.mark.parametrize(("args", "message"), [
    (["cpu-bs1-fp23"], "no stored series has case key 'cpu-bs1-fp23'; nearest: "
                       "cpu-bs1-fp32, cpu-bs2-fp32"),
    (["yolo"], "no stored series has case key 'yolo'; stored: cpu-bs1-fp32, cpu-bs2-fp32"),
    (["cpu-bs1-fp32", "--hardware", "cpu=Test CPU (4 threads); gpu=none"],
     f"cpu-bs1-fp32 has no stored series on hardware 'cpu=Test CPU (4 threads); gpu=none'; "
     f"nearest: {HARDWARE}"),
])
def test_baseline_accept_refuses_a_series_that_is_not_stored(args, message, capsys, stored):
    assert main(["baseline", "accept", *args, "--from", "night-2", "--reason", "typo?",
                 "--url", stored]) == 2
    assert _error(capsys) == message
    assert repository.baseline_levels(store.connect(stored)) == []


def test_baseline_undo_of_a_level_that_is_not_stored_names_the_stored_ones(capsys, stored):
    assert main(["baseline", "accept", "cpu-bs1-fp32", "--from", "night-2", "--reason", "new",
                 "--url", stored]) == 0
    capsys.readouterr()
    assert main(["baseline", "undo", "11", "--url", stored]) == 2
    assert _error(capsys) == "no accepted baseline level with id 11; stored ids: 1"


@pytest.mark.parametrize("action", [["exclude", "--reason", "busy"], ["include"]])
def test_runs_exclude_and_include_name_the_nearest_runs(action, capsys, stored):
    assert main(["runs", action[0], "nigth-2", *action[1:], "--url", stored]) == 2
    assert _error(capsys) == "no run with id or run_id 'nigth-2'; nearest: night-2, night-1"


def test_golden_accept_refuses_a_device_kind_that_run_did_not_check(capsys, sqlite_url):
    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id="checked",
                                 trigger="scheduled", params={}, code_version="x")
    repository.save_result(engine, run_pk, _checked(result(), kind="cpu: Test CPU"))
    assert main(["golden", "accept", "--from", "checked", "--device-kind", "cpu: Test GPU",
                 "--reason", "typo?", "--url", sqlite_url]) == 2
    assert _error(capsys) == ("run 1 (checked) has no checked outputs on 'cpu: Test GPU'; "
                              "nearest: cpu: Test CPU")


def _checked(made, *, kind: str):
    """A result whose fp32 outputs were checked on `kind` (what golden accept takes)."""
    probs = np.random.default_rng(0).uniform(0, 1, (1, 8, 8)).astype(np.float32)
    outputs = Outputs(("a.png",), probs, tuple(p >= 0.5 for p in probs))
    made.weights_sha256, made.dataset_fingerprint = "w" * 64, "data0001"
    made.outputs = OutputCheck(parity_images=1, parity_max_abs_diff=0.0,
                               parity_mask_mismatch=0.0, parity_iou=1.0, truth_iou=0.97,
                               device_kind=kind, reference_checksum=outputs.checksum())
    made.reference_outputs = encode(outputs)
    return made
