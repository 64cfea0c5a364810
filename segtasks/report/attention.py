"""What needs someone, kept until someone answers it: "Needs attention" on the overview.

A problem stays from the first night it showed until it is answered or its series comes
back; the latest night alone would drop an unanswered regression as soon as the next night
runs. The problems:

- a `regression` or an `unconfirmed` change of a metric (one problem per series and metric);
- outputs that drifted: `outputs_changed` (against the golden outputs) or `outputs_differ`
  (against fp32 eager on the same device);
- a `disturbed` series (the machine did not leave the case alone);
- a case that fails (`failed`, or a `regression` of its status: it used to work);
- a `missing` series, until a later night of its DAG completes (a case dropped from the
  grid on purpose needs no answer);
- a night that failed: a run closed `failed`, `incomplete`, `abandoned` or `interrupted`, or
  with tasks that did not finish, with what did not finish (consecutive ones are one
  problem per DAG).

Answered by (segtasks.ui.actions, `segbench runs exclude`, `segbench baseline accept`,
`segbench golden accept`):

- excluding the night: an excluded night's verdicts are set aside (a problem all of whose
  nights are excluded is answered);
- accepting a new level of the series from a night of the problem on (changes and failing
  cases): it answers the nights judged before the level was accepted;
- accepting the golden outputs from a night of the problem on (outputs that drifted),
  for the same device.

The series comes back when a later night is judged `unchanged` or `improvement` against a
baseline that holds none of the problem's nights (outputs: they match again; a disturbed or
failing case: it is measured and judged again; a night: a later night of its DAG completes).
A night after the problem whose baseline still holds its nights says nothing either way,
unless its own value is still at the problem's level (worse than the baseline before the
problem by the minimum effect or more): then it is one of the problem's nights too, so
that a regression the baseline has absorbed does not read as "back". With 7 baseline
nights, a one-night slowdown leaves the list on the eighth night after it.

Pure: `attention(rows)` works on the store's values (segtasks.store.attention_reads);
`needs_attention(engine)` reads and decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine

from segtasks.domain import run_states
from segtasks.domain.metrics import METRIC_NAMES
from segtasks.domain.records import BaselineLevel, Run
from segtasks.domain.verdicts import Verdict, VerdictKind
from segtasks.store.attention_reads import AttentionRows, GoldenAccepted, attention_rows

# how far back the list looks, in runs: older problems drop off even unanswered
LOOK_BACK_RUNS = 120
STATUS = "status"  # the metric of a verdict on the case itself (segtasks.judge.night)


class Kind(StrEnum):
    """What the problem is; the order is the list's (worst first)."""

    NIGHT = "night failed"
    FAILING = "failing"
    REGRESSION = "regression"
    OUTPUTS = "outputs drifted"
    DISTURBED = "disturbed"
    UNCONFIRMED = "unconfirmed"
    MISSING = "missing"


ORDER = tuple(Kind)
PROBLEM_VERDICTS = frozenset({
    VerdictKind.REGRESSION, VerdictKind.UNCONFIRMED, VerdictKind.OUTPUTS_CHANGED,
    VerdictKind.OUTPUTS_DIFFER, VerdictKind.DISTURBED, VerdictKind.FAILED,
    VerdictKind.MISSING})
FINE = frozenset({VerdictKind.UNCHANGED, VerdictKind.IMPROVEMENT})
OUTPUTS_FINE = frozenset({VerdictKind.OUTPUTS_UNCHANGED, VerdictKind.OUTPUTS_MATCH,
                          VerdictKind.GOLDEN_CREATED})


@dataclass(frozen=True)
class NightRef:
    """A night as the list names it."""

    run_pk: int
    run_id: str
    dag_id: str
    started_at: datetime


@dataclass(frozen=True)
class Problem:
    kind: Kind
    since: NightRef  # the first night it showed
    last: NightRef  # the latest night it showed
    nights: int  # how many nights it showed (excluded ones left out)
    case_key: str | None = None  # None: a night's problem
    hardware_key: str | None = None
    metric: str | None = None
    verdict: str | None = None  # the latest night's verdict, or the night's run state
    relative_change: float | None = None  # the latest night's change
    detail: str | None = None
    unfinished: tuple[str, ...] = ()  # a night's: what did not finish
    answered: str | None = None  # who answered it and how; None while it is open
    answered_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.answered is None


@dataclass(frozen=True)
class Attention:
    open: tuple[Problem, ...]  # what needs someone, worst first
    answered: tuple[Problem, ...] = ()  # answered within the look-back, newest answer first
    runs_looked_at: int = 0


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were stored in UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ref(run: Run) -> NightRef:
    return NightRef(run.id, run.run_id, run.dag_id, _aware(run.started_at))


def kind_of(v: Verdict) -> Kind | None:
    """The problem a verdict shows, if it shows one."""
    if v.verdict == VerdictKind.DISTURBED:
        return Kind.DISTURBED
    if v.verdict in (VerdictKind.OUTPUTS_CHANGED, VerdictKind.OUTPUTS_DIFFER):
        return Kind.OUTPUTS
    if v.verdict == VerdictKind.MISSING:
        return Kind.MISSING
    if v.metric == STATUS and v.verdict in (VerdictKind.REGRESSION, VerdictKind.FAILED):
        return Kind.FAILING
    if v.metric != STATUS and v.verdict == VerdictKind.REGRESSION:
        return Kind.REGRESSION
    if v.metric != STATUS and v.verdict == VerdictKind.UNCONFIRMED:
        return Kind.UNCONFIRMED
    return None


def _family(kind: Kind) -> str:
    """Problems of one family on one series and metric are one problem: an unconfirmed
    change that a later night confirms is the same one, now a regression."""
    return "change" if kind in (Kind.REGRESSION, Kind.UNCONFIRMED) else str(kind)


@dataclass
class _Open:
    """A problem being followed through the nights."""

    kind: Kind
    first: Verdict  # the verdict of its first night: the level before it, its threshold
    latest: Verdict  # of its latest night that showed it
    nights: list[Run] = field(default_factory=list)  # its nights, not excluded
    excluded: list[Run] = field(default_factory=list)  # its nights that were excluded

    @property
    def bad(self) -> set[int]:
        return {run.id for run in self.nights}


def _still_at_problem_level(v: Verdict, first: Verdict) -> bool:
    """A later night's value still worse than the level before the problem by the minimum
    effect or more (unknown: it may be, so yes)."""
    before, value, min_effect = first.baseline, v.tonight, first.min_effect
    if before is None or value is None or min_effect is None or before == 0:
        return True
    worse = (before - value) / before if first.direction == "higher" else \
        (value - before) / before
    return worse >= min_effect


def _comes_back(item: _Open, night: Sequence[Verdict], metric: str) -> bool | None:
    """Whether a later night of the series that does not show the problem brings it back
    (True), is one more night of it all the same (None: still at its level), or says
    nothing (False)."""
    if _family(item.kind) == "change":
        mine = [v for v in night if v.metric == metric]
        if not mine:
            return False
        if mine[0].verdict in FINE and not set(mine[0].baseline_run_pks) & item.bad:
            return True
        return None if _still_at_problem_level(mine[0], item.first) else False
    if item.kind == Kind.OUTPUTS:
        return any(v.metric == metric and v.verdict in OUTPUTS_FINE for v in night)
    # disturbed, failing: back once the case is measured and judged on its metrics again
    return any(v.metric in METRIC_NAMES for v in night)


def _problem(item: _Open, answered: str | None, at: datetime | None) -> Problem:
    nights = item.nights or item.excluded
    latest = item.latest
    return Problem(
        kind=item.kind, since=_ref(nights[0]), last=_ref(nights[-1]), nights=len(item.nights),
        case_key=latest.case_key, hardware_key=latest.hardware_key, metric=latest.metric,
        verdict=str(latest.verdict), relative_change=latest.relative_change,
        detail=latest.detail, answered=answered, answered_at=at)


def _answer(item: _Open, levels: Sequence[BaselineLevel],
            goldens: Sequence[GoldenAccepted], runs: dict[int, Run],
            before: datetime | None) -> tuple[str, datetime] | None:
    """A person's answer to the problem, given before `before` (None: by now): a level of
    its series, or golden outputs of its device, accepted from one of its nights or a
    later one."""
    shown = item.nights or item.excluded
    since = _aware(shown[0].started_at)

    def in_time(at: datetime) -> bool:
        return before is None or _aware(at) <= before

    if _family(item.kind) == "change" or item.kind == Kind.FAILING:
        for level in levels:
            if (level.case_key, level.hardware_key) == (item.first.case_key,
                                                        item.first.hardware_key) \
                    and _aware(level.from_run.started_at) >= since and in_time(level.accepted_at):
                return (f"new level accepted by {level.accepted_by} from run "
                        f"{level.from_run_pk}: {level.reason}", _aware(level.accepted_at))
    if item.first.verdict == VerdictKind.OUTPUTS_CHANGED:
        device = item.first.case_key.split("-", 1)[0]
        for golden in goldens:
            run = runs.get(golden.run_pk)
            if run is not None and _aware(run.started_at) >= since \
                    and in_time(golden.accepted_at) and (
                    golden.case_key is None or golden.case_key.split("-", 1)[0] == device):
                said = f": {golden.reason}" if golden.reason else ""
                return (f"outputs of run {golden.run_pk} accepted by {golden.accepted_by}"
                        f"{said}", _aware(golden.accepted_at))
    return None


def _excluded_answer(runs: Sequence[Run]) -> tuple[str, datetime | None]:
    run = runs[-1]
    said = f": {run.excluded_reason}" if run.excluded_reason else ""
    return (f"night excluded by {run.excluded_by or '?'}{said}",
            _aware(run.excluded_at) if run.excluded_at else None)


def _series_problems(metric: str, family: str, by_night: Sequence[tuple[Run, list[Verdict]]],
                     levels: Sequence[BaselineLevel], goldens: Sequence[GoldenAccepted],
                     runs: dict[int, Run]) -> list[Problem]:
    """Follow one series (and metric) through its nights, oldest first: a problem opens on
    the first night that shows it and lasts until answered or back. An answer covers the
    nights judged before it; a night after it that shows the problem opens a new one."""
    found: list[Problem] = []
    item: _Open | None = None

    def answered(current: _Open, before: datetime | None) -> bool:
        answer = _answer(current, levels, goldens, runs, before)
        if answer is None and not current.nights and before is None:
            answer = _excluded_answer(current.excluded)  # type: ignore[assignment]
        if answer is None:
            return False
        found.append(_problem(current, *answer))
        return True

    for run, verdicts in by_night:
        if item is not None and answered(item, _aware(run.started_at)):
            item = None
        shown = [v for v in verdicts if (kind := kind_of(v)) is not None
                 and _family(kind) == family and (v.metric == metric or metric == STATUS)]
        if item is None:
            if not shown:
                continue
            item = _Open(kind_of(shown[0]) or Kind.REGRESSION, shown[0], latest=shown[0])
        if shown:
            (item.excluded if run.excluded else item.nights).append(run)
            if not run.excluded:
                item.latest = shown[0]
            if kind_of(shown[0]) == Kind.REGRESSION:
                item.kind = Kind.REGRESSION
            continue
        if run.excluded:
            continue
        back = _comes_back(item, verdicts, metric)
        if back is None:
            item.nights.append(run)
        elif back:
            if not item.nights:
                found.append(_problem(item, *_excluded_answer(item.excluded)))
            elif not answered(item, None):
                found.append(_problem(item, f"came back in run {run.id} ({run.run_id})",
                                      _aware(run.started_at)))
            item = None
    if item is not None and not answered(item, None):
        found.append(_problem(item, None, None))
    return found


def _missing(verdicts: Sequence[Verdict], runs: Sequence[Run]) -> list[Problem]:
    """A missing series, until a later night of its DAG completes."""
    found = []
    by_pk = {run.id: run for run in runs}
    for v in verdicts:
        run = by_pk.get(v.run_pk or -1)
        if v.verdict != VerdictKind.MISSING or run is None or run.excluded:
            continue
        later = [r for r in runs if r.dag_id == run.dag_id and r.started_at > run.started_at
                 and r.state in run_states.COMPLETE and not r.unfinished]
        found.append(Problem(
            kind=Kind.MISSING, since=_ref(run), last=_ref(run), nights=1,
            case_key=v.case_key, hardware_key=v.hardware_key, metric=v.metric,
            verdict=str(v.verdict), detail=v.detail,
            answered=f"run {later[0].id} ({later[0].run_id}) completed" if later else None,
            answered_at=_aware(later[0].started_at) if later else None))
    return found


def _broken(run: Run) -> bool:
    return run.state in run_states.BROKEN or bool(run.unfinished)


def _nights(runs: Sequence[Run]) -> list[Problem]:
    """Nights that failed, one problem per streak of them in a DAG, until a later night of
    the DAG completes or every one of them is excluded."""
    found = []
    by_dag: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_dag[run.dag_id].append(run)

    def problem(streak: list[Run], excluded: list[Run], answered: str | None,
                at: datetime | None) -> Problem:
        shown = streak or excluded
        last = shown[-1]
        notes = [n for n in last.notes or [] if n.startswith(("closed when", "abandoned",
                                                               "judging failed"))]
        return Problem(kind=Kind.NIGHT, since=_ref(shown[0]), last=_ref(last),
                       nights=len(streak), verdict=last.state,
                       detail="; ".join(notes) or None, unfinished=tuple(last.unfinished or ()),
                       answered=answered, answered_at=at)

    for dag_runs in by_dag.values():
        streak: list[Run] = []
        excluded: list[Run] = []
        for run in dag_runs:
            if run.state == run_states.RUNNING:
                continue
            if _broken(run):
                (excluded if run.excluded else streak).append(run)
                continue
            if streak:
                found.append(problem(streak, excluded, f"run {run.id} ({run.run_id}) "
                                     f"completed", _aware(run.started_at)))
            elif excluded:
                found.append(problem([], excluded, *_excluded_answer(excluded)))
            streak, excluded = [], []
        if streak:
            found.append(problem(streak, excluded, None, None))
        elif excluded:
            found.append(problem([], excluded, *_excluded_answer(excluded)))
    return found


def attention(rows: AttentionRows) -> Attention:
    """Every problem of these runs, open or answered (see the module's description)."""
    runs = {run.id: run for run in rows.runs}
    order = {run.id: i for i, run in enumerate(rows.runs)}
    series: dict[tuple[str, str | None], dict[int, list[Verdict]]] = defaultdict(
        lambda: defaultdict(list))
    keys: set[tuple[str, str | None, str, str]] = set()
    for v in rows.verdicts:
        if v.run_pk not in runs:
            continue
        series[(v.case_key, v.hardware_key)][v.run_pk].append(v)
        kind = kind_of(v)
        if kind is not None and kind != Kind.MISSING:
            family = _family(kind)
            metric = STATUS if kind in (Kind.DISTURBED, Kind.FAILING) else v.metric
            keys.add((v.case_key, v.hardware_key, metric, family))
    problems: list[Problem] = []
    for case_key, hardware_key, metric, family in sorted(keys, key=lambda k: (
            k[0], k[1] or "", k[2], k[3])):
        nights = series[(case_key, hardware_key)]
        by_night = [(runs[pk], nights[pk]) for pk in sorted(nights, key=order.__getitem__)]
        problems += _series_problems(metric, family, by_night, rows.levels, rows.goldens,
                                     runs)
    problems += _missing(rows.verdicts, rows.runs)
    problems += _nights(rows.runs)
    still = sorted((p for p in problems if p.is_open), key=lambda p: (
        ORDER.index(p.kind), -p.last.started_at.timestamp(), p.case_key or "",
        p.metric or ""))
    done = sorted((p for p in problems if not p.is_open), key=lambda p: (
        -(p.answered_at or p.last.started_at).timestamp(), p.case_key or ""))
    return Attention(tuple(still), tuple(done), len(rows.runs))


def needs_attention(engine: Engine, *, look_back_runs: int = LOOK_BACK_RUNS) -> Attention:
    """What needs someone in the last `look_back_runs` runs, open and answered."""
    return attention(attention_rows(engine, problems=[str(k) for k in PROBLEM_VERDICTS],
                                    runs=look_back_runs))


def open_since(problems: Iterable[Problem]) -> dict[tuple[str | None, str | None, str | None],
                                                    NightRef]:
    """Since when each open problem of a series and metric has been open (for a page that
    marks its rows)."""
    return {(p.case_key, p.hardware_key, p.metric): p.since for p in problems if p.is_open}
