"""A PostgreSQL cluster of a test's own, for tests that stop the results database under a
running benchmark: the shared server on 5432 is never stopped.

initdb + pg_ctl (found under /usr/lib/postgresql/*/bin, or on PATH) on a free port, as the
unprivileged user `nobody` when the tests run as root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

UNPRIVILEGED = "nobody"


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrivatePostgres:
    folder: Path
    port: int = field(default_factory=_free_port)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = "segbench") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *cmd: str) -> None:
        as_user = {"user": UNPRIVILEGED} if os.geteuid() == 0 else {}
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=120,
                              cwd=self.folder, **as_user)  # type: ignore[call-overload]
        if done.returncode != 0:
            log = (self.folder / "postgres.log")
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}\n"
                               + (log.read_text()[-2000:] if log.exists() else ""))

    def init(self) -> None:
        self._run(_bin("initdb") or "initdb", "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.folder} -c fsync=off")
        self._run(_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-l",
                  str(self.folder / "postgres.log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: the server goes away as in a crash, dropping every connection."""
        self._run(_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str = "segbench") -> str:
        import psycopg2

        conn = psycopg2.connect(self.admin_url, connect_timeout=10)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)


def start_private_postgres() -> PrivatePostgres:
    """A running private cluster; skips (fails on CI) where PostgreSQL's programs are
    missing."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        message = "initdb/pg_ctl not found (PostgreSQL server programs are not installed)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    # under /tmp, not pytest's root-only tmp_path, so that `nobody` can reach it
    folder = Path(tempfile.mkdtemp(prefix="segbench-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(UNPRIVILEGED)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster = PrivatePostgres(folder)
    cluster.init()
    cluster.start()
    return cluster


def remove(cluster: PrivatePostgres) -> None:
    if cluster.is_running():
        try:
            cluster.stop()
        except RuntimeError:
            pass
    shutil.rmtree(cluster.folder, ignore_errors=True)
