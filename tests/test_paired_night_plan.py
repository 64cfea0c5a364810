"""The parameters of a paired night and its environment plan, without measuring: which locks
`environments` and `control` name (refused, with the nearest, when none), what the case
keys become, which control each case gets ("baseline": the lock of the newest good night
that measured it), when a night runs unpaired and says so, and how many pairs it asks."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest
from factories import result

from segtasks import store
from segtasks.domain.paired import PairMode, PairSide, Side
from segtasks.envs.lock import Lock, Package
from segtasks.envs.snapshot import current
from segtasks.errors import SegbenchError
from segtasks.nightly import plan
from segtasks.paired_night import environments as envs
from segtasks.plan import ParamError, validate
from segtasks.store import repository
from segtasks.store.locks import save_lock
from segtasks.store.pairs import save_pair_side

# grids of one case keep these tests short
ONE = {"devices": ["cpu"], "batch_sizes": [1]}


def _other_lock(version: str = "1.0") -> Lock:
    """A lock that is not this environment's: this one with one more package."""
    here = current()
    return Lock(python_version=here.python_version,
                packages=(*here.packages, Package("segbench-test-extra", version)))


@pytest.fixture
def locks(sqlite_url_at_head):
    """A results database holding this environment's lock (named "here") and two others
    ("torch-next" and "torch-other")."""
    engine = store.connect(sqlite_url_at_head)
    here = save_lock(engine, current(), origin="snapshot", name="here")
    nxt = save_lock(engine, _other_lock("1.0"), origin="snapshot", name="torch-next")
    other = save_lock(engine, _other_lock("2.0"), origin="snapshot", name="torch-other")
    return {"url": sqlite_url_at_head, "engine": engine, "here": here, "next": nxt,
            "other": other}


def test_one_environment_keeps_every_key_and_is_the_nights_own(locks):
    default = plan({**ONE}, db_url=locks["url"])
    night = plan({**ONE, "environments": ["torch-next"]}, db_url=locks["url"])
    assert [c.key for c in night.cases] == [c.key for c in default.cases] == ["cpu-bs1-fp32"]
    assert night.night_lock == locks["next"] and default.night_lock is None
    assert night.treatment_of(night.cases[0]) == locks["next"]
    # the stored conf names the lock by its sha256: it plans the same without the database
    assert night.conf["environments"] == [locks["next"]]
    assert validate(night.conf).night_lock == locks["next"]


def test_several_environments_are_an_axis_whose_keys_name_the_lock(locks):
    night = plan({**ONE, "environments": ["current", locks["next"][:8]]}, db_url=locks["url"])
    keys = [c.key for c in night.cases]
    # the current environment keeps its plain key: its history stays joinable
    assert keys == ["cpu-bs1-fp32", f"cpu-bs1-fp32-env{locks['next'][:12]}"]
    assert [night.treatment_of(c) for c in night.cases] == [None, locks["next"]]
    assert [c.key for c in validate(night.conf).cases] == keys
    # series_thresholds may name such a key
    plan({**ONE, "environments": ["current", "torch-next"],
          "series_thresholds": {keys[1]: {"images_per_s": {"min_effect": 0.1}}}},
         db_url=locks["url"])


def test_the_current_environment_by_its_name_is_the_current_one(locks):
    night = plan({**ONE, "environments": ["here"], "control": "here"}, db_url=locks["url"])
    assert night.night_lock is None and night.conf["environments"] == ["current"]
    assert night.pairing.control == "current"


@pytest.mark.parametrize(("conf", "message"), [
    ({"environments": ["torch-nxt"]},
     "bad parameter environments: no stored lock is named 'torch-nxt' or has a hash starting "
     "with it; nearest: torch-next"),
    ({"control": "torch-othr"},
     "bad parameter control: no stored lock is named 'torch-othr'"),
    ({"environments": ["here", "current"]},
     "bad parameter environments: 'here' and 'current' are the same lock"),
])
def test_a_lock_that_is_not_stored_is_refused_at_plan_time_naming_the_nearest(
        locks, conf, message):
    with pytest.raises(ParamError) as err:
        plan({**ONE, **conf}, db_url=locks["url"])
    assert message in str(err.value) and len(str(err.value).splitlines()) == 1
    assert isinstance(err.value, SegbenchError)


def test_without_the_database_only_current_and_whole_hashes_are_known():
    assert validate({**ONE, "environments": ["current"]}).night_lock is None
    with pytest.raises(ParamError, match="bad parameter environments: lock 'torch' is found "
                                         "only in the results database"):
        validate({**ONE, "environments": ["torch"]})
    assert validate({**ONE, "control": "none"}).pairing.control == "none"


def test_pair_parameters_are_bounded():
    for conf in ({"pairs": 2}, {"pairs_max": 101}, {"pair_mode": "solo"},
                 {"pairs_budget_s": -1}):
        with pytest.raises(ParamError, match=f"bad parameter {next(iter(conf))}"):
            validate({**ONE, **conf})
    night = validate({**ONE, "pairs": 3, "pair_mode": "duet", "pairs_budget_s": 60})
    assert (night.pairing.pairs, night.pairing.pair_mode, night.pairing.pairs_budget_s) == \
        (3, "duet", 60)


# --- the environment plan -------------------------------------------------------------

@pytest.fixture
def built(monkeypatch):
    """Interpreters without building: the plan's choices are what these tests check."""
    made: list[str] = []

    def interpreter_of(_engine, sha):
        made.append(sha)
        return sys.executable if sha == envs.current_sha256() else f"/envs/{sha[:12]}/python"

    monkeypatch.setattr(envs, "interpreter_of", interpreter_of)
    return made


def _night(engine, run_id, *, lock=None, images_per_s=10.0, status="ok", excluded=False,
           threads=None):
    """An earlier night of cpu-bs1-fp32 measured in `lock`."""
    run_pk = repository.open_run(engine, dag_id="segbench_nightly", run_id=run_id,
                                 trigger="scheduled", params={}, code_version="x")
    measured = result(images_per_s=images_per_s, status=status)
    measured.case = replace(measured.case, threads=threads)
    measured.lock_sha256 = lock
    repository.save_result(engine, run_pk, measured)
    repository.finish_run(engine, run_pk, "success")
    if excluded:
        repository.set_excluded(engine, run_pk, True, "a bad night", by="test")
    return run_pk


def _tonight(engine, locks, conf):
    night = plan({**ONE, **conf}, db_url=locks["url"])
    run = repository.open_own_run(engine, dag_id="segbench_nightly", run_id="tonight",
                                  trigger="manual", params=night.conf, code_version="x",
                                  lock_sha256=locks["here"])
    return night, run


def _notes(engine, run):
    return repository.get_run(engine, run.pk).notes or []


def test_baseline_is_the_lock_of_the_newest_good_night_that_measured_the_case(locks, built):
    engine = locks["engine"]
    _night(engine, "older", lock=locks["other"])
    _night(engine, "good", lock=locks["next"])
    _night(engine, "errored", lock=locks["other"], status="error")  # not a good night
    _night(engine, "excluded", lock=locks["other"], excluded=True)
    _night(engine, "another case", lock=locks["other"], threads=1)
    night, run = _tonight(engine, locks, {})
    entry = envs.prepare(engine, run, night, run_id="tonight")["cpu-bs1-fp32"]
    assert entry["treatment"] == {"sha256": locks["here"], "python": sys.executable}
    assert entry["control"] == {"sha256": locks["next"],
                                "python": f"/envs/{locks['next'][:12]}/python"}
    assert entry["mode"] == night.pairing.pair_mode and entry["budget_s"] == 900.0
    assert entry["pairs"] == night.pairing.pairs_max  # no earlier pairs: the cap
    assert _notes(engine, run) == []
    # the same night prepared again (a retried task) orders its pairs alike
    assert envs.prepare(engine, run, night, run_id="tonight")["cpu-bs1-fp32"] == entry


def test_tonights_lock_equal_to_the_baselines_runs_unpaired_and_says_so(locks, built):
    engine = locks["engine"]
    _night(engine, "last", lock=locks["here"])
    night, run = _tonight(engine, locks, {})
    assert envs.prepare(engine, run, night, run_id="tonight")["cpu-bs1-fp32"]["control"] \
        is None
    assert _notes(engine, run) == ["same lock as the baseline night: not paired"]
    assert built == [locks["here"]]  # nothing to build: an unchanged night costs nothing


def test_no_earlier_lock_or_control_none_runs_unpaired(locks, built):
    engine = locks["engine"]
    _night(engine, "before locks", lock=None)
    night, run = _tonight(engine, locks, {})
    assert envs.prepare(engine, run, night, run_id="tonight")["cpu-bs1-fp32"]["control"] \
        is None
    assert _notes(engine, run) == ["no earlier good night recorded its lock: not paired"]
    night, run = _tonight(engine, locks, {"control": "none", "environments": ["torch-next"]})
    entry = envs.prepare(engine, run, night, run_id="tonight")["cpu-bs1-fp32"]
    assert entry["control"] is None and entry["treatment"]["sha256"] == locks["next"]


def test_a_named_control_pairs_every_case_with_it_and_pairs_as_asked(locks, built):
    engine = locks["engine"]
    night, run = _tonight(engine, locks, {"environments": ["current", "torch-next"],
                                          "control": "torch-other", "pairs": 4})
    plan_ = envs.prepare(engine, run, night, run_id="tonight")
    assert {entry["control"]["sha256"] for entry in plan_.values()} == {locks["other"]}
    assert [entry["treatment"]["sha256"] for entry in plan_.values()] == \
        [locks["here"], locks["next"]]
    assert {entry["pairs"] for entry in plan_.values()} == {4}
    assert len({entry["seed"] for entry in plan_.values()}) == 2  # each case its own orders


def test_a_control_equal_to_the_cases_own_lock_leaves_that_case_unpaired(locks, built):
    engine = locks["engine"]
    night, run = _tonight(engine, locks, {"environments": ["current", "torch-next"],
                                          "control": "torch-next"})
    plan_ = envs.prepare(engine, run, night, run_id="tonight")
    key = f"cpu-bs1-fp32-env{locks['next'][:12]}"
    assert plan_[key]["control"] is None and plan_["cpu-bs1-fp32"]["control"] is not None
    assert _notes(engine, run) == [f"{key}: the control is the case's own lock: not paired"]


def test_an_environment_that_cannot_be_built(locks, monkeypatch):
    engine = locks["engine"]

    def interpreter_of(_engine, sha):
        if sha != locks["here"]:
            raise SegbenchError("uv: no torch==9.9 in the cache")
        return sys.executable

    monkeypatch.setattr(envs, "interpreter_of", interpreter_of)
    night, run = _tonight(engine, locks, {"control": "torch-next"})
    entry = envs.prepare(engine, run, night, run_id="tonight")["cpu-bs1-fp32"]
    assert entry["control"] is None  # the night goes on unpaired, and says why
    assert _notes(engine, run) == [
        f"the control environment {locks['next'][:12]} could not be built (uv: no "
        "torch==9.9 in the cache): not paired"]
    night, run = _tonight(engine, locks, {"environments": ["torch-next"], "control": "none"})
    entry = envs.prepare(engine, run, night, run_id="tonight")["cpu-bs1-fp32"]
    assert entry["treatment"]["error"] == (f"its environment {locks['next'][:12]} could not "
                                           "be built: uv: no torch==9.9 in the cache")


def test_pairs_are_sized_from_the_spread_of_earlier_pairs(locks, built):
    from segtasks.pairs.stats import pairs_needed

    engine = locks["engine"]
    earlier = repository.open_own_run(engine, dag_id="segbench_nightly", run_id="paired",
                                      trigger="scheduled", params={}, code_version="x")
    ratios = [1.00, 1.06, 0.95, 1.03, 0.97]
    for pair, ratio in enumerate(ratios):
        for side, value in ((Side.CONTROL, 10.0), (Side.TREATMENT, 10.0 * ratio)):
            save_pair_side(engine, earlier, "cpu-bs1-fp32", PairSide(
                pair=pair, position=0, side=side, lock_sha256=locks["here"],
                mode=PairMode.INTERLEAVED, status="ok", images_per_s=value))
    from segtasks.store.paired_history import paired_log_sd

    night, run = _tonight(engine, locks, {"control": "torch-next", "pairs_max": 50})
    spread = paired_log_sd(engine, "cpu-bs1-fp32", run.pk, 7)
    assert spread is not None and 0.02 < spread < 0.06
    entry = envs.prepare(engine, run, night, run_id="tonight")["cpu-bs1-fp32"]
    assert entry["pairs"] == pairs_needed(spread, 0.05, cap=50)
    assert 3 < entry["pairs"] < 50


def test_with_several_environments_each_is_paired_with_the_baseline_nights_software(
        locks, built):
    engine = locks["engine"]
    _night(engine, "last", lock=locks["here"])  # the case in the night's own environment
    night, run = _tonight(engine, locks, {"environments": ["current", "torch-next"]})
    plan_ = envs.prepare(engine, run, night, run_id="tonight")
    key = f"cpu-bs1-fp32-env{locks['next'][:12]}"
    assert plan_[key]["control"]["sha256"] == locks["here"]
    assert plan_[key]["treatment"]["sha256"] == locks["next"]
    assert plan_["cpu-bs1-fp32"]["control"] is None
    assert _notes(engine, run) == ["cpu-bs1-fp32: same lock as the baseline night: not paired"]


def test_a_duet_is_asked_only_of_cpu_cases_with_two_cores_or_more(monkeypatch):
    from segtasks.measure import placement
    from segtasks.plan.case import Case

    monkeypatch.setattr(placement, "allowed_cores", lambda: (0, 1))
    cpu, cuda = Case(device="cpu"), Case(device="cuda")
    assert envs.mode_for(cpu, PairMode.DUET) == PairMode.DUET
    # one GPU for both sides, or a single core to split: the sides take turns instead
    assert envs.mode_for(cuda, PairMode.DUET) == PairMode.INTERLEAVED
    assert envs.mode_for(replace(cpu, cpu_affinity=(1,)), PairMode.DUET) == \
        PairMode.INTERLEAVED
    assert envs.mode_for(cuda, PairMode.INTERLEAVED) == PairMode.INTERLEAVED
