"""Do the history queries stay fast with a year of nights?

Fills a fresh PostgreSQL database with simulated history: 365 nightly runs x 2 devices x
9 batch sizes x 2 precisions (13,140 results) with 100 samples each (1.3 M samples), and
with verdicts; then times every cookbook query (docs/cookbook) and the compare task's
baseline query. Target: each < 100 ms median.

    .venv/bin/python benchmarks/history_scale.py [--admin-url postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import copy
import io
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from _common import banner
from sqlalchemy import insert, text

from segtasks import store
from segtasks.measure.environment import fingerprint
from segtasks.store import repository
from segtasks.store.fingerprints import environment_columns
from segtasks.store.schema import Comparison, Environment, Result, Run

TARGET_MS = 100.0
COOKBOOK = sorted((Path(__file__).resolve().parents[1] / "docs" / "cookbook").glob("*.sql"))
NIGHTS, BATCHES, PRECISIONS, SAMPLES = 365, (1, 2, 4, 8, 16, 32, 64, 128, 256), \
    ("fp32", "bf16"), 100


def fill(url: str) -> int:
    engine = store.connect(url)
    rng = np.random.default_rng(0)
    base = fingerprint()
    base["hardware"]["gpus"] = [{"name": "NVIDIA H100 80GB HBM3", "memory_bytes": 85 * 2**30,
                                 "capability": "9.0"}]
    base["hardware_key"] = "cpu=Simulated (16 threads); gpu=NVIDIA H100 80GB HBM3 x1 (80 GiB)"
    envs = []
    for torch_version in ("2.14.0", "2.15.0"):  # an upgrade half way through the year
        fp = copy.deepcopy(base)
        fp["software"]["torch"] = torch_version
        envs.append(fp)
    start = datetime.now(UTC) - timedelta(days=NIGHTS)
    with engine.begin() as conn:
        env_ids = [conn.execute(insert(Environment).values(first_seen_at=start,
                                                           **environment_columns(fp))
                                .returning(Environment.id)).scalar_one() for fp in envs]
        run_rows = [{"dag_id": "segbench_nightly", "run_id": f"scheduled__{night}",
                     "trigger": "scheduled", "params": {}, "code_version": f"c{night // 7}",
                     "started_at": start + timedelta(days=night), "state": "success"}
                    for night in range(NIGHTS)]
        run_ids = conn.execute(insert(Run).returning(Run.id, sort_by_parameter_order=True),
                               run_rows).scalars().all()
        result_rows = []
        for night, run_pk in enumerate(run_ids):
            for device in ("cpu", "cuda"):
                for precision in PRECISIONS:
                    for bs in BATCHES:
                        speed = (400.0 if device == "cuda" else 6.0) * (1 + np.log2(bs) / 10)
                        ips = float(speed * (1.1 if night > NIGHTS // 2 else 1.0)
                                    * rng.normal(1, 0.02))
                        result_rows.append({
                            "run_pk": run_pk, "case_key": f"{device}-bs{bs}-{precision}",
                            "device": device, "batch_size": bs, "precision": precision,
                            "channels_last": False, "status": "ok",
                            "hardware_key": base["hardware_key"],
                            "environment_id": env_ids[night > NIGHTS // 2], "warnings": [],
                            "warmup_batches": 3, "n_batches": SAMPLES, "images_per_s": ips,
                            "latency_p50_ms": bs * 1e3 / ips, "latency_p90_ms": bs * 1.1e3 / ips,
                            "end_to_end_s": 32 / ips, "end_to_end_images": 32,
                            "cuda_peak_reserved_bytes": bs * 2**26 if device == "cuda" else None,
                            "host_peak_rss_bytes": 2**30, "updated_at": start,
                        })
        result_ids = conn.execute(insert(Result).returning(Result.id,
                                                           sort_by_parameter_order=True),
                                  result_rows).scalars().all()
        conn.execute(insert(Comparison), [
            {"run_pk": row["run_pk"], "case_key": row["case_key"],
             "hardware_key": row["hardware_key"], "metric": "images_per_s",
             "verdict": "regression" if i % 997 == 0 else "unchanged",
             "tonight": row["images_per_s"], "baseline": row["images_per_s"],
             "relative_change": -0.2 if i % 997 == 0 else 0.0, "min_effect": 0.1,
             "baseline_run_pks": [], "method": "simulated", "created_at": start}
            for i, row in enumerate(result_rows)])
        # 1.3 M samples: COPY, not INSERT
        buffer = io.StringIO()
        for result_id, row in zip(result_ids, result_rows, strict=True):
            lat = row["latency_p50_ms"] * rng.lognormal(0, 0.02, SAMPLES)
            buffer.writelines(f"{result_id}\t{i}\t{v:.4f}\n" for i, v in enumerate(lat))
        buffer.seek(0)
        conn.connection.cursor().copy_expert(
            "COPY samples (result_id, idx, latency_ms) FROM STDIN", buffer)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return len(result_rows)


def timed(fn, repeats: int) -> float:
    fn()  # a first, cold call is not what a user waits for every time
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    banner("a year of history in PostgreSQL: query times")
    name = "segbench_history_scale"
    admin = store.database.engine(args.admin_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        store.upgrade(url)
        t0 = time.perf_counter()
        count = fill(url)
        print(f"# filled {count} results and {count * SAMPLES} samples in "
              f"{time.perf_counter() - t0:.0f} s")
        engine = store.connect(url)
        last_run = repository.latest_run_pk(engine)
        sql_texts = {p.stem: p.read_text() for p in COOKBOOK}
        queries = {stem: (lambda sql=sql: _fetch(engine, sql)) for stem, sql in sql_texts.items()}
        tonight = repository.get_run(engine, last_run)
        series = [(r.case_key, r.hardware_key)
                  for r in repository.run_results(engine, last_run)]
        queries["judge's history: 30 good nights of every series of a night (one query)"] = \
            lambda: [night for nights in repository.series_history(
                engine, tonight, series, limit=30).values() for night in nights]
        queries["samples of one result"] = lambda: _fetch(
            engine, "SELECT latency_ms FROM samples WHERE result_id = 4242 ORDER BY idx")
        print(f"| query | median of {args.repeats} (ms) | rows | target < {TARGET_MS:.0f} ms |")
        print("|---|---|---|---|")
        for label, fn in queries.items():
            rows = len(fn())
            ms = timed(fn, args.repeats)
            print(f"| {label} | {ms:.1f} | {rows} | {'met' if ms < TARGET_MS else 'MISSED'} |")
    finally:
        store.database.dispose(url)
        if not args.keep:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _fetch(engine, sql: str) -> list:
    with engine.connect() as conn:
        return conn.execute(text(sql)).all()


if __name__ == "__main__":
    main()
