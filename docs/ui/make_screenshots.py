"""The screenshots in docs/ui/, from a real history of nights (history.py).

    .venv/bin/python docs/ui/make_screenshots.py [--out docs/ui] [--keep] [--reuse FOLDER]

1. history.py measures seven real nights with `segbench run` into a fresh SQLite
   database in a temporary folder: four ordinary, a disturbed, an inconclusive one and a
   planted regression (each checked to have stored the verdict it was made for).
2. `segbench serve` serves them; Debian's Chromium (headless, driven by Playwright, as in
   tests/test_ui_browser.py: no browser download) saves the first screen of
   - overview.png: the overview, 1,400 px wide;
   - run.png: the regression night's page, 1,032 px wide (the frame of Airflow's run tab);
   - series.png: the regressed series (the first row of the run's "What changed"), 1,032 px;
   - compare.png: the compare page's default pair, 1,032 px.
3. A real `airflow api-server` (simple auth manager, its own AIRFLOW_HOME in the temporary
   folder, `airflow db migrate`, the DAG folder serialized with `airflow dags reserialize`)
   gives trigger-form.png: the trigger dialog of segbench_nightly, 1,400 px window.

Takes several minutes on a 2-core machine: the nights are measured for real.
`--keep` leaves the temporary folder (database, Airflow home, logs) and prints where;
`--reuse FOLDER` takes the pictures again from the nights kept there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from history import ROOT, kept_history, make_history, night_env, segbench

CHROMIUM = "/usr/bin/chromium"
DAG_ID = "segbench_nightly"
OVERVIEW_WIDTH = 1400
RUN_TAB_WIDTH = 1032  # the frame Airflow 3.3 gives a run tab's plugin page
HEIGHT = 1000
TRIGGER_FORM_HEIGHT = 2400
USER, PASSWORD = "shots", "shots-Pw-1"
JWT_SECRET = "segbench-screenshots-" + "0123456789abcdef" * 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(command: list[str], env: dict[str, str], ready_url: str, log: Path
           ) -> Iterator[None]:
    """A server process, until `ready_url` answers; stopped (its own process group) on the
    way out."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start:\n"
                                       + log.read_text()[-4000:]) from None
                time.sleep(0.5)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def console_of(page, errors: list[str]) -> None:  # noqa: ANN001
    page.on("console", lambda m: errors.append(f"console: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))


def settled(frame) -> None:  # noqa: ANN001
    """The page's title is there and every chart has drawn."""
    frame.wait_for_selector("h1", timeout=30_000)
    frame.wait_for_load_state("load")
    frame.wait_for_function("document.querySelectorAll('.chart-box').length === "
                            "document.querySelectorAll('.chart-box[data-drawn]').length",
                            timeout=30_000)


def shoot(page, out: Path, name: str) -> None:  # noqa: ANN001
    path = out / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"{path}: {path.stat().st_size // 1024} KiB", flush=True)


def results_pages(browser, base: str, runs: dict[str, int], out: Path,  # noqa: ANN001
                  errors: list[str]) -> None:
    page = browser.new_page(viewport={"width": OVERVIEW_WIDTH, "height": HEIGHT})
    console_of(page, errors)
    page.goto(f"{base}/")
    settled(page)
    shoot(page, out, "overview")
    page.set_viewport_size({"width": RUN_TAB_WIDTH, "height": HEIGHT})
    page.goto(f"{base}/runs/{runs['regression']}")
    settled(page)
    shoot(page, out, "run")
    series = page.locator("#changes a[href*='/series/']").first.get_attribute("href")
    page.goto(series if series.startswith("http") else f"{base}{series}")
    settled(page)
    shoot(page, out, "series")
    page.goto(f"{base}/compare")
    settled(page)
    print("compare: " + " / ".join(page.locator("main p").first.inner_text().splitlines()),
          flush=True)
    shoot(page, out, "compare")
    page.close()


def airflow_env(folder: Path, url: str, port: int) -> dict[str, str]:
    home = folder / "airflow"
    home.mkdir(exist_ok=True)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    env = night_env(folder)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "SEGBENCH_DB_URL": url,
    })
    return env


def trigger_form(browser, folder: Path, url: str, out: Path,  # noqa: ANN001
                 errors: list[str]) -> None:
    port = free_port()
    env = airflow_env(folder, url, port)
    airflow = [sys.executable, "-m", "airflow"]
    for command in (["db", "migrate"], ["dags", "reserialize"]):
        subprocess.run([*airflow, *command], env=env, check=True, capture_output=True)
    base = f"http://127.0.0.1:{port}"
    with server([*airflow, "api-server", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", "1", "--apps", "core"], env,
                f"{base}/api/v2/monitor/health", folder / "api-server.log"):
        page = browser.new_page(viewport={"width": OVERVIEW_WIDTH, "height": HEIGHT})
        console_of(page, errors)
        page.goto(f"{base}/auth/login?next={base}/dags/{DAG_ID}")
        page.get_by_label("Username").fill(USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/dags/{DAG_ID}", timeout=60_000)
        # tall enough for the whole dialog: it scrolls inside a shorter window
        page.set_viewport_size({"width": OVERVIEW_WIDTH, "height": TRIGGER_FORM_HEIGHT})
        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Advanced Options").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # the form's editors finish drawing
        print(f"trigger dialog: {dialog.bounding_box()}", flush=True)
        path = out / "trigger-form.png"
        dialog.screenshot(path=str(path))
        print(f"{path}: {path.stat().st_size // 1024} KiB", flush=True)
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "ui")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--reuse", type=Path, metavar="FOLDER",
                        help="retake the pictures from the nights a --keep run left there")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    folder = args.reuse.resolve() if args.reuse else Path(
        tempfile.mkdtemp(prefix="segbench-screenshots-"))
    errors: list[str] = []
    try:
        url, runs = kept_history(folder) if args.reuse else make_history(folder)
        print(f"nights: {runs}", flush=True)
        port = free_port()
        with server([segbench(), "serve", "--url", url, "--port", str(port)],
                    night_env(folder), f"http://127.0.0.1:{port}/api/overview",
                    folder / "serve.log"), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            results_pages(browser, f"http://127.0.0.1:{port}", runs, out, errors)
            trigger_form(browser, folder, url, out, errors)
            browser.close()
    finally:
        if args.keep or args.reuse:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if errors:
        sys.exit("the browser console reported errors:\n" + "\n".join(errors))


if __name__ == "__main__":
    main()
