"""`segbench env snapshot|build|list|diff`."""

from __future__ import annotations

import platform
from pathlib import Path

from segtasks.cli import main
from segtasks.envs.lock import Lock
from segtasks.envs.planted import lock_with, planted_slowdown_wheel
from segtasks.envs.snapshot import current
from segtasks.store import connect
from segtasks.store.locks import get_lock, save_lock


def test_snapshot_records_this_environment_under_a_name(sqlite_url_at_head, capsys):
    assert main(["env", "snapshot", "--name", "tonight", "--url", sqlite_url_at_head]) == 0
    lock = current()
    assert capsys.readouterr().out.startswith(
        f"stored lock {lock.short} as 'tonight': Python {lock.python_version}, "
        f"{len(lock.packages)} packages")
    assert get_lock(connect(sqlite_url_at_head), "tonight") == lock
    assert main(["env", "list", "--url", sqlite_url_at_head]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{lock.short} tonight: Python {lock.python_version}, "
                           f"{len(lock.packages)} packages")
    assert "; snapshot " in line


def test_list_with_nothing_stored(sqlite_url_at_head, capsys):
    assert main(["env", "list", "--url", sqlite_url_at_head]) == 0
    assert capsys.readouterr().out.startswith("no stored lock yet")


def test_diff_lists_the_packages_that_differ(sqlite_url_at_head, capsys, tmp_path):
    engine = connect(sqlite_url_at_head)
    treatment = lock_with(current(), planted_slowdown_wheel(5, tmp_path))
    save_lock(engine, treatment, origin="snapshot", name="slow")
    assert main(["env", "diff", "current", "slow", "--url", sqlite_url_at_head]) == 0
    assert capsys.readouterr().out == "segbench-planted-slowdown absent -> 5.0\n"
    assert main(["env", "diff", treatment.sha256[:8], "current", "--url",
                 sqlite_url_at_head]) == 0
    assert capsys.readouterr().out == "segbench-planted-slowdown 5.0 -> absent\n"
    assert main(["env", "diff", "current", "current", "--url", sqlite_url_at_head]) == 0
    assert "hold the same interpreter and packages" in capsys.readouterr().out


def test_an_unknown_ref_is_one_line_naming_the_nearest(sqlite_url_at_head, capsys):
    save_lock(connect(sqlite_url_at_head), current(), origin="snapshot", name="baseline")
    assert main(["env", "diff", "baselin", "current", "--url", sqlite_url_at_head]) == 2
    err = capsys.readouterr().err
    assert err.startswith("segbench: error: no stored lock is named 'baselin'")
    assert "nearest: baseline" in err and err.count("\n") == 1


def test_build_prints_the_interpreter_of_the_built_lock(sqlite_url_at_head, capsys, tmp_path,
                                                        uv_cache):
    # the planted wheel alone: a file of its own, no index needed
    lock = lock_with(Lock(platform.python_version(), ()), planted_slowdown_wheel(1, tmp_path))
    save_lock(connect(sqlite_url_at_head), lock, origin="snapshot", name="planted")
    assert main(["env", "build", "planted", "--url", sqlite_url_at_head]) == 0
    python = Path(capsys.readouterr().out.strip())
    # SEGBENCH_HOME is the test's folder (conftest): var/envs/<lock> there
    assert python == tmp_path / "var" / "envs" / lock.short / "bin" / "python"
    assert python.is_file()
    assert main(["env", "build", lock.sha256, "--url", sqlite_url_at_head]) == 0
    assert capsys.readouterr().out.strip() == str(python)


def test_snapshot_of_another_interpreter(sqlite_url_at_head, capsys, tmp_path, uv_cache):
    from segtasks.envs.build import build

    lock = lock_with(Lock(platform.python_version(), ()), planted_slowdown_wheel(2, tmp_path))
    python = build(lock, tmp_path / "envs")
    assert main(["env", "snapshot", "--python", str(python), "--url",
                 sqlite_url_at_head]) == 0
    assert capsys.readouterr().out.startswith(f"stored lock {lock.short}: Python ")
    assert get_lock(connect(sqlite_url_at_head), lock.short).sha256 == lock.sha256
