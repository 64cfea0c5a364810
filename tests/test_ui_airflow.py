"""The results pages behind Airflow's own authentication: every route and every action,
without credentials (401 and nothing else), with a bad token, without the right (403),
and with it; plus the plugin as Airflow's api-server mounts it.

Tokens are real JWTs signed by the simple auth manager, checked by Airflow's `get_user`
and `requires_access_dag` against a migrated Airflow metadata database.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from ui_history import DAG_ID, fill, run_id

from segtasks.ui import engines
from segtasks.ui.settings import UiSettings

JWT_SECRET = "segbench-ui-test-secret-" + "0123456789abcdef" * 4  # HS512 wants >= 64 bytes
H = "cpu=Test CPU (2 threads); gpu=none"


@pytest.fixture
def auth_manager(airflow_db, monkeypatch):
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app

    purge_cached_app()
    yield init_auth_manager()
    purge_cached_app()


@pytest.fixture
def stored(db_url):
    found = fill(db_url)
    yield found
    engines.dispose(db_url)


def token(manager, name: str, role: str | None) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return manager.generate_jwt(SimpleAuthManagerUser(username=name, role=role))


def bearer(manager, name: str, role: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(manager, name, role)}"}


@pytest.fixture
def app(stored, auth_manager):
    from segtasks.ui.airflow_access import AirflowAccess
    from segtasks.ui.app import build_app

    settings = UiSettings(writer_url=stored.url, reader_url=stored.url, airflow_url="")
    return build_app(lambda: settings, AirflowAccess(DAG_ID))


def read_routes(stored) -> list[str]:
    run = quote(run_id(4), safe="")
    return ["/", f"/dags/{DAG_ID}", f"/dags/{DAG_ID}/runs/{run}", f"/runs/{stored.last}",
            "/series/cpu-bs1-fp32", "/compare", "/static/charts.js",
            "/static/uPlot.iife.min.js", "/api/overview", f"/api/runs/{stored.last}",
            f"/api/dags/{DAG_ID}/runs/{run}", "/api/series/cpu-bs1-fp32", "/api/compare"]


def actions(stored) -> list[tuple[str, dict]]:
    series = {"case_key": "cpu-bs1-fp32", "hardware_key": H}
    return [("/actions/exclude", {"run": stored.last, "reason": "busy machine", **series}),
            ("/actions/include", {"run": stored.last, **series}),
            ("/actions/accept-level", {"run": stored.last, "reason": "on purpose", **series}),
            ("/actions/undo-level", {"level": 1, **series})]


def test_without_credentials_every_route_and_action_is_401_and_nothing_else(app, stored):
    c = TestClient(app)
    for path in read_routes(stored):
        r = c.get(path)
        assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"}), path
    for path, form in actions(stored):
        r = c.post(path, data=form)
        assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"}), path


def test_a_forged_or_expired_token_is_refused(app, stored, auth_manager):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    c = TestClient(app)
    expired = auth_manager.generate_jwt(SimpleAuthManagerUser(username="vic", role="viewer"),
                                        expiration_time_in_seconds=-100)
    for path in read_routes(stored)[:3]:
        assert c.get(path, headers={"Authorization": "Bearer not-a-jwt"}).status_code == 403
        assert c.get(path, headers={"Authorization": f"Bearer {expired}"}).status_code == 401
        c.cookies.set("_token", "forged")
        assert c.get(path).status_code == 403
        c.cookies.clear()


def test_a_user_without_read_access_to_the_dag_gets_403_everywhere(app, stored, auth_manager):
    c = TestClient(app, headers=bearer(auth_manager, "nobody", None))
    for path in read_routes(stored):
        r = c.get(path)
        assert (r.status_code, r.json()) == (403, {"detail": "Forbidden"}), path
    for path, form in actions(stored):
        assert c.post(path, data=form).status_code == 403, path


def test_a_viewer_reads_every_page_but_may_not_act(app, stored, auth_manager):
    c = TestClient(app, headers=bearer(auth_manager, "vic", "viewer"))
    for path in read_routes(stored):
        assert c.get(path).status_code == 200, path
    page = c.get("/series/cpu-bs1-fp32").text
    assert "vic · read only" in page and '<form method="post"' not in page
    for path, form in actions(stored):
        r = c.post(path, data=form)
        assert (r.status_code, r.json()) == (403, {"detail": "Forbidden"}), path


def test_the_session_cookie_of_airflows_ui_is_enough_inside_its_frame(app, stored,
                                                                      auth_manager):
    c = TestClient(app)
    c.cookies.set("_token", token(auth_manager, "vic", "viewer"))
    assert c.get(f"/dags/{DAG_ID}/runs/{quote(run_id(4), safe='')}").status_code == 200


def test_an_editor_acts_and_is_recorded_under_the_airflow_user_name(app, stored,
                                                                    auth_manager):
    from sqlalchemy import text

    from segtasks import store

    c = TestClient(app, headers=bearer(auth_manager, "ursula", "user"))
    assert "ursula · can edit" in c.get("/series/cpu-bs1-fp32").text
    for path, form in actions(stored):
        r = c.post(path, data=form, follow_redirects=False)
        assert r.status_code == 303, (path, r.text)
    with store.connect(stored.url).connect() as conn:
        level = conn.execute(text("SELECT accepted_by, undone_by FROM baseline_levels")).one()
        run = conn.execute(text("SELECT excluded, excluded_by FROM runs WHERE id = :pk"),
                           {"pk": stored.last}).one()
    assert tuple(level) == ("ursula", "ursula")
    assert tuple(run) == (False, None)  # excluded, then counted again


def test_the_tab_of_another_dag_needs_read_access_to_that_dag_only(app, stored,
                                                                  auth_manager):
    c = TestClient(app, headers=bearer(auth_manager, "vic", "viewer"))
    r = c.get("/dags/another_dag")
    assert r.status_code == 200 and "is not a segbench DAG" in r.text
    assert TestClient(app).get("/dags/another_dag").status_code == 401


@pytest.mark.slow
def test_airflow_mounts_the_plugin_and_lists_its_three_views(stored, airflow_db,
                                                             monkeypatch):
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("SEGBENCH_DB_URL", stored.url)
    from airflow.api_fastapi.app import create_app, purge_cached_app

    from segtasks.ui import in_airflow

    in_airflow.settings.cache_clear()
    purge_cached_app()
    try:
        root = create_app(apps="core")
        manager = root.state.auth_manager
        c = TestClient(root)
        plugins = c.get("/api/v2/plugins", headers=bearer(manager, "admin", "admin")).json()
        [ours] = [p for p in plugins["plugins"] if p["name"] == "segbench"]
        assert ours["fastapi_apps"] == [{"app": "fastapi.applications.FastAPI",
                                         "url_prefix": "/segbench",
                                         "name": "segbench results"}]
        views = {v["destination"]: v for v in ours["external_views"]}
        assert views["nav"]["category"] == "browse" and views["nav"]["href"] == "/segbench/"
        assert views["dag"]["href"] == "/segbench/dags/{DAG_ID}"
        assert views["dag_run"]["href"] == "/segbench/dags/{DAG_ID}/runs/{RUN_ID}"
        assert all(v["url_route"] for v in views.values())  # shown in Airflow's frame
        assert c.get("/segbench/").status_code == 401
        viewer = bearer(manager, "vic", "viewer")
        page = c.get("/segbench/", headers=viewer)
        assert page.status_code == 200 and 'href="/segbench/series/cpu-bs1-fp32' in page.text
        assert 'src="/segbench/static/charts.js' in page.text
    finally:
        in_airflow.settings.cache_clear()
        purge_cached_app()
