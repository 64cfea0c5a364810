"""uv is given pip's package indexes, read from pip itself (config files and PIP_* variables)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from segtasks.envs import uv
from segtasks.envs.uv import IndexSettings, parse_config_list, settings_from

ROOT = Path(__file__).resolve().parents[2]


def test_pip_config_list_becomes_uv_options_with_pip_precedence():
    listed = parse_config_list(
        "global.extra-index-url='file:///a/simple file:///b/simple'\n"
        "global.find-links='/w'\n"
        "global.constraint='/etc/c.txt'\n"
        "global.index-url='https://global.example/simple'\n"
        "install.index-url='https://install.example/simple'\n"
        ":env:.find-links='/env-wheels'\n"
        ":env:.cert='/ca.crt'\n"
        ":env:.default-timeout='180'\n")
    settings = settings_from(listed)
    assert settings == IndexSettings(
        index_url="https://install.example/simple",  # the install section over global
        extra_index_urls=("file:///a/simple", "file:///b/simple"),
        find_links=("/env-wheels",),  # a PIP_* variable over the files
        constraints=("/etc/c.txt",), cert="/ca.crt", timeout_s="180")
    assert settings.args() == [
        "--default-index", "https://install.example/simple",
        "--index", "file:///a/simple", "--index", "file:///b/simple",
        "--find-links", "/env-wheels", "--constraints", "/etc/c.txt",
        "--index-strategy", "unsafe-best-match"]
    assert settings.env() == {"SSL_CERT_FILE": "/ca.crt", "UV_HTTP_TIMEOUT": "180"}


def test_no_index_and_the_registry_alone():
    assert settings_from({":env:.no-index": "1", "global.index-url": "x"}).args() == [
        "--no-index"]
    assert settings_from({}).args() == []  # the registry, one index: uv's default strategy


def test_the_settings_come_from_pip_and_its_variables(monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")  # pip reads no config file then
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "/some/wheels /more/wheels")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_CONSTRAINT", raising=False)
    uv.pip_settings.cache_clear()
    try:
        settings = uv.pip_settings()
    finally:
        uv.pip_settings.cache_clear()  # the next caller reads this machine's own again
    assert settings.index_url == "http://127.0.0.1:9/simple"
    assert settings.find_links == ("/some/wheels", "/more/wheels")
    assert settings.extra_index_urls == () and settings.constraints == ()


def test_python_m_segtasks_envs_uv_prints_the_options(capsys):
    assert uv.main(["--args"]) == 0
    assert capsys.readouterr().out.strip() == " ".join(uv.pip_settings().args())
    assert uv.main(["sync"]) == 2  # not a uv pip command


def test_uv_missing_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "uv", None)  # the package not installed
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(uv.UvMissing, match="uv is not installed"):
        uv.find_uv()


def test_uv_runs_with_the_settings_of_pip_through_the_module(index, tmp_path):
    # what the Makefile does: `python -m segtasks.envs.uv pip install ...`
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": index.url}
    env.pop("PIP_FIND_LINKS", None)
    done = subprocess.run([sys.executable, "-m", "segtasks.envs.uv", "pip", "compile",
                           "--no-header", "-"], input="segbench-test-alpha\n",
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "segbench-test-alpha==1.0" in done.stdout  # found only on that index


@pytest.mark.parametrize(("subcommand", "compiles"),
                         [("install", True), ("sync", True), ("compile", False)])
def test_installs_compile_bytecode_as_pip_does(subcommand, compiles):
    # with PYTHONDONTWRITEBYTECODE set, a module without its .pyc is compiled from source in
    # every process that imports it
    cmd, _ = uv.uv_pip(subcommand, ["x"], uv.IndexSettings())
    assert ("--compile-bytecode" in cmd) is compiles
    assert cmd[-1] == "x" and cmd[1:3] == ["pip", subcommand]
    # a recorded environment is built without: its processes keep what they import
    cmd, _ = uv.uv_pip(subcommand, ["x"], uv.IndexSettings(), compile_bytecode=False)
    assert "--compile-bytecode" not in cmd
