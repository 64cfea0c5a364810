"""Finding uv, and giving it the package indexes pip is configured with.

uv reads none of pip's configuration, so without this it would resolve against PyPI alone:
on a machine whose pip points at local indexes (find-links, extra indexes, a constraint
file capping torch at the release on disk) it would download a 3 GB torch instead. The
settings are read from pip itself (`pip config list`, which folds in every config file and
the PIP_* variables), nothing is hard-coded.

    python -m segtasks.envs.uv --args             # print them, shell-quoted
    python -m segtasks.envs.uv pip install ...    # run uv with them (the Makefile does)

Standard library only: the Makefile runs this before the project's dependencies exist.
"""

from __future__ import annotations

import ast
import functools
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from segtasks.errors import SegbenchError


class UvMissing(SegbenchError):
    """uv, a dependency of segbench, is not installed where this interpreter can find it."""


def find_uv() -> str:
    """The uv binary: the `uv` package's (a dependency), else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if found is None:
        raise UvMissing(f"uv is not installed for {sys.executable} nor on PATH: it is a "
                        "dependency of segbench (make install, or pip install uv)")
    return found


@dataclass(frozen=True)
class IndexSettings:
    """Where packages come from, as pip is told, for uv."""

    index_url: str | None = None  # None: the registry (PyPI)
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()  # files
    no_index: bool = False
    cert: str | None = None  # a CA bundle
    timeout_s: str | None = None

    def args(self) -> list[str]:
        """uv pip's options for these settings."""
        out: list[str] = []
        if self.no_index:
            out.append("--no-index")
        elif self.index_url:
            out += ["--default-index", self.index_url]
        for url in self.extra_index_urls:
            out += ["--index", url]
        for place in self.find_links:
            out += ["--find-links", place]
        for path in self.constraints:
            out += ["--constraints", path]
        if self.extra_index_urls or self.find_links:
            # pip takes the best version across all its indexes; uv, by default, only looks
            # at the first index that has the package, so that a lock's version found only
            # on PyPI could not be installed beside a local index holding another one
            out += ["--index-strategy", "unsafe-best-match"]
        return out

    def env(self) -> dict[str, str]:
        """Variables uv reads for what pip has as options."""
        out = {}
        if self.cert:
            out["SSL_CERT_FILE"] = self.cert
        if self.timeout_s:
            out["UV_HTTP_TIMEOUT"] = self.timeout_s
        return out


# pip's option names (as in its config files) -> IndexSettings fields; lists are split on
# whitespace, as pip does
_LISTS = {"extra-index-url": "extra_index_urls", "find-links": "find_links",
          "constraint": "constraints"}
_SINGLE = {"index-url": "index_url", "cert": "cert", "timeout": "timeout_s",
           "default-timeout": "timeout_s"}
_TRUE = {"1", "true", "yes", "on"}


def settings_from(config: Mapping[str, str]) -> IndexSettings:
    """IndexSettings from `pip config list`'s entries (`section.key` -> value), with pip's
    precedence: a PIP_* variable (`:env:`), then the install command's section, then
    `global`."""
    def value(key: str) -> str | None:
        for section in (":env:", "install", "global"):
            if f"{section}.{key}" in config:
                return config[f"{section}.{key}"]
        return None

    fields: dict[str, object] = {}
    for key, field in _LISTS.items():
        found = value(key)
        if found is not None:
            fields[field] = tuple(found.split())
    for key, field in _SINGLE.items():
        found = value(key)
        if found is not None and field not in fields:
            fields[field] = found.strip() or None
    no_index = value("no-index")
    fields["no_index"] = no_index is not None and no_index.strip().lower() in _TRUE
    return IndexSettings(**fields)  # type: ignore[arg-type]


def parse_config_list(text: str) -> dict[str, str]:
    """`pip config list`'s lines, `global.find-links='/opt/wheels'`, as a dict."""
    entries = {}
    for line in text.splitlines():
        key, sep, raw = line.partition("=")
        if not sep:
            continue
        try:
            entries[key.strip()] = str(ast.literal_eval(raw.strip()))
        except (ValueError, SyntaxError):
            entries[key.strip()] = raw.strip()
    return entries


def _env_entries() -> dict[str, str]:
    """The PIP_* variables as `pip config list` shows them, for when pip cannot be run."""
    return {f":env:.{name[4:].lower().replace('_', '-')}": value
            for name, value in os.environ.items() if name.startswith("PIP_")}


@functools.cache
def pip_settings() -> IndexSettings:
    """This machine's pip index settings (its config files and PIP_* variables); the
    variables alone where pip is not installed for this interpreter."""
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0:
        return settings_from(_env_entries())
    return settings_from(parse_config_list(done.stdout))


# uv pip's commands that install packages into an environment
_INSTALLING = frozenset({"install", "sync"})


def uv_pip(subcommand: str, args: Sequence[str], settings: IndexSettings | None = None,
           *, compile_bytecode: bool = True) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of `uv pip SUBCOMMAND` with the index settings.

    Installs compile every module to bytecode, as pip does by default and uv does not:
    where PYTHONDONTWRITEBYTECODE is set (this VM, CI, most container images), Python
    writes no .pyc of its own, so without them every case process compiled torch, timm and
    Airflow from source again (a tiny case's process: 21.5 s of CPU against 13.9 s
    compiled on this VM, benchmarks/case_startup.py). `compile_bytecode=False` leaves it
    to the caller: a recorded environment keeps the bytecode its processes write instead
    (segtasks.envs.build), a fraction of the whole environment's."""
    chosen = pip_settings() if settings is None else settings
    compiled = ["--compile-bytecode"] if subcommand in _INSTALLING and compile_bytecode else []
    return ([find_uv(), "pip", subcommand, *chosen.args(), *compiled, *args],
            {**os.environ, **chosen.env()})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--args"]:
        print(shlex.join(pip_settings().args()))
        return 0
    if len(args) < 2 or args[0] != "pip":
        print("usage: python -m segtasks.envs.uv --args | pip SUBCOMMAND [ARGS...]",
              file=sys.stderr)
        return 2
    try:
        cmd, env = uv_pip(args[1], args[2:])
    except UvMissing as exc:
        print(f"segbench: error: {exc}", file=sys.stderr)
        return 2
    os.execve(cmd[0], cmd, env)  # uv in this process's place: signals and exit status as its


if __name__ == "__main__":
    sys.exit(main())
