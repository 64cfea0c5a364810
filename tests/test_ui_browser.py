"""The results pages in a real browser, inside a real Airflow.

A few real nights (dag.test(), tiny grid: the session's baseline nights and one with a
planted slowdown) fill a results database; a real `airflow api-server` serves the UI with
the plugin and the simple auth manager's known users; Debian's Chromium (headless, driven
by Playwright, no browser download) logs in through Airflow's own login page, opens the
nav entry, the DAG tab and a run tab, and from there a series and a comparison. Each page
must draw its tables and its charts' points, and the browser console must stay free of
errors.

With SEGBENCH_UI_SCREENSHOTS=DIR the four pages are saved there, to look at (the
screenshots in docs/ui/ come from docs/ui/make_screenshots.py).
Without Chromium or Playwright it skips, except under CI=true, where it fails:
`make test` installs Chromium when it is missing.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from airflow_cluster import free_port
from real_nights import CONF as BASELINE_CONF
from real_nights import NIGHTS as BASELINE_NIGHTS

from segtasks import store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
DAG_ID = "segbench_nightly"
NIGHTS = BASELINE_NIGHTS + 1  # the session's baseline nights, then this module's own
# a tiny grid (one thread: the quietest on a shared machine), judged against the last two
# nights; the grid of the baseline nights
CONF = {"devices": ["cpu", "cuda"], "batch_sizes": [1, 2], "cpu_threads": [1],
        "n_images": 2, "warmup_batches": 1, "warmup_seconds": 0, "min_seconds": 0.01,
        "max_seconds": 0.3, "baseline_runs": 2, "min_history": 1}
assert {k: BASELINE_CONF[k] for k in ("devices", "batch_sizes", "cpu_threads")} == \
    {k: CONF[k] for k in ("devices", "batch_sizes", "cpu_threads")}
CASE = "cpu-bs1-fp32-t1"
USERS = {"ursula": ("user", "ursula-Pw-1"), "vic": ("viewer", "vic-Pw-1")}
JWT_SECRET = "segbench-browser-test-" + "fedcba9876543210" * 4
SCREENSHOTS = os.environ.get("SEGBENCH_UI_SCREENSHOTS")


def unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: the browser tests must run; `make test` installs "
                    "Chromium)")
    pytest.skip(message)


@dataclass(frozen=True)
class Nights:
    url: str
    run_ids: list[str]  # oldest first; the last one had a planted slowdown


@pytest.fixture(scope="module")
def nights(baseline_nights, pg_databases, tiny_inputs, weights_file,
           tmp_path_factory) -> Iterator[Nights]:
    """Real nights through the DAG (dag.test): a copy of the session's baseline nights
    (tests/real_nights.py: CONF's grid, ordinary nights), then one night of this module
    with a planted slowdown."""
    from databases import pg_url_of
    from real_nights import fresh_dag, results_through_connection

    folder = tmp_path_factory.mktemp("ui-nights")
    name = pg_databases.create(template=baseline_nights.template)
    url = pg_url_of(name)
    with pytest.MonkeyPatch.context() as env:
        results_through_connection(env, url)
        for variable, value in {"SEGBENCH_HOME": str(folder),
                                "SEGBENCH_INPUTS": str(tiny_inputs),
                                "SEGBENCH_WEIGHTS": str(weights_file),
                                # forward passes 300 ms slower: a step in the series
                                "SEGBENCH_TEST_FORWARD_DELAY_MS": "300"}.items():
            env.setenv(variable, value)
        run = fresh_dag().test(run_conf=CONF,
                               logical_date=baseline_nights.logical_date(NIGHTS - 1))
    yield Nights(url, [*baseline_nights.run_ids, run.run_id])
    from segtasks.ui import engines

    engines.dispose(url)
    store.database.dispose(url)
    pg_databases.drop_later(name)


@pytest.fixture(scope="module")
def airflow_ui(nights, airflow_db, tmp_path_factory) -> Iterator[str]:
    """A real api-server on the session's Airflow home (where dag.test left the DAG and
    its runs), with the plugin folder and the simple auth manager's known users."""
    folder = tmp_path_factory.mktemp("api-server")
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps({name: pw for name, (_, pw) in USERS.items()}))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGBENCH_TEST_")}
    env.update({
        "AIRFLOW_HOME": str(airflow_db),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS":
            ",".join(f"{name}:{role}" for name, (role, _) in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "SEGBENCH_DB_URL": nights.url,
        "PYTHONPATH": str(ROOT),
    })
    log = folder / "api-server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port",
             str(port), "--workers", "1", "--apps", "core"], env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the api-server did not start:\n"
                                       + log.read_text()[-4000:]) from None
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e .[dev])")
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        except Error as exc:
            unavailable(f"Chromium at {CHROMIUM} does not start: {str(exc).splitlines()[0]}")
        yield launched
        launched.close()


class Console:
    """Every error the page and its frames print, and every uncaught exception."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text} ({m.location})")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


@pytest.fixture(scope="module")
def signed_in(browser, airflow_ui):
    """A page signed in as `ursula` (role user: may edit) through Airflow's login page."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    console = Console(page)
    page.goto(f"{airflow_ui}/auth/login?next={quote(airflow_ui + '/')}")
    page.get_by_label("Username").fill("ursula")
    page.get_by_label("Password").fill(USERS["ursula"][1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{airflow_ui}/", timeout=30_000)
    yield page, console
    context.close()


def frame_of(page, url_part: str):  # noqa: ANN001
    """The segbench frame Airflow shows (its src contains url_part), once loaded."""
    element = page.wait_for_selector(f"iframe[src*='{url_part}']", timeout=30_000)
    frame = element.content_frame()
    frame.wait_for_selector("h1", timeout=30_000)
    frame.wait_for_load_state("load")
    return frame


def charts_drawn(frame) -> list[int]:  # noqa: ANN001
    """The number of data points each chart drew; every canvas must hold painted pixels."""
    frame.wait_for_function("document.querySelectorAll('.chart-box').length === "
                            "document.querySelectorAll('.chart-box[data-drawn]').length",
                            timeout=15_000)
    painted = frame.evaluate("""() => [...document.querySelectorAll('.chart-box canvas')]
        .map(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })""")
    assert painted and all(n > 0 for n in painted)
    return [int(box.get_attribute("data-points"))
            for box in frame.locator(".chart-box").all()]


def table_rows(frame) -> int:  # noqa: ANN001
    return frame.locator("table.data tbody tr").count()


def screenshot(page, name: str) -> None:  # noqa: ANN001
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def test_the_nav_entry_opens_the_overview_with_its_tables_and_charts(signed_in, nights):
    page, console = signed_in
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Benchmarks").click()
    frame = frame_of(page, "/segbench/")
    assert frame.locator("h1").inner_text() == "Benchmark overview"
    assert "ursula · can edit" in frame.locator("header").inner_text()
    assert table_rows(frame) >= 4 + NIGHTS  # CPU and (skipped) CUDA cases, the runs
    assert frame.locator("h3", has_text="CPU fp32 1 threads").count() == 1
    assert charts_drawn(frame) == [2]  # CPU images/s at batch sizes 1 and 2
    runs = frame.locator("#runs tbody tr").all_inner_texts()
    assert [r.split()[0] for r in runs] == list(reversed(nights.run_ids))
    screenshot(page, "overview")
    assert console.errors == []


def test_the_dag_tab_shows_the_benchmark_of_that_dag(signed_in, airflow_ui):
    page, console = signed_in
    page.goto(f"{airflow_ui}/dags/{DAG_ID}")
    page.get_by_role("link", name="Benchmark", exact=True).click()
    frame = frame_of(page, f"/segbench/dags/{DAG_ID}")
    assert frame.locator("h1").inner_text() == "Benchmark overview"
    assert charts_drawn(frame) == [2]
    assert console.errors == []


def test_the_run_tab_shows_the_runs_tables_verdicts_and_charts(signed_in, airflow_ui,
                                                                nights):
    page, console = signed_in
    last = nights.run_ids[-1]
    page.goto(f"{airflow_ui}/dags/{DAG_ID}/runs/{quote(last, safe='')}")
    page.get_by_role("link", name="Benchmark", exact=True).click()
    frame = frame_of(page, "/segbench/dags/")
    # "Night 7 · 7 Dec 02:00 · code 4ff042b": the run's number, start and code
    assert re.fullmatch(r"Night \d+ · \d+ [A-Z][a-z]{2} \d\d:\d\d · code \S+",
                        frame.locator("h1").inner_text())
    assert last in frame.locator("p.meta").first.inner_text()  # Airflow's id, below it
    assert frame.locator("h2", has_text="What changed").count() == 1
    assert frame.locator("h3", has_text="CPU fp32 1 threads").count() == 1
    text = frame.locator("body").inner_text()
    assert "All cases (batch sizes 1, 2) skipped" in text  # no GPU here
    assert "planted test slowdown" in text  # the run's warnings
    verdicts = frame.locator("h3", has_text="Verdicts").locator("xpath=following::table[1]")
    assert verdicts.locator("tbody tr").count() >= 2  # a verdict per CPU case at least
    points = charts_drawn(frame)  # speed and memory against batch size (then any trends)
    assert points[:2] == [2, 2]
    screenshot(page, "run")
    assert console.errors == []


AIRFLOW_RUN_TAB_WIDTH = 1032  # the frame Airflow 3.3 gives a run tab's plugin page


def test_at_the_run_tabs_width_the_verdicts_show_without_scrolling(signed_in, airflow_ui,
                                                                   nights):
    """In Airflow's run tab the page has a 1,032 px frame: what changed must be on the
    first screen, and every table's verdict column in view without scrolling sideways."""
    page, console = signed_in
    last = nights.run_ids[-1]
    width, height = AIRFLOW_RUN_TAB_WIDTH, 900
    page.set_viewport_size({"width": width, "height": height})
    try:
        page.goto(f"{airflow_ui}/segbench/dags/{DAG_ID}/runs/{quote(last, safe='')}")
        page.wait_for_selector("#changes")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        first = page.locator("#changes table.changes tbody tr td:nth-child(2) .badge")
        shown = first.first if first.count() else page.locator("#changes p").first
        box = shown.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert box["y"] + box["height"] <= height  # on the first screen
        verdicts_in_view = page.evaluate("""() => [...document.querySelectorAll('table.data')]
            .flatMap(t => { const frame = t.closest('.scroll').getBoundingClientRect();
                return [...t.querySelectorAll('thead th')]
                    .filter(th => th.textContent.trim() === 'Verdict')
                    .map(th => th.getBoundingClientRect().right
                               <= Math.min(frame.right, window.innerWidth) + 0.5); })""")
        assert len(verdicts_in_view) >= 3 and all(verdicts_in_view)  # what changed, CPU, ...
    finally:
        page.set_viewport_size({"width": 1440, "height": 1000})
    assert console.errors == []


def test_a_task_link_moves_airflow_itself_to_the_task_instance(signed_in, airflow_ui,
                                                                nights):
    page, console = signed_in
    last = nights.run_ids[-1]
    page.goto(f"{airflow_ui}/dags/{DAG_ID}/runs/{quote(last, safe='')}/plugin/segbench-run")
    frame = frame_of(page, "/segbench/dags/")
    frame.locator("a[data-airflow]", has_text="task").first.click()
    page.wait_for_url("**/tasks/bench_cpu/mapped/0", timeout=15_000)
    assert console.errors == []


def test_from_the_run_tab_a_series_and_a_comparison_open_in_the_frame(signed_in,
                                                                     airflow_ui, nights):
    page, console = signed_in
    last = nights.run_ids[-1]
    page.goto(f"{airflow_ui}/dags/{DAG_ID}/runs/{quote(last, safe='')}/plugin/segbench-run")
    frame = frame_of(page, "/segbench/dags/")
    frame.locator("a", has_text="history").first.click()
    frame.wait_for_url(f"**/segbench/series/{CASE}**")
    assert frame.locator("h1").inner_text() == f"Series {CASE}"
    assert charts_drawn(frame)[0] >= NIGHTS  # every night's images/s, and its markers
    assert table_rows(frame) >= NIGHTS
    assert frame.locator("#exclude-form button").inner_text() == "Exclude night"
    # hovering a chart shows the night's values
    box = frame.locator(".chart-box .u-over").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    tip = frame.locator(".chart-tip").first
    tip.wait_for(state="visible", timeout=5_000)
    assert "images/s" in tip.inner_text() and "Night " in tip.inner_text()
    screenshot(page, "series")
    frame.goto(frame.url.split("/segbench/")[0] + "/segbench/compare")
    assert frame.locator("h1").inner_text() == "Compare two nights"
    # every case of the last two finished nights
    assert frame.locator("table.compare tbody tr").count() == 4
    changes = frame.locator("table.compare").inner_text()
    assert "within noise" in changes or "worse" in changes or "better" in changes
    assert charts_drawn(frame) == [2]
    screenshot(page, "compare")
    assert console.errors == []


def test_a_time_axis_of_nights_minutes_apart_names_each_minute_once_on_the_minute(browser):
    """Nights 30 s apart (runs from the command line) get a tick every 30 s at this width;
    only the ticks on a whole minute are labelled, so no label is said twice or stands
    under the wrong time."""
    from segtasks.ui import charts

    static = ROOT / "segtasks" / "ui" / "static"
    start = 1_796_677_200  # 2026-12-07 21:00 UTC
    xs = [start + 6.5 + 30 * i for i in range(8)]
    spec = charts.spec("minutes", "nights minutes apart", "time", "night", xs,
                       [{"scale": "y", "label": "images/s", "side": "left"}],
                       [charts.line("images/s", [2.0 + i / 10 for i in range(8)])])
    page = browser.new_page(viewport={"width": 1032, "height": 600})
    files = {"/uPlot.iife.min.js": "uPlot.iife.min.js", "/charts.js": "charts.js"}

    def serve(route):  # noqa: ANN001
        path = "/" + route.request.url.split("/", 3)[3]
        if path in files:
            route.fulfill(body=(static / files[path]).read_text(),
                          content_type="text/javascript")
        else:
            route.fulfill(content_type="text/html", body=(
                '<!doctype html><div class="chart-box" style="width: 1000px"></div>'
                f'<script type="application/json" class="chart-spec">{json.dumps(spec)}'
                '</script><script src="/uPlot.iife.min.js"></script>'
                '<script src="/charts.js"></script>'))

    try:
        page.route("http://charts.test/**", serve)
        page.goto("http://charts.test/")
        page.wait_for_selector(".chart-box[data-drawn]")
        # uPlot keeps an axis's ticks and their labels as _splits and _values
        ticks = page.evaluate("""() => { const a = window.segbenchCharts[0].plot.axes[0];
                                          return [a._splits, a._values]; }""")
    finally:
        page.close()
    splits, labels = ticks
    assert len(splits) >= 6 and all(b - a == 30 for a, b in itertools.pairwise(splits))
    named = [(at, label) for at, label in zip(splits, labels, strict=True) if label]
    assert [label for _, label in named] == ["7 Dec 21:01", "7 Dec 21:02", "7 Dec 21:03"]
    assert all(at % 60 == 0 for at, _ in named)
