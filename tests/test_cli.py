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


@pytest.mark.parametrize(("command", "message"), [
    (["data", "--dest", "{file}"], "cannot write the inputs to {file}: {file} is a file, not "
                                    "a folder"),
    (["data", "--dest", "{file}/in"], "cannot write the inputs to {file}/in: {file} is a "
                                       "file, not a folder"),
    (["weights", "--dest", "{file}/w.pt"], "cannot write the weights to {file}/w.pt: {file} "
                                            "is a file, not a folder"),
    (["weights", "--dest", "{folder}"], "{folder} is a folder: give the weights file's path, "
                                        "e.g. {folder}/weights_001.pt"),
    (["train-demo", "--dest", "{folder}"], "{folder} is a folder: give the weights file's "
                                           "path, e.g. {folder}/weights_001.pt"),
    (["train-demo", "--dest", "{file}/w.pt"], "cannot write the weights to {file}/w.pt: "
                                               "{file} is a file, not a folder"),
])
def test_a_destination_that_cannot_be_written_is_one_line_before_any_work(
        command, message, tmp_path, capsys):
    # these were tracebacks (NotADirectoryError, IsADirectoryError), train-demo's after
    # minutes of training
    names = {"file": tmp_path / "a-file", "folder": tmp_path}
    names["file"].write_text("not a folder")
    assert main([part.format(**names) for part in command]) == 2
    assert capsys.readouterr().err == f"segbench: error: {message.format(**names)}\n"


@pytest.mark.slow
def test_segbench_run_without_airflow_stores_and_reports(capsys, sqlite_url, tiny_inputs,
                                                         weights_file, monkeypatch):
    from segtasks.store import upgrade

    monkeypatch.setenv("SEGBENCH_INPUTS", str(tiny_inputs))
    monkeypatch.setenv("SEGBENCH_WEIGHTS", str(weights_file))
    upgrade(sqlite_url)
    code = main(["run", "--url", sqlite_url, "--devices", "cpu", "--batch-sizes", "1",
                 "--images", "1", "--warmup", "0", "--min-seconds", "0.01",
                 "--max-seconds", "0.5", "--end-to-end-seconds", "0", "--end-to-end-passes",
                 "1", "--max-interference", "1", "--max-steal", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "## CPU fp32" in out and "| cpu-bs1-fp32 | images_per_s | new |" in out
    assert "report: " in out and "report.html" in out
    assert f"stored as run 1 in {sqlite_url}" in out


def test_baselines_are_curated_from_the_command_line_with_who_and_why(capsys, sqlite_url):
    from factories import result

    from segtasks import store
    from segtasks.store import repository

    store.upgrade(sqlite_url)
    engine = store.connect(sqlite_url)
    for night in ("n1", "n2"):
        run_pk = repository.open_run(engine, dag_id="d", run_id=night, trigger="scheduled",
                                     params={}, code_version="x")
        repository.save_result(engine, run_pk, result())
    url = ["--url", sqlite_url]
    assert main(["baseline", "accept", "cpu-bs1-fp32", "--from", "n2", "--reason",
                 "torch 2.16 on purpose", "--by", "ana", *url]) == 0
    assert "baseline level 1: cpu-bs1-fp32 on cpu=Test CPU" in capsys.readouterr().out
    assert main(["baseline", "list", *url]) == 0
    assert "by ana" in capsys.readouterr().out
    assert main(["baseline", "undo", "1", "--by", "bo", *url]) == 0
    assert main(["baseline", "list", "--all", *url]) == 0
    assert "undone by bo" in capsys.readouterr().out
    assert main(["baseline", "accept", "cuda-bs1-fp32", "--from", "n1", "--reason", "x",
                 *url]) == 2
    assert ("no stored series has case key 'cuda-bs1-fp32'; nearest: cpu-bs1-fp32"
            in capsys.readouterr().err)  # a typo stores no level that matches nothing
    assert main(["runs", "exclude", "n1", "--reason", "backup ran", "--by", "cy", *url]) == 0
    assert repository.find_run(engine, "n1").excluded_by == "cy"


@pytest.mark.parametrize("command", [
    ["runs", "exclude", "n1"],
    ["baseline", "accept", "cpu-bs1-fp32", "--from", "n1"],
    ["golden", "accept", "--from", "n1"],
])
def test_a_curation_with_a_blank_reason_is_refused_in_one_line(command, capsys, sqlite_url):
    # the reason is all a later reader of the history has to go on
    with pytest.raises(SystemExit) as stop:
        main([*command, "--reason", "  ", "--url", sqlite_url])
    assert stop.value.code == 2
    assert "argument --reason: a reason is required" in capsys.readouterr().err
