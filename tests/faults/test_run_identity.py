"""Every write checks whose run it is. A run whose primary key now names another night (the
database recreated at the same URL, another night opened under the same key) gets none of
this night's writes: bench, confirm, judge and close fail with one line and store nothing;
a measured result goes to the spool under the night's own identity."""

from __future__ import annotations

import json

import pytest
from factories import result
from sqlalchemy import select, update

from segtasks import launch, nightly, store
from segtasks.plan.case import Case
from segtasks.store import repository, spool
from segtasks.store.identity import RunRef, RunReplaced
from segtasks.store.schema import Comparison, Run

pytestmark = [pytest.mark.faults]

CASE = Case(device="cpu", batch_size=1, seed_images=4, warmup_batches=1)
PARAMS = nightly.plan({"devices": ["cpu"], "batch_sizes": [1]})
REPLACED = ("run 1 in this database is not this night's: it was recreated while the night "
            "ran (d / night)")


@pytest.fixture
def night(sqlite_url) -> RunRef:
    store.upgrade(sqlite_url)
    return repository.open_own_run(store.connect(sqlite_url), dag_id="d", run_id="night",
                                   trigger="manual", params={}, code_version="x")


def _another_night_takes_the_key(url: str) -> None:
    """What a recreated database does: the same primary key, another night's token."""
    with store.connect(url).begin() as conn:
        conn.execute(update(Run).where(Run.id == 1).values(token="another-night"))


def _state(url: str) -> str:
    with store.connect(url).connect() as conn:
        return conn.execute(select(Run.state).where(Run.id == 1)).scalar_one()


def test_bench_refuses_before_measuring_when_the_run_is_not_the_nights(night, sqlite_url,
                                                                       monkeypatch):
    _another_night_takes_the_key(sqlite_url)

    def must_not_measure(*_args, **_kwargs):
        raise AssertionError("measured a case for a run that is not the night's")

    monkeypatch.setattr(launch, "run_case_isolated", must_not_measure)
    with pytest.raises(RunReplaced) as err:
        nightly.bench(CASE.to_dict(), night, db_url=sqlite_url)
    assert str(err.value) == REPLACED
    assert repository.run_results(store.connect(sqlite_url), 1) == []


def test_a_run_recreated_while_measuring_gets_nothing_and_the_result_is_spooled(
        night, sqlite_url, monkeypatch):
    measured = result(images_per_s=7.0)

    def measure_while_the_database_is_recreated(*_args, **_kwargs):
        _another_night_takes_the_key(sqlite_url)
        return measured

    monkeypatch.setattr(launch, "run_case_isolated", measure_while_the_database_is_recreated)
    with pytest.raises(RunReplaced) as err:
        nightly.bench(CASE.to_dict(), night, db_url=sqlite_url)
    (kept,) = spool.spool_dir().glob("*.json")
    assert str(err.value) == (f"{REPLACED}; cpu-bs1-fp32 is not stored, its result is kept "
                              f"in {kept}")
    assert repository.run_results(store.connect(sqlite_url), 1) == []
    assert repository.processes_of(store.connect(sqlite_url), 1) == {}
    record = json.loads(kept.read_text())
    assert (record["dag_id"], record["run_id"], record["token"]) == ("d", "night", night.token)

    # the next night does not store it under the run that took the key and the name
    engine = store.connect(sqlite_url)
    assert spool.flush(engine, store.resolve_url(sqlite_url)) == []
    assert repository.run_results(engine, 1) == []
    (orphan,) = spool.orphaned_dir().glob("*.json")
    assert orphan.name == kept.name


def test_confirm_writes_nothing_into_another_nights_run(night, sqlite_url, monkeypatch):
    repository.save_result(store.connect(sqlite_url), night, result())
    _another_night_takes_the_key(sqlite_url)
    monkeypatch.setattr(launch, "run_case_isolated", lambda *_a, **_k: result())
    with pytest.raises(RunReplaced, match="is not this night's"):
        nightly.confirm({"case": CASE.to_dict(), "process": 1}, night, db_url=sqlite_url,
                        budget_s=600.0)
    assert repository.processes_of(store.connect(sqlite_url), 1) == {}


def test_judge_and_close_leave_another_nights_run_alone(night, sqlite_url):
    repository.save_result(store.connect(sqlite_url), night, result())
    _another_night_takes_the_key(sqlite_url)
    with pytest.raises(RunReplaced) as err:
        nightly.judge_and_close(night, PARAMS, db_url=sqlite_url)
    assert str(err.value) == REPLACED
    assert _state(sqlite_url) == "running"  # not closed by the wrong night
    with store.connect(sqlite_url).connect() as conn:
        assert conn.execute(select(Comparison.id)).all() == []


def test_a_run_gone_from_the_database_is_named_so(night, sqlite_url):
    with store.connect(sqlite_url).begin() as conn:
        conn.execute(Run.__table__.delete())
    with pytest.raises(RunReplaced) as err:
        repository.finish_run(store.connect(sqlite_url), night, "success")
    assert str(err.value) == ("run 1 is not in this database any more: it was dropped or "
                              "recreated while the night ran (d / night)")


def test_the_nights_own_run_is_written_as_before(night, sqlite_url):
    engine = store.connect(sqlite_url)
    repository.save_result(engine, night, result())
    outcome = nightly.judge_and_close(night, PARAMS, db_url=sqlite_url)
    assert outcome.run_pk == 1 and _state(sqlite_url) == "success"
    assert RunRef.from_dict(json.loads(json.dumps(night.to_dict()))) == night  # via XCom
