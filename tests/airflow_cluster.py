"""Airflow's real distributed components as local processes, for integration tests.

CeleryExecutor, the local Redis as broker, a fresh PostgreSQL database as the metadata DB;
api-server, scheduler, dag-processor and one Celery worker per queue. Everything it starts
is stopped by `stop()`, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = [sys.executable, "-m", "airflow"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    home: Path
    metadata_url: str
    results_url: str
    broker_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    # one secret for every component, or the workers' tokens are refused
    jwt_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL":
                f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata_url,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__CORE__FERNET_KEY": "",
            # only manual triggers: a scheduled run would start the full default grid
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "SEGBENCH_DB_URL": self.results_url,
            "SEGBENCH_RETRY_DELAY_SECONDS": "2",
            **self.extra_env,
        })
        return env

    def run(self, *args: str) -> str:
        done = subprocess.run([*AIRFLOW, *args], env=self.env, capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self, name: str, *args: str) -> None:
        log = open(self.home / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            [*AIRFLOW, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches its children
        )

    def start_worker(self, queue: str, name: str | None = None) -> str:
        """A Celery worker of one slot on `queue`; returns its process name."""
        kind = "gpu" if queue == "gpu" else "cpu"
        name = name or f"worker-{kind}"
        self.start(name, "celery", "worker", "-q", queue, "-c", "1",
                   "-H", f"{name}@%h", "--skip-serve-logs")
        return name

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def wait_for(self, what: str, check, timeout_s: float, every_s: float = 2.0):  # noqa: ANN001
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited while waiting for {what}:\n"
                                   + "\n".join(self.log(n)[-3000:] for n in dead))
            try:
                value = check()
                if value:
                    return value
            except (urllib.error.URLError, ConnectionError, OSError, KeyError) as exc:
                last_error = exc
            time.sleep(every_s)
        raise TimeoutError(f"{what} not reached within {timeout_s:.0f} s (last: {last_error})")


def redis_url() -> str:
    """The local Redis, database 7, emptied: no message of an earlier run is picked up."""
    import pytest
    import redis

    url = "redis://127.0.0.1:6379/7"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {url} is not reachable: {exc}")
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    return url


@contextlib.contextmanager
def celery_cluster(home: Path, results_url: str, extra_env: dict[str, str],
                   queues: tuple[str, ...] = ("default", "gpu")) -> Iterator[Cluster]:
    """api-server, scheduler, dag-processor and one Celery worker per queue (named
    `worker-cpu` for `default`, `worker-gpu` for `gpu`), on a fresh PostgreSQL metadata
    database and the local Redis; all stopped and the database dropped afterwards."""
    from conftest import PG_ADMIN_URL, _pg_admin

    from segtasks import store

    broker = redis_url()
    metadata = f"segbench_test_airflow_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{metadata}"')
    store.upgrade(results_url)
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
    home.mkdir(exist_ok=True)
    cluster = Cluster(home=home, metadata_url=f"{base}/{metadata}", results_url=results_url,
                      broker_url=broker, extra_env=extra_env)
    try:
        cluster.run("db", "migrate")
        cluster.run("pools", "set", "cpu_bench", "1", "one CPU benchmark at a time")
        cluster.run("pools", "set", "gpu_bench", "1", "one benchmark per GPU")
        cluster.start("api-server", "api-server", "--port", str(cluster.port))
        cluster.start("scheduler", "scheduler")
        cluster.start("dag-processor", "dag-processor")
        for queue in queues:
            cluster.start_worker(queue)
        yield cluster
    finally:
        cluster.stop()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{metadata}" WITH (FORCE)')
        admin.close()
