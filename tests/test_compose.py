"""docker-compose.yaml and the image, checked without a Docker engine (there is none here)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler",
                    "airflow-dag-processor", "airflow-triggerer", "worker-cpu", "worker-gpu")
SECRET = re.compile(r"PASSWORD|SECRET|FERNET|SQL_ALCHEMY_CONN|BACKEND|AIRFLOW_CONN_|DB_URL")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_every_service_is_there(compose):
    assert set(compose["services"]) == {"postgres", "redis", *AIRFLOW_SERVICES}


def test_every_airflow_service_shares_the_common_environment(compose):
    common = compose["x-airflow-common"]["environment"]
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert {k: env.get(k) for k in common} == common, name
        assert compose["services"][name]["image"] == "segbench-airflow:latest"


def test_secrets_come_from_variables_never_from_the_file(compose):
    envs = [compose["x-airflow-common"]["environment"],
            compose["services"]["postgres"]["environment"]]
    for env in envs:
        for key, value in env.items():
            if SECRET.search(key):
                assert "${" in str(value), f"{key} holds a literal secret"
    example = (ROOT / ".env.example").read_text()
    for variable in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY",
                     "POSTGRES_PASSWORD", "SEGBENCH_DB_PASSWORD", "SEGBENCH_READER_PASSWORD"):
        assert re.search(rf"^{variable}=change-me", example, re.M), variable
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_workers_keep_devices_exclusive(compose):
    cpu, gpu = compose["services"]["worker-cpu"], compose["services"]["worker-gpu"]
    assert cpu["command"] == "celery worker --queues default --concurrency 1"
    assert gpu["command"] == "celery worker --queues gpu --concurrency 1"
    assert gpu["profiles"] == ["gpu"] and "profiles" not in cpu
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]


def test_long_running_services_have_health_checks(compose):
    for name, service in compose["services"].items():
        if name != "airflow-init":
            assert service["healthcheck"]["test"], name


def test_the_image_is_pinned_to_the_airflow_we_test_with():
    from importlib.metadata import version

    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert f"ARG AIRFLOW_VERSION={version('apache-airflow')}" in dockerfile
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in dockerfile
    assert '"apache-airflow==${AIRFLOW_VERSION}" /opt/segbench' in dockerfile


def test_docker_compose_accepts_the_file_where_compose_is_installed(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"],
                                        capture_output=True).returncode != 0:
        pytest.skip("no docker compose plugin on this machine")
    done = subprocess.run([docker, "compose", "--env-file", str(ROOT / ".env.example"),
                           "-f", str(ROOT / "docker-compose.yaml"), "config", "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
