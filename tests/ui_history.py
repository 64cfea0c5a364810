"""Five stored nights with known answers, for the results pages' tests.

cpu-bs1-fp32 runs at 10 images/s for four nights, then 8 (a 20% regression on night 5);
cpu-bs2-fp32 stays at 15; cuda-bs1-fp32 at 400 with 2 GiB reserved. The code changes
from abc to def on night 4. Every night is judged as the nightly judges it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from factories import HARDWARE, judge, result

from segtasks import store
from segtasks.store import repository
from segtasks.store.schema import Run

DAG_ID = "segbench_nightly"
PARAMS = {"devices": ["cpu", "cuda"], "batch_sizes": [1, 2]}
CPU_BS1 = (10.0, 10.1, 9.9, 10.0, 8.0)
START = datetime(2026, 10, 1, 2, tzinfo=UTC)


def run_id(night: int) -> str:
    return f"scheduled__{(START + timedelta(days=night)).isoformat()}"


@dataclass(frozen=True)
class History:
    url: str
    run_pks: list[int]  # oldest first
    hardware: str = HARDWARE

    @property
    def last(self) -> int:
        return self.run_pks[-1]


def fill(url: str) -> History:
    engine = store.connect(url)
    run_pks = []
    for night, ips in enumerate(CPU_BS1):
        pk = repository.open_run(engine, dag_id=DAG_ID, run_id=run_id(night),
                                 trigger="scheduled", params=PARAMS,
                                 code_version="abc" if night < 3 else "def")
        with repository._session(engine) as session, session.begin():
            session.get_one(Run, pk).started_at = START + timedelta(days=night)
        repository.save_result(engine, pk, result(batch_size=1, images_per_s=ips))
        repository.save_result(engine, pk, result(batch_size=2, images_per_s=15.0))
        repository.save_result(engine, pk, result(device="cuda", batch_size=1,
                                                  images_per_s=400.0, reserved=2 * 2**30))
        judge(engine, pk)
        repository.finish_run(engine, pk, "success")
        run_pks.append(pk)
    return History(url, run_pks)
