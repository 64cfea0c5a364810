"""Do the results pages answer within 300 ms of server time on a year of history?

Builds benchmarks/history_scale.py's simulated year in a fresh PostgreSQL database
(365 nightly runs x 36 cases, 1.3 M samples, a throughput verdict per case), adds what the
pages draw and that year does not hold (a verdict for every judged metric with its noise,
so that every series has its band; an excluded night every 50; an accepted baseline
level), then requests every page and JSON route of the app in-process (the app of
`segbench serve`, reading through its read-only engine; no network) and prints each
route's server time from the app's own Server-Timing header (routing, queries, building
and rendering the page), median of --repeats after one cold call. Target: < 300 ms each.

    .venv/bin/python benchmarks/ui_speed.py [--admin-url postgresql://postgres@127.0.0.1/test]
        [--repeats 15] [--nights 365] [--keep | --reuse]
"""

from __future__ import annotations

import argparse
import statistics

import history_scale
from _common import banner
from sqlalchemy import text

from segtasks import store
from segtasks.ui import engines
from segtasks.ui.access import LocalAccess
from segtasks.ui.app import build_app
from segtasks.ui.settings import UiSettings

TARGET_MS = 300.0
SERIES = "cuda-bs16-bf16"
OTHER_METRICS = (("latency_p90_ms", "lower"), ("cuda_peak_reserved_bytes", "lower"),
                 ("host_peak_rss_bytes", "lower"))


def complete(url: str) -> None:
    """Verdicts with noise for every judged metric, excluded nights, an accepted level."""
    engine = store.connect(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE comparisons SET noise = 0.01, z_threshold = 3.0, "
                          "z = relative_change / 0.01"))
        for metric, direction in OTHER_METRICS:
            conn.execute(text(
                f"INSERT INTO comparisons (run_pk, case_key, hardware_key, metric, direction, "
                f"verdict, tonight, baseline, relative_change, noise, z, min_effect, "
                f"z_threshold, baseline_run_pks, method, created_at) "
                f"SELECT run_pk, case_key, hardware_key, '{metric}', '{direction}', "
                f"'unchanged', {metric}, {metric}, 0.0, 0.005, 0.0, 0.02, 3.0, '[]', "
                f"'simulated', updated_at FROM results WHERE {metric} IS NOT NULL"))
        conn.execute(text("UPDATE runs SET excluded = true, excluded_by = 'benchmark', "
                          "excluded_reason = 'simulated busy night', excluded_at = started_at "
                          "WHERE id % 50 = 0"))
        conn.execute(text(
            "INSERT INTO baseline_levels (case_key, hardware_key, from_run_pk, reason, "
            "accepted_by, accepted_at) SELECT :case, r.hardware_key, r.run_pk, "
            "'simulated torch upgrade', 'benchmark', now() FROM results r JOIN runs n "
            "ON n.id = r.run_pk WHERE r.case_key = :case ORDER BY n.started_at "
            "OFFSET :half LIMIT 1"), {"case": SERIES, "half": history_scale.NIGHTS // 2})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def routes(url: str) -> dict[str, str]:
    with store.connect(url).connect() as conn:
        last = conn.execute(text("SELECT id, run_id FROM runs ORDER BY started_at DESC "
                                 "LIMIT 1")).one()
        flagged = conn.execute(text("SELECT max(run_pk) FROM comparisons "
                                    "WHERE verdict = 'regression'")).scalar() or last.id
    return {
        "overview (nav entry)": "/",
        "DAG tab": "/dags/segbench_nightly",
        "run tab (latest run)": f"/dags/segbench_nightly/runs/{last.run_id}",
        "run with a regression (+ trend)": f"/runs/{flagged}",
        "series (a year, level, exclusions)": f"/series/{SERIES}",
        "series, every night in the table": f"/series/{SERIES}?all=true",
        "compare (latest vs previous)": "/compare",
        "API overview": "/api/overview",
        "API run": f"/api/runs/{last.id}",
        "API series": f"/api/series/{SERIES}",
        "API compare": "/api/compare",
    }


def server_ms(response) -> float:  # noqa: ANN001
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return float(response.headers["server-timing"].split("dur=")[1])


def main() -> None:
    from fastapi.testclient import TestClient

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--nights", type=int, default=history_scale.NIGHTS,
                        help="simulated nights (365 = a year; fewer for a smoke test)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="time the pages on the database a --keep run left (building the "
                             "year takes minutes of CPU and need not be quiet; timing must)")
    args = parser.parse_args()
    history_scale.NIGHTS = args.nights
    banner(f"results pages on {args.nights} simulated nights in PostgreSQL: server time")
    name = "segbench_ui_speed"
    admin = store.database.engine(args.admin_url)
    url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    if not args.reuse:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        if args.reuse:
            store.upgrade(url)  # a kept database from an earlier revision: to head
            with store.connect(url).connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM results")).scalar_one()
        else:
            store.upgrade(url)
            count = history_scale.fill(url)
            complete(url)
        print(f"# {count} results, {count * history_scale.SAMPLES} samples")
        settings = UiSettings(writer_url=url, reader_url=url, airflow_url="")
        client = TestClient(build_app(lambda: settings, LocalAccess("benchmark")))
        print(f"| page | median of {args.repeats} (ms) | cold (ms) | size (KiB) | "
              f"target < {TARGET_MS:.0f} ms |")
        print("|---|---|---|---|---|")
        for label, path in routes(url).items():
            cold = server_ms(client.get(path))
            times = []
            for _ in range(args.repeats):
                response = client.get(path)
                times.append(server_ms(response))
            ms = statistics.median(times)
            print(f"| {label} `{path}` | {ms:.1f} | {cold:.1f} | "
                  f"{len(response.content) / 1024:.0f} | "
                  f"{'met' if ms < TARGET_MS else 'MISSED'} |", flush=True)
    finally:
        engines.dispose(url)
        store.database.dispose(url)
        if not (args.keep or args.reuse):
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
