import pytest

from segtasks.cli import main


def test_bad_grid_is_a_one_line_error_with_exit_code_2(capsys, sqlite_url):
    from segtasks.store import upgrade

    upgrade(sqlite_url)
    code = main(["run", "--url", sqlite_url, "--devices", "cpu", "--batch-sizes", "0"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "segbench: error: bad parameter batch_sizes.0: 0 is less than the minimum of 1")


def test_a_database_not_yet_upgraded_says_what_to_run(capsys, sqlite_url):
    assert main(["report", "--url", sqlite_url]) == 2
    assert "run `segbench db upgrade`" in capsys.readouterr().err


def test_data_and_weights_are_made_once_then_left_alone(tmp_path, capsys):
    assert main(["data", "--dest", str(tmp_path / "in"), "--count", "2", "--size", "16"]) == 0
    assert main(["data", "--dest", str(tmp_path / "in")]) == 0
    out = capsys.readouterr().out
    assert "wrote 2 images (16x16)" in out and "already present" in out
    assert len(list((tmp_path / "in").glob("*.png"))) == 2


@pytest.mark.slow
def test_segbench_run_without_airflow_stores_and_reports(capsys, sqlite_url, tiny_inputs,
                                                         weights_file, monkeypatch):
    from segtasks.store import upgrade

    monkeypatch.setenv("SEGBENCH_INPUTS", str(tiny_inputs))
    monkeypatch.setenv("SEGBENCH_WEIGHTS", str(weights_file))
    upgrade(sqlite_url)
    code = main(["run", "--url", sqlite_url, "--devices", "cpu", "--batch-sizes", "1",
                 "--images", "1", "--warmup", "0", "--min-seconds", "0.01",
                 "--max-seconds", "0.5"])
    out = capsys.readouterr().out
    assert code == 0
    assert "## CPU fp32" in out and "| cpu-bs1-fp32 | images_per_s | new |" in out
    assert "report: " in out and "report.html" in out
    assert f"stored as run 1 in {sqlite_url}" in out
