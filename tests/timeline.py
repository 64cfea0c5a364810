"""Where the suite's time goes: with SEGBENCH_TEST_TIMELINE=<file>, each test appends one
JSON line (worker, node id, start, end, CPU seconds of the worker and of the processes it
waited for) to <file>. `python -m tests.timeline <file>` (from the repository root) sums
it by group and shows how long each worker sat idle at the end. Used to decide which
tests to share or split (docs/results/*-test-suite.md); off by default."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    target = os.environ.get("SEGBENCH_TEST_TIMELINE")
    if not target:
        yield
        return
    start, cpu = time.time(), _cpu()
    yield
    line = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "test": item.nodeid,
            "start": start, "end": time.time(), "cpu": _cpu() - cpu}
    with open(target, "a") as fh:
        fh.write(json.dumps(line) + "\n")


def main(path: str) -> None:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    t0 = min(r["start"] for r in rows)
    t1 = max(r["end"] for r in rows)
    by_worker: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_worker[r["worker"]].append(r)
    print(f"{len(rows)} tests, {t1 - t0:.0f} s from first start to last end, "
          f"CPU {sum(r['cpu'] for r in rows):.0f} s")
    for worker, items in sorted(by_worker.items()):
        busy = sum(r["end"] - r["start"] for r in items)
        last = max(r["end"] for r in items)
        print(f"  {worker}: {len(items)} tests, busy {busy:.0f} s, CPU "
              f"{sum(r['cpu'] for r in items):.0f} s, idle at the end {t1 - last:.0f} s")
    by_module: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        module = r["test"].split("::")[0]
        by_module[module][0] += r["end"] - r["start"]
        by_module[module][1] += r["cpu"]
    print("modules by wall (wall s, CPU s):")
    for module, (wall, cpu) in sorted(by_module.items(), key=lambda kv: -kv[1][0])[:25]:
        print(f"  {wall:7.1f} {cpu:7.1f}  {module}")
    print("tests by wall:")
    for r in sorted(rows, key=lambda r: r["start"] - r["end"])[:30]:
        print(f"  {r['end'] - r['start']:7.1f} {r['cpu']:7.1f}  {r['worker']} "
              f"+{r['start'] - t0:5.0f}s  {r['test']}")


if __name__ == "__main__":
    main(sys.argv[1])
