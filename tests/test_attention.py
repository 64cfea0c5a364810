""""Needs attention" keeps a problem until someone answers it or its series comes back, on
real stored nights judged as the nightly judges them (segtasks.report.attention)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from factories import judge, result

from segtasks import store
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.report.attention import (
    PROBLEM_VERDICTS,
    Attention,
    Kind,
    attention,
    needs_attention,
)
from segtasks.store import repository
from segtasks.store.attention_reads import AttentionRows, attention_rows
from segtasks.store.schema import GOLDEN, GoldenOutput, Run

DAG_ID = "segbench_nightly"
USUAL = (10.0, 10.1, 9.9, 10.0)  # images/s of an ordinary night, in turn
# nights of the past: an answer given now comes after every one of them
START = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0) - timedelta(
    days=60)
CPU1 = "cpu-bs1-fp32"


def night(engine, n: int, ips: float | None = 10.0, *, state: str = "success",
          disturbed: str | None = None, cuda: bool = False, start: datetime = START,
          unfinished: list[str] | None = None) -> int:
    """Night `n` (days after `start`): cpu bs1 at `ips` (None: not measured), judged and
    closed as `state`."""
    name = f"night-{n}" if start == START else f"night-{start:%m%d}-{n}"
    pk = repository.open_run(engine, dag_id=DAG_ID, run_id=name, trigger="scheduled",
                             params={}, code_version="abc")
    with repository._session(engine) as session, session.begin():
        session.get_one(Run, pk).started_at = start + timedelta(days=n)
    if ips is not None:
        repository.save_result(engine, pk, result(batch_size=1, images_per_s=ips,
                                                  disturbed=disturbed))
    if cuda:
        repository.save_result(engine, pk, result(device="cuda", images_per_s=400.0))
    judge(engine, pk)
    repository.finish_run(engine, pk, state, unfinished)
    return pk


def nights(engine, values, first: int = 0, **kw) -> list[int]:
    return [night(engine, first + i, v, **kw) for i, v in enumerate(values)]


def speed(engine, pk: int) -> Verdict:
    return next(v for v in repository.run_comparisons(engine, pk) if v.metric == "images_per_s")


def as_of(rows: AttentionRows, run_pk: int) -> AttentionRows:
    """What the list said the morning after `run_pk` (its runs and verdicts up to it)."""
    upto = [run.id for run in rows.runs].index(run_pk) + 1
    kept = {run.id for run in rows.runs[:upto]}
    return replace(rows, runs=rows.runs[:upto],
                   verdicts=[v for v in rows.verdicts if v.run_pk in kept])


def rows_of(engine) -> AttentionRows:
    return attention_rows(engine, problems=[str(k) for k in PROBLEM_VERDICTS], runs=120)


def only(found: Attention, kind: Kind):
    return [p for p in found.open if p.kind == kind]


@pytest.fixture
def engine(db_url):
    return store.connect(db_url)


def test_a_regression_stays_after_the_next_night_until_a_clean_baseline_sees_it_back(engine):
    nights(engine, USUAL)
    slow = night(engine, 4, 8.0)
    after = nights(engine, [*USUAL, *USUAL], first=5)
    assert speed(engine, slow).verdict == VerdictKind.REGRESSION
    # the night after reads quiet (the slow night widened the noise): the old page forgot it
    assert speed(engine, after[0]).verdict in (VerdictKind.UNCHANGED, VerdictKind.INCONCLUSIVE)
    rows = rows_of(engine)
    # the night after: still open, since the night it showed, one night long
    [problem] = attention(as_of(rows, after[0])).open
    assert (problem.kind, problem.case_key, problem.metric) == (Kind.REGRESSION, CPU1,
                                                                "images_per_s")
    assert (problem.since.run_pk, problem.last.run_pk, problem.nights) == (slow, slow, 1)
    assert problem.relative_change == pytest.approx(-0.2) and problem.answered is None
    # back on the first night whose baseline no longer holds the slow night
    back = next(pk for pk in after if slow not in speed(engine, pk).baseline_run_pks)
    assert speed(engine, back).verdict == VerdictKind.UNCHANGED
    assert after.index(back) == 7  # seven baseline nights: the eighth night after
    assert attention(as_of(rows, after[after.index(back) - 1])).open != ()
    found = attention(as_of(rows, back))
    assert found.open == ()
    [answered] = found.answered
    assert answered.answered == f"came back in run {back} (night-{5 + after.index(back)})"
    assert needs_attention(engine).open == ()


def test_a_regression_the_baseline_absorbed_stays_open(engine):
    nights(engine, USUAL)
    slow = nights(engine, [8.0, 8.1, 7.9, 8.0] * 6, first=4)
    judged = [speed(engine, pk) for pk in slow]
    flagged = {pk for pk, v in zip(slow, judged, strict=True)
               if v.verdict == VerdictKind.REGRESSION}
    assert slow[0] in flagged
    # once the baseline is all slow nights, even none that was flagged, a slow night reads
    # unchanged...
    assert any(v.verdict == VerdictKind.UNCHANGED and not set(v.baseline_run_pks) & flagged
               for v in judged)
    # ...and yet the series never came back: the problem is still open, every slow night
    [problem] = needs_attention(engine).open
    assert (problem.kind, problem.since.run_pk, problem.last.run_pk, problem.nights) == (
        Kind.REGRESSION, slow[0], slow[-1], len(slow))


def test_excluding_the_night_answers_it(engine):
    nights(engine, USUAL)
    slow = night(engine, 4, 8.0)
    night(engine, 5, 10.0)
    repository.set_excluded(engine, slow, True, "the machine was busy", by="curator")
    found = needs_attention(engine)
    assert found.open == ()
    [answered] = found.answered
    assert (answered.kind, answered.since.run_pk, answered.nights) == (Kind.REGRESSION, slow, 0)
    assert answered.answered == "night excluded by curator: the machine was busy"


def test_accepting_the_level_answers_it_and_a_later_regression_opens_a_new_problem(engine):
    nights(engine, USUAL)
    slow = nights(engine, [8.0, 8.0], first=4)
    repository.accept_level(engine, case_key=CPU1, hardware_key=None,
                            from_run=repository.get_run(engine, slow[0]), reason="new model",
                            by="curator")
    found = needs_attention(engine)
    assert found.open == ()
    [answered] = found.answered
    assert answered.answered == f"new level accepted by curator from run {slow[0]}: new model"
    assert answered.nights == 2  # both slow nights were judged before the answer
    # nights judged after the answer: the new level holds, then it drops again
    later = datetime.now(UTC) + timedelta(days=1)
    nights(engine, [8.0, 8.1, 7.9, 8.0], start=later)
    slower = night(engine, 4, 6.0, start=later)
    assert speed(engine, slower).verdict == VerdictKind.REGRESSION
    [problem] = needs_attention(engine).open
    assert (problem.since.run_pk, problem.nights) == (slower, 1)


def test_a_disturbed_series_stays_until_it_is_measured_again(engine):
    nights(engine, USUAL)
    shaken = nights(engine, [10.0, 10.0], first=4, disturbed="another process used 48%")
    rows = rows_of(engine)
    [problem] = attention(rows).open
    assert (problem.kind, problem.metric, problem.since.run_pk, problem.nights) == (
        Kind.DISTURBED, "status", shaken[0], 2)
    assert "another process" in (problem.detail or "")
    calm = night(engine, 6, 10.0)
    found = needs_attention(engine)
    assert found.open == ()
    assert found.answered[0].answered == f"came back in run {calm} (night-6)"


def test_a_case_that_stops_working_stays_until_it_works_again(engine):
    nights(engine, USUAL)
    pk = repository.open_run(engine, dag_id=DAG_ID, run_id="night-4", trigger="scheduled",
                             params={}, code_version="abc")
    with repository._session(engine) as session, session.begin():
        session.get_one(Run, pk).started_at = START + timedelta(days=4)
    repository.save_result(engine, pk, result(status="error", reason="CUDA error"))
    judge(engine, pk)
    repository.finish_run(engine, pk, "failed")
    found = needs_attention(engine)
    assert {p.kind for p in found.open} == {Kind.FAILING, Kind.NIGHT}
    [failing] = only(found, Kind.FAILING)
    assert (failing.case_key, failing.since.run_pk, failing.verdict) == (CPU1, pk, "regression")
    fine = night(engine, 5, 10.0)
    found = needs_attention(engine)
    assert found.open == ()
    assert {p.answered for p in found.answered} == {
        f"came back in run {fine} (night-5)", f"run {fine} (night-5) completed"}


def test_a_failed_night_stays_with_what_did_not_finish_until_a_night_completes(engine):
    nights(engine, USUAL)
    lines = ["cpu-bs2-fp32: not measured (bench_cpu[1] failed)"]
    broken = [night(engine, 4, 10.0, state="incomplete", unfinished=lines),
              night(engine, 5, None, state="abandoned")]
    found = needs_attention(engine)
    # the night that measured nothing lost the series too, until a night completes
    assert [p.kind for p in found.open] == [Kind.NIGHT, Kind.MISSING]
    problem = found.open[0]
    assert (problem.kind, problem.verdict, problem.since.run_pk, problem.last.run_pk,
            problem.nights) == (Kind.NIGHT, "abandoned", broken[0], broken[1], 2)
    repository.set_excluded(engine, broken[1], True, "killed by hand", by="curator")
    [problem] = only(needs_attention(engine), Kind.NIGHT)  # the first one still needs someone
    assert (problem.since.run_pk, problem.unfinished) == (broken[0], tuple(lines))
    done = night(engine, 6, 10.0)
    found = needs_attention(engine)
    assert found.open == ()
    assert found.answered[0].answered == f"run {done} (night-6) completed"


def test_a_missing_series_waits_only_for_the_next_complete_night(engine):
    nights(engine, USUAL, cuda=True)
    gone = night(engine, 4, 10.0)  # cuda dropped from the grid
    [problem] = needs_attention(engine).open
    assert (problem.kind, problem.case_key, problem.since.run_pk) == (
        Kind.MISSING, "cuda-bs1-fp32", gone)
    night(engine, 5, 10.0)
    assert needs_attention(engine).open == ()


def test_drifted_outputs_stay_until_someone_accepts_outputs_of_that_device(engine):
    pks = nights(engine, USUAL)
    drift = Verdict(case_key=CPU1, hardware_key=result().hardware_key, metric="golden",
                    verdict=VerdictKind.OUTPUTS_CHANGED, detail="max abs dp 0.2")
    for pk in pks[2:]:
        repository.save_comparisons(engine, pk, [*repository.run_comparisons(engine, pk),
                                                 drift])
    [problem] = needs_attention(engine).open
    assert (problem.kind, problem.metric, problem.since.run_pk, problem.nights) == (
        Kind.OUTPUTS, "golden", pks[2], 2)
    with repository._session(engine) as session, session.begin():
        for device, by in (("cuda-bs1-fp32", "someone"), (CPU1, "curator")):
            session.add(GoldenOutput(
                weights_sha256="w", dataset_fingerprint="d", device_kind=device, state=GOLDEN,
                checksum=device, summary=[], run_pk=pks[3], case_key=device,
                reason="new torch rounds differently", accepted_by=by,
                created_at=datetime.now(UTC), accepted_at=datetime.now(UTC)))
    found = needs_attention(engine)
    assert found.open == ()
    assert found.answered[0].answered == (
        f"outputs of run {pks[3]} accepted by curator: new torch rounds differently")


def test_the_list_reads_only_the_series_that_had_a_problem(engine):
    nights(engine, USUAL, cuda=True)
    night(engine, 4, 8.0, cuda=True)
    rows = rows_of(engine)
    assert {v.case_key for v in rows.verdicts} == {CPU1}
    assert len(rows.runs) == 5
