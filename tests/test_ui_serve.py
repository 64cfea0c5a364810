"""`segbench serve`: the pages without Airflow, local and read-only unless told otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ui_history import fill

from segtasks import cli
from segtasks.ui import engines
from segtasks.ui.serve import allowed_hosts, is_local, make_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def stored(sqlite_url):
    from segtasks import store

    store.upgrade(sqlite_url)
    found = fill(sqlite_url)
    yield found
    engines.dispose(sqlite_url)


@pytest.mark.parametrize(("host", "local"), [("127.0.0.1", True), ("localhost", True),
                                             ("::1", True), ("0.0.0.0", False),
                                             ("192.168.1.5", False), ("bench.lan", False)])
def test_only_loopback_addresses_are_local(host, local):
    assert is_local(host) is local


def test_edits_on_a_network_address_are_refused_with_the_reason(sqlite_url, capsys):
    code = cli.main(["serve", "--url", sqlite_url, "--host", "0.0.0.0", "--allow-edits"])
    assert code == 2
    assert "--allow-edits needs a local --host" in capsys.readouterr().err


def test_an_address_that_cannot_be_listened_on_is_one_line(sqlite_url, capsys):
    # uvicorn exits 3 after its own log line, and waits forever on a port out of range
    from segtasks import store

    store.upgrade(sqlite_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--url", sqlite_url, "--port", str(port)]) == 2
        assert capsys.readouterr().err == (
            f"segbench: error: cannot serve on 127.0.0.1:{port}: Address already in use\n")
    assert cli.main(["serve", "--url", sqlite_url, "--port", "99999"]) == 2
    assert capsys.readouterr().err == (
        "segbench: error: --port 99999 is not a TCP port (1 to 65535)\n")


def test_a_page_asking_for_another_host_name_is_refused(stored):
    app = make_app(stored.url, host="127.0.0.1", allow_edits=False, user="me")
    assert TestClient(app, base_url="http://127.0.0.1:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://localhost:8765").get("/").status_code == 200
    # DNS rebinding: a hostile name resolving to 127.0.0.1 still says its own name
    assert TestClient(app, base_url="http://evil.example:8765").get("/").status_code == 400
    assert allowed_hosts("0.0.0.0") == ["*"]


def test_edits_are_recorded_under_the_name_the_server_was_given(stored):
    from sqlalchemy import text

    from segtasks import store

    app = make_app(stored.url, host="127.0.0.1", allow_edits=True, user="carol")
    c = TestClient(app, base_url="http://127.0.0.1:8765")
    r = c.post("/actions/exclude", data={"run": stored.last, "reason": "noisy neighbour",
                                         "case_key": "cpu-bs1-fp32",
                                         "hardware_key": stored.hardware},
               follow_redirects=False)
    assert r.status_code == 303
    with store.connect(stored.url).connect() as conn:
        assert conn.execute(text("SELECT excluded_by FROM runs WHERE id = :pk"),
                            {"pk": stored.last}).scalar() == "carol"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_segbench_serve_serves_the_pages_read_only_on_localhost(stored, tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "segtasks.cli", "serve", "--url", stored.url, "--port",
         str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                page = urllib.request.urlopen(f"{base}/", timeout=5).read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "segbench serve did not answer in 30 s"
                time.sleep(0.3)
        assert "Benchmark overview" in page and "read only" in page
        request = urllib.request.Request(f"{base}/actions/exclude", method="POST",
                                         data=b"run=1&reason=x&case_key=cpu-bs1-fp32"
                                              b"&hardware_key=h")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 403
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "segbench pages on http://localhost:" in process.stdout.read()  # type: ignore[union-attr]
