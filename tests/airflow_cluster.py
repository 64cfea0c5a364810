"""Airflow's real distributed components as local processes, for integration tests.

CeleryExecutor, the local Redis as broker, a fresh PostgreSQL database as the metadata DB;
api-server, scheduler, dag-processor and one Celery worker per queue. Everything it starts
is stopped by `stop()`, whatever happened.

Starting one costs the better part of a minute (Airflow's migrations on PostgreSQL, four
processes importing Airflow), so a pytest session starts one (conftest's `celery`
fixture) and each test gets it back as it was: the same components, a fresh worker for a
queue whose worker a test killed, its own results database (the `segbench_db`
connection, set through the REST API) and logs that start with the test.
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
    # where each process's log stood when the current test began (see `begin_test`)
    log_marks: dict[str, int] = field(default_factory=dict)

    @property
    def one_off_delay_file(self) -> Path | None:
        """Where a test writes a slowdown (ms per batch) that only the next case process
        to start measuring takes (segtasks.measure.planted), when the cluster has one."""
        name = self.extra_env.get("SEGBENCH_TEST_ONE_OFF_DELAY_FILE")
        return Path(name) if name else None

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
        """What the process wrote since the current test began."""
        with open(self.home / f"{name}.log", "rb") as log:
            log.seek(self.log_marks.get(name, 0))
            return log.read().decode(errors="replace")

    def begin_test(self, queues: tuple[str, ...], results_url: str) -> None:
        """The cluster as a new test expects it: the core components alive, one worker
        named `worker-cpu`/`worker-gpu` per queue (a killed one replaced, an extra one
        stopped), results stored in `results_url`, logs read from here on."""
        core = ("api-server", "scheduler", "dag-processor")
        dead = [n for n in core if self.processes[n].poll() is not None]
        if dead:
            raise RuntimeError(f"{dead} of the session's Celery cluster exited:\n"
                               + "\n".join(self.log(n)[-3000:] for n in dead))
        wanted = {("worker-gpu" if q == "gpu" else "worker-cpu"): q for q in queues}
        for name in [n for n in self.processes if n not in core and n not in wanted]:
            self._stop_one(self.processes.pop(name))
        for name, queue in wanted.items():
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                self.start_worker(queue, name)
        self.use_results_database(results_url)
        self.log_marks = {name: (self.home / f"{name}.log").stat().st_size
                          for name in self.processes}

    def use_results_database(self, url: str) -> None:
        """The `segbench_db` connection (which the DAG prefers to $SEGBENCH_DB_URL), set
        to `url` through the REST API: every task from now on reads it."""
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        with contextlib.suppress(urllib.error.HTTPError):  # 404: not defined yet
            self.api("DELETE", "/api/v2/connections/segbench_db")
        self.api("POST", "/api/v2/connections", {
            "connection_id": "segbench_db", "conn_type": "postgres",
            "host": parts.hostname, "port": parts.port, "login": parts.username,
            "password": parts.password, "schema": parts.path.lstrip("/")})

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            self._wait_or_kill(process, deadline)

    def _stop_one(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        self._wait_or_kill(process, time.monotonic() + 30)

    @staticmethod
    def _wait_or_kill(process: subprocess.Popen, deadline: float) -> None:
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


# Redis databases a cluster may use; 0 is everyone's default and 7 the one older
# checkouts of this suite use without claiming it.
REDIS_DATABASES = (8, 9, 10, 11, 12, 13, 14, 15, 1, 2, 3, 4, 5, 6)
_CLAIM = "segbench-test-cluster"


def claim_redis() -> str:
    """A database of the local Redis that no other running cluster uses (claimed with a
    key, SET NX, for two hours at most), emptied: the Celery queues are named by the DAG
    (`default`, `gpu`), so two clusters on one database would take each other's tasks.
    Give it back with `release_redis`."""
    import redis
    from databases import unavailable

    for number in REDIS_DATABASES:
        url = f"redis://127.0.0.1:6379/{number}"
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=3)
            if client.set(_CLAIM, os.getpid(), nx=True, ex=7200):
                client.flushdb()  # no message of an earlier run is picked up
                client.set(_CLAIM, os.getpid(), ex=7200)
                return url
        except redis.exceptions.ConnectionError as exc:
            unavailable(f"Redis at {url} is not reachable: {exc}")
    raise RuntimeError(f"every Redis database {REDIS_DATABASES} is claimed by a cluster")


def release_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()


@contextlib.contextmanager
def celery_cluster(home: Path, results_url: str, extra_env: dict[str, str],
                   queues: tuple[str, ...] = ("default", "gpu")) -> Iterator[Cluster]:
    """api-server, scheduler, dag-processor and one Celery worker per queue (named
    `worker-cpu` for `default`, `worker-gpu` for `gpu`), on a fresh PostgreSQL metadata
    database and the local Redis, the API answering, the pools set and the DAG parsed;
    all stopped and the database dropped afterwards. `results_url` (at head) is where
    results go unless a test sets the `segbench_db` connection."""
    from databases import PG_ADMIN_URL, pg_admin

    broker = claim_redis()
    metadata = f"segbench_test_airflow_{uuid.uuid4().hex[:8]}"
    admin = pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{metadata}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
    home.mkdir(exist_ok=True)
    cluster = Cluster(home=home, metadata_url=f"{base}/{metadata}", results_url=results_url,
                      broker_url=broker, extra_env=extra_env)
    try:
        cluster.run("db", "migrate")
        cluster.start("api-server", "api-server", "--port", str(cluster.port))
        cluster.start("scheduler", "scheduler")
        cluster.start("dag-processor", "dag-processor")
        for queue in queues:
            cluster.start_worker(queue)
        cluster.wait_for("the API", lambda: cluster.api("GET", "/api/v2/monitor/health"), 180)
        # through the API, not two more `airflow pools set` processes (seconds each)
        for pool, why in (("cpu_bench", "one CPU benchmark at a time"),
                          ("gpu_bench", "one benchmark per GPU")):
            cluster.api("POST", "/api/v2/pools", {"name": pool, "slots": 1,
                                                  "description": why})
        cluster.wait_for("the DAG to be parsed",
                         lambda: cluster.api("GET", "/api/v2/dags/segbench_nightly"), 180)
        yield cluster
    finally:
        cluster.stop()
        release_redis(broker)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{metadata}" WITH (FORCE)')
        admin.close()
