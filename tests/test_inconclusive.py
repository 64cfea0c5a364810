"""A night too noisy to tell reads `inconclusive` with what it could see, not `unchanged`:
in the judge's output, the stored row and its SQL view, the report, the run page and the
alert (which it does not raise); a night that can tell stays `unchanged`."""

from factories import judge
from sqlalchemy import text
from test_compare import _nights
from test_ui import client

from segtasks import nightly, store
from segtasks.alerts import message
from segtasks.domain.verdicts import VerdictKind
from segtasks.judge.decide import INCONCLUSIVE_FACTOR, cannot_tell
from segtasks.judge.metrics import BY_NAME
from segtasks.judge.series import NightValue, Tonight, judge_series
from segtasks.judge.thresholds import night_thresholds
from segtasks.plan import validate
from segtasks.report.headline import night_headline
from segtasks.report.markdown import render
from segtasks.store import repository
from segtasks.ui import engines

SPEED, RSS = BY_NAME["images_per_s"], BY_NAME["host_peak_rss_bytes"]
SETTINGS = validate({"confirm_repeats": 0}).judging
THRESHOLDS = night_thresholds(SETTINGS)
SPEED_THRESHOLD = THRESHOLDS.of("cpu-bs1-fp32", SPEED.name)  # min effect 5%
NOISY = [10.0, 10.8, 9.3, 10.6, 9.4, 10.5, 9.5]  # nights apart by ~10%: MDE far above 7.5%
STEADY = [10.0, 10.1, 9.9, 10.05, 9.95, 10.0, 10.1]  # MDE 5-6.5%: near the minimum effect


def _judged(nights, tonight, *, inconclusive=True):
    history = [NightValue(i, v) for i, v in enumerate(nights)][::-1]  # newest first
    return judge_series(SPEED, SPEED_THRESHOLD, SETTINGS, Tonight(99, tonight, 0.02), history,
                        inconclusive=inconclusive)


def test_an_unflagged_change_on_a_night_too_noisy_to_tell_is_inconclusive():
    judged = _judged(NOISY, 9.0)  # -10%: twice the minimum effect, inside this noise
    assert judged.verdict == VerdictKind.INCONCLUSIVE
    assert judged.decision.mde > INCONCLUSIVE_FACTOR * SPEED_THRESHOLD.min_effect
    # the paired night's machine verdict does not ask (segtasks.pairs.verdict)
    assert _judged(NOISY, 9.0, inconclusive=False).verdict == VerdictKind.UNCHANGED


def test_below_the_factor_it_stays_unchanged_and_a_flagged_change_stays_a_regression():
    steady = _judged(STEADY, 9.8)
    assert steady.verdict == VerdictKind.UNCHANGED
    assert steady.decision.mde <= INCONCLUSIVE_FACTOR * SPEED_THRESHOLD.min_effect
    assert _judged(NOISY, 4.0).verdict == VerdictKind.REGRESSION  # -60%: seen even so


def test_the_factor_is_against_what_the_metric_can_see_at_best():
    # speed: 1.5 x the 5% minimum effect
    assert not cannot_tell(0.075, SPEED, SPEED_THRESHOLD)
    assert cannot_tell(0.0751, SPEED, SPEED_THRESHOLD)
    # host RSS never sees under 4.3% (its 1% noise floor), against a 2% minimum effect:
    # that is its resolution, not tonight's noise
    rss = THRESHOLDS.of("cpu-bs1-fp32", RSS.name)
    assert rss.min_effect == 0.02 and not cannot_tell(0.0428, RSS, rss)
    assert cannot_tell(0.065, RSS, rss)


def _stored_speed(engine, run_pk):
    return next(v for v in repository.run_comparisons(engine, run_pk)
                if v.metric == SPEED.name)


def test_the_stored_row_the_view_the_report_the_run_page_and_the_alert_say_inconclusive(
        db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [*NOISY, 9.0])
    judge(engine, runs[-1])
    speed = _stored_speed(engine, runs[-1])
    assert speed.verdict == VerdictKind.INCONCLUSIVE and speed.min_effect == 0.05
    sees = f"{speed.mde:.1%}"
    assert speed.detail.endswith(f"; inconclusive: this night cannot see changes under {sees} "
                                 "(minimum effect 5.0%)")
    # the other metrics of these steady-memory nights stay unchanged
    assert {v.metric: str(v.verdict) for v in repository.run_comparisons(engine, runs[-1])
            if v.metric == RSS.name} == {RSS.name: "unchanged"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT verdict FROM v_verdicts WHERE run_pk = :pk AND "
                                 "metric = 'images_per_s'"), {"pk": runs[-1]}).scalar_one() \
            == "inconclusive"
    headline = f"1 inconclusive: this machine cannot see changes under {sees} tonight (its MDE)"
    assert night_headline([speed]) == headline
    report = render(nightly.stored_report(runs[-1], db_url=db_url))
    assert f"**Verdicts**: {headline}" in report
    [row] = [line for line in report.splitlines() if line.startswith("| cpu-bs1-fp32 | images")]
    assert "| inconclusive |" in row and "unchanged" not in row
    try:
        page = client(db_url).get(f"/runs/{runs[-1]}")
    finally:
        engines.dispose(db_url)
    assert page.status_code == 200 and f"Verdicts: {headline}" in page.text
    alert = message.from_store(engine, runs[-1])
    assert alert.payload["regressions"] == [] and "0 regressions" in alert.subject
    assert (f"- cpu-bs1-fp32: inconclusive: this night cannot see changes under {sees}"
            in alert.text)


def test_a_night_that_can_tell_stays_unchanged_everywhere(db_url):
    engine = store.connect(db_url)
    runs = _nights(engine, [*STEADY, 9.8])
    judge(engine, runs[-1])
    speed = _stored_speed(engine, runs[-1])
    assert speed.verdict == VerdictKind.UNCHANGED
    assert speed.mde <= INCONCLUSIVE_FACTOR * speed.min_effect
    report = render(nightly.stored_report(runs[-1], db_url=db_url))
    assert "**Verdicts**: 1 unchanged\n" in report and "inconclusive" not in report


def test_the_headline_counts_cases_and_quotes_the_smallest_mde_of_the_inconclusive_ones():
    from segtasks.domain.verdicts import Verdict

    def v(case, verdict, mde, metric="images_per_s"):
        return Verdict(case, None, metric, verdict, mde=mde)

    night = [v("a", VerdictKind.UNCHANGED, 0.05), v("b", VerdictKind.UNCHANGED, 0.06),
             v("c", VerdictKind.INCONCLUSIVE, 0.30), v("d", VerdictKind.INCONCLUSIVE, 0.201),
             v("d", VerdictKind.INCONCLUSIVE, 0.4, "latency_p90_ms"),  # counted once a case
             v("e", VerdictKind.DISTURBED, None, "status")]
    assert night_headline(night) == (
        "2 unchanged, 2 inconclusive, 1 disturbed: this machine cannot see changes under "
        "20.1% tonight (the smallest MDE of the 2 inconclusive cases; the largest 30.0%)")
    assert night_headline([]) is None
