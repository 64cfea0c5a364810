"""Measuring one case in pairs: control and treatment, each side a fresh process.

Two modes (segtasks.domain.paired.PairMode):
- interleaved: in each pair the two sides run one after the other, in that pair's order
  (segtasks.pairs.schedule: randomized, balanced), on the cores the case may use;
- duet (Bulej et al., ICPE 2020): both sides at once, started together, each pinned to
  one half of those cores, so that whatever the machine does while they run (a noisy
  neighbour, a frequency change) falls on both. Which half goes to which side follows the
  pair's order, so each side gets each half equally often and a faster half does not
  favour one side.

A side that fails (status other than ok, or disturbed) keeps its row with the reason; its
pair is left out of the ratio. New pairs stop once the budget would be exceeded.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from time import monotonic

from segtasks.domain.paired import PairMode, PairSide, Side
from segtasks.errors import SegbenchError
from segtasks.measure.placement import allowed_cores, unavailable
from segtasks.pairs.schedule import pair_orders
from segtasks.plan.case import Case, cores_text
from segtasks.result import CaseResult

log = logging.getLogger(__name__)

# the values a side stores, and so the metrics pairs can be compared on
PAIRED_METRICS = ("images_per_s", "latency_p50_ms")
SIBLINGS = "/sys/devices/system/cpu/cpu{}/topology/thread_siblings_list"
# A side is measured for its timed loop: the night's own measurement of the case makes the
# end-to-end figure, the FLOP count and the output checks. One end-to-end batch (the result
# needs the figure), and at most this long a timed loop: the pairs, not one long process,
# carry the precision, and a side's cost is paid 2 x pairs times.
SIDE_MAX_SECONDS = 6.0


def side_case(case: Case) -> Case:
    """The case as one side of a pair measures it (its key unchanged)."""
    return replace(case, seed_images=case.batch_size, end_to_end_passes=1,
                   end_to_end_seconds=0.0, max_seconds=min(case.max_seconds, SIDE_MAX_SECONDS),
                   min_seconds=min(case.min_seconds, SIDE_MAX_SECONDS))


class PairsError(SegbenchError, ValueError):
    """Pairs that cannot be measured as asked (no pairs, a duet on one core, ...)."""


@dataclass(frozen=True)
class SideSpec:
    """One side's environment: its interpreter and the lock it was built from."""

    python: str
    lock_sha256: str


@dataclass
class PairsOutcome:
    """Every side measured, in the order measured (a duet's sides in its pair's order),
    with its CaseResult at the same index."""

    mode: PairMode
    pairs_asked: int
    sides: list[PairSide] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    spent_s: float = 0.0
    budget_exhausted: bool = False

    @property
    def pairs_started(self) -> int:
        return len({s.pair for s in self.sides})

    def side_values(self, side: Side, metric: str = "images_per_s") -> list[float]:
        """Every measured, undisturbed value of one side, complete pair or not (tonight's
        control processes, for the verdict on the machine)."""
        return [v for s in self.sides if s.side == side and counts(s)
                and (v := getattr(s, metric)) is not None]

    def complete_pairs(self, metric: str = "images_per_s") -> tuple[list[float], list[float]]:
        """(control values, treatment values) of the pairs whose two sides both measured,
        in pair order: the values the paired ratio is made of."""
        if metric not in PAIRED_METRICS:
            raise PairsError(f"pairs store {', '.join(PAIRED_METRICS)}, not {metric!r}")
        by_pair: dict[int, dict[Side, float]] = {}
        for side in self.sides:
            value = getattr(side, metric)
            if counts(side) and value is not None and value > 0:
                by_pair.setdefault(side.pair, {})[side.side] = value
        complete = [by_pair[p] for p in sorted(by_pair) if len(by_pair[p]) == 2]
        return ([p[Side.CONTROL] for p in complete], [p[Side.TREATMENT] for p in complete])


def counts(side: PairSide) -> bool:
    """Whether a side's values may enter the ratio: measured, and not disturbed."""
    return side.status == "ok" and side.valid is not False


def _siblings(core: int) -> frozenset[int]:
    """The logical CPUs sharing `core`'s physical core (itself alone when unknown)."""
    try:
        text = Path(SIBLINGS.format(core)).read_text().strip()
    except OSError:
        return frozenset({core})
    found: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return frozenset(found)


def core_halves(cores: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two disjoint halves of `cores` with as many cores each, whole physical cores where
    the topology allows (hyperthread siblings share their execution units, so splitting a
    physical core between the sides would make each slow the other). An odd core or
    physical core left over is left idle: unequal halves would favour one side."""
    ordered = sorted(set(cores))
    if len(ordered) < 2:
        raise PairsError(f"a duet needs at least 2 cores, and this case may use "
                         f"{cores_text(tuple(ordered)) or 'none'}")
    groups: list[tuple[int, ...]] = []
    for core in ordered:
        group = tuple(sorted(_siblings(core) & set(ordered)))
        if group not in groups:
            groups.append(group)
    half = len(groups) // 2
    if half >= 1:
        first = tuple(c for g in groups[:half] for c in g)
        second = tuple(c for g in groups[half:2 * half] for c in g)
        if len(first) == len(second):
            return first, second
    half = len(ordered) // 2
    return tuple(ordered[:half]), tuple(ordered[half:2 * half])


def side_row(*, pair: int, position: int, side: Side, spec: SideSpec, mode: PairMode,
             result: CaseResult, cores: tuple[int, ...], seconds: float) -> PairSide:
    """A side's row from its measurement: the reason names a failure or a disturbance."""
    latency, throughput, validity = result.latency, result.throughput, result.validity
    reason = result.reason
    if result.disturbed and validity is not None:
        reason = f"disturbed: {validity.validity_reason}"
    return PairSide(
        pair=pair, position=position, side=side, lock_sha256=spec.lock_sha256, mode=mode,
        status=result.status, reason=reason,
        images_per_s=throughput.images_per_s if throughput else None,
        latency_p50_ms=latency.p50_ms if latency else None,
        ci_rel=latency.ci_rel if latency else None,
        n_batches=latency.n_batches if latency else None,
        valid=validity.valid if validity else None, cpu_affinity=tuple(cores),
        seconds=seconds)


def _run_side(case: Case, spec: SideSpec, *, inputs: Path, weights: Path,
              timeout_s: float | None, watch_pid: int | None) -> tuple[CaseResult, float]:
    from segtasks import launch  # looked up at call time, so that tests can stand in for it

    started = monotonic()
    result = launch.run_case_isolated(side_case(case), inputs, weights, timeout_s=timeout_s,
                                      watch_pid=watch_pid, python=spec.python,
                                      headline_only=True)
    return result, monotonic() - started


def duet_case(case: Case, cores: tuple[int, ...]) -> Case:
    """The case pinned to one half: one torch thread per core unless it sets its own."""
    return replace(case, cpu_affinity=cores, threads=case.threads or len(cores))


def measure_pairs(
    case: Case, *, inputs: Path, weights: Path, control: SideSpec, treatment: SideSpec,
    pairs: int, mode: PairMode, seed: int, budget_s: float | None = None,
    timeout_s: float | None = None, watch_pid: int | None = None,
    on_side: Callable[[PairSide, CaseResult], None] | None = None,
    done: frozenset[int] = frozenset(),
) -> PairsOutcome:
    """Measure `case` in `pairs` pairs of (control, treatment), each side a fresh process
    of its environment's interpreter; `seed` fixes the orders (and a duet's halves).
    `on_side` sees each side as soon as it is measured (to store it as the night goes).
    `done`: the pairs an earlier attempt of the task measured whole (a retried task
    resumes): skipped, while every other pair keeps the order the seed gives it."""
    mode = PairMode(mode)
    if pairs < 1:
        raise PairsError(f"pairs must be at least 1, not {pairs}")
    halves: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    if mode == PairMode.DUET:
        if case.device != "cpu":
            raise PairsError(f"{case.key}: a duet splits the CPU cores between the two "
                             "sides; on one GPU they would share it: measure it interleaved")
        if (why := unavailable(case.cpu_affinity)) is not None:
            raise PairsError(f"{case.key}: {why}")
        halves = core_halves(case.cpu_affinity or allowed_cores())
    specs = {Side.CONTROL: control, Side.TREATMENT: treatment}
    outcome = PairsOutcome(mode, pairs)
    started = monotonic()
    run_side = partial(_run_side, inputs=inputs, weights=weights, timeout_s=timeout_s,
                       watch_pid=watch_pid)

    def keep(row: PairSide, result: CaseResult) -> None:
        outcome.sides.append(row)
        outcome.results.append(result)
        if row.status != "ok" or row.valid is False:
            log.warning("%s pair %d %s: %s (%s); the pair is left out", case.key, row.pair,
                        row.side, row.status, row.reason)
        if on_side is not None:
            on_side(row, result)

    measured_here = 0  # pairs measured by this attempt: what the budget's pace is read from
    for pair, order in enumerate(pair_orders(pairs, random.Random(seed))):
        if pair in done:
            continue
        elapsed = monotonic() - started
        if budget_s is not None and (budget_s <= 0 or (
                measured_here > 0 and elapsed + elapsed / measured_here > budget_s)):
            outcome.budget_exhausted = True
            log.warning("%s: %d of %d pairs measured; another would pass the budget of "
                        "%.0f s", case.key, pair, pairs, budget_s)
            break
        measured_here += 1
        if halves is None:
            for position, side in enumerate(order):
                result, seconds = run_side(case, specs[side])
                keep(side_row(pair=pair, position=position, side=side, spec=specs[side],
                              mode=mode, result=result, cores=case.cpu_affinity,
                              seconds=seconds), result)
            continue
        # the pair's first side gets the first half: balanced orders, balanced halves
        placed = [(side, cores, duet_case(case, cores)) for side, cores in
                  zip(order, halves, strict=True)]
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="duet") as pool:
            futures = [pool.submit(run_side, pinned, specs[side])
                       for side, _, pinned in placed]
            measured = [f.result() for f in futures]
        for (side, cores, _), (result, seconds) in zip(placed, measured, strict=True):
            keep(side_row(pair=pair, position=0, side=side, spec=specs[side], mode=mode,
                          result=result, cores=cores, seconds=seconds), result)
    outcome.spent_s = monotonic() - started
    return outcome
