"""Real environments built with uv from a lock: once, atomically, offline from uv's cache
when the registry is out of reach, and one line naming what neither has."""

from __future__ import annotations

import json
import logging
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from segtasks.envs import build as build_module
from segtasks.envs.build import MARKER, EnvironmentBuildFailed, build, env_dir, interpreter
from segtasks.envs.lock import Lock, Package
from segtasks.envs.planted import lock_with, planted_slowdown_wheel
from segtasks.envs.snapshot import current, snapshot
from segtasks.envs.uv import IndexSettings

from .conftest import ALPHA, BETA, GAMMA
from .tiny_index import ServedIndex

PYTHON = platform.python_version()


def _settings(index: ServedIndex) -> IndexSettings:
    return IndexSettings(index_url=index.url)


def _modules_at_start(python: Path) -> set[str]:
    done = subprocess.run([str(python), "-c", "import json, sys; print(json.dumps(sorted("
                           "sys.modules)))"], capture_output=True, text=True, check=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    return set(json.loads(done.stdout))


def test_a_lock_becomes_an_environment_once(index, tmp_path, monkeypatch):
    lock = lock_with(Lock(PYTHON, (ALPHA,)), planted_slowdown_wheel(5, tmp_path / "wheels"))
    python = build(lock, tmp_path / "envs", settings=_settings(index))
    assert python == env_dir(lock, tmp_path / "envs") / "bin" / "python"
    assert snapshot(str(python)).sha256 == lock.sha256  # exactly the lock, nothing else
    marker = json.loads((python.parents[1] / MARKER).read_text())
    assert Lock.from_dict(marker) == lock
    assert [p.name for p in (tmp_path / "envs").iterdir() if p.is_dir()] == [lock.short]

    def no_uv() -> str:
        raise AssertionError("a built lock must not run uv again")

    monkeypatch.setattr(build_module, "find_uv", no_uv)
    assert build(lock, tmp_path / "envs", settings=_settings(index)) == python


def test_the_planted_pth_imports_nothing_heavy_at_start_up(index, tmp_path):
    plain = build(Lock(PYTHON, (ALPHA,)), tmp_path / "envs", settings=_settings(index))
    planted = build(lock_with(Lock(PYTHON, (ALPHA,)),
                              planted_slowdown_wheel(5, tmp_path / "wheels")),
                    tmp_path / "envs", settings=_settings(index))
    added = _modules_at_start(planted) - _modules_at_start(plain)
    assert "segbench_planted_slowdown" in added
    # the hook only: standard-library modules, no torch, no smp, no numpy
    stdlib = set(sys.stdlib_module_names)
    assert {m for m in added if m.split(".")[0] not in stdlib} == {
        "segbench_planted_slowdown"}, added


def test_a_registry_out_of_reach_falls_back_to_uvs_cache(index, tmp_path, caplog):
    build(Lock(PYTHON, (ALPHA,)), tmp_path / "envs", settings=_settings(index))  # fills it
    index.stop()
    other = Lock(PYTHON, (ALPHA, Package("segbench-test-local", "0.1",
                                         _local_wheel(tmp_path))))
    with caplog.at_level(logging.WARNING, logger=build_module.__name__):
        python = build(other, tmp_path / "envs", settings=_settings(index))
    assert snapshot(str(python)).sha256 == other.sha256
    assert any("trying again offline" in r.getMessage() for r in caplog.records)


def _local_wheel(tmp_path: Path) -> str:
    from segtasks.envs.wheels import write_wheel

    wheel = write_wheel(tmp_path / "local", "segbench-test-local", "0.1",
                        {"segbench_test_local.py": ""})
    return wheel.resolve().as_uri()


def test_what_neither_the_registry_nor_the_cache_has_is_named_on_one_line(index, tmp_path):
    build(Lock(PYTHON, (ALPHA,)), tmp_path / "envs", settings=_settings(index))
    index.stop()
    lock = Lock(PYTHON, (ALPHA, BETA, GAMMA))
    with pytest.raises(EnvironmentBuildFailed) as failed:
        build(lock, tmp_path / "envs", settings=_settings(index))
    message = str(failed.value)
    assert "\n" not in message
    assert message == (f"cannot build lock {lock.short}: the registry cannot be reached and "
                       "uv's cache lacks segbench-test-beta==2.0, segbench-test-gamma==3.0")
    # nothing half-built is left to look done
    assert not env_dir(lock, tmp_path / "envs").exists()
    assert not list((tmp_path / "envs").glob(".building-*"))


def test_a_version_the_registry_does_not_have_is_named(index, tmp_path):
    lock = Lock(PYTHON, (ALPHA, Package("segbench-test-alpha-two", "9.9")))
    with pytest.raises(EnvironmentBuildFailed, match=(
            r"neither the registry nor uv's cache has segbench-test-alpha-two==9\.9$")):
        build(lock, tmp_path / "envs", settings=_settings(index))


def test_a_killed_builds_leftovers_are_removed_and_built_over(index, tmp_path):
    lock = Lock(PYTHON, (ALPHA,))
    folder = env_dir(lock, tmp_path / "envs")
    (folder / "bin").mkdir(parents=True)  # no marker: never finished (say, copied by hand)
    staging = tmp_path / "envs" / f".building-{lock.short}-999999"
    (staging / "lib").mkdir(parents=True)
    python = build(lock, tmp_path / "envs", settings=_settings(index))
    assert python.is_file() and (folder / MARKER).is_file()
    assert not staging.exists()


def test_two_processes_building_one_lock_build_it_once(index, tmp_path):
    lock = Lock(PYTHON, (ALPHA, BETA))
    script = ("import sys\nfrom pathlib import Path\n"
              "from segtasks.envs.build import build\nfrom segtasks.envs.lock import Lock\n"
              "from segtasks.envs.uv import IndexSettings\nimport json\n"
              "lock = Lock.from_dict(json.loads(sys.argv[1]))\n"
              "print(build(lock, Path(sys.argv[2]), settings=IndexSettings(index_url="
              "sys.argv[3])))\n")
    args = [sys.executable, "-c", script, json.dumps(lock.to_dict()), str(tmp_path / "envs"),
            index.url]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outs
    assert {out.strip() for out, _ in outs} == {str(env_dir(lock, tmp_path / "envs")
                                                    / "bin" / "python")}
    assert snapshot(outs[0][0].strip()).sha256 == lock.sha256


def test_the_interpreter_of_this_environments_lock_is_this_one(index, tmp_path, monkeypatch):
    assert interpreter(current()) == sys.executable
    monkeypatch.setenv("SEGBENCH_HOME", str(tmp_path))
    monkeypatch.setattr(build_module, "pip_settings", lambda: _settings(index))
    other = Lock(PYTHON, (ALPHA,))
    assert interpreter(other) == str(tmp_path / "var" / "envs" / other.short / "bin" / "python")


def test_a_recorded_environments_process_keeps_its_bytecode_in_that_environment(tmp_path):
    from segtasks.envs.build import BYTECODE_FOLDER
    from segtasks.launch.isolated import harness_env

    assert harness_env(None) == harness_env(sys.executable) == {}  # tonight's own: as is
    python = tmp_path / "envs" / "0123456789ab" / "bin" / "python"
    env = harness_env(str(python))
    # written even where PYTHONDONTWRITEBYTECODE is set outside, into its own folder
    assert env["PYTHONDONTWRITEBYTECODE"] == ""
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / "envs" / "0123456789ab" / BYTECODE_FOLDER)
    assert env["PYTHONPATH"].split(":")[0] == str(Path(__file__).resolve().parents[2])
