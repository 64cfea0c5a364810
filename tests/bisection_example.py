"""An example bisection as plain values and stored with segtasks.store.bisections, for the
tests of what reads it back (the store, the report, the pages, the alerts, the view).

The figures are the issue's: of the two changes between the paired night's locks
(paired_nights.CONTROL and TREATMENT), torch with torchvision makes the case 6.0% slower
(ratio 0.940, interval 0.929 .. 0.951), numpy has no effect (ratio 1.002, 0.992 .. 1.012).
"""

from __future__ import annotations

from dataclasses import replace

from factories import HARDWARE
from paired_nights import CONTROL, TREATMENT

from segtasks.domain.bisection import (
    Bisection,
    BisectionKind,
    BisectionOutcome,
    BisectionStep,
    ChangeGroup,
)
from segtasks.store import bisections

TORCH = ChangeGroup(0, ("torch 2.14.0 -> 2.14.1", "torchvision 0.29.0 -> 0.29.1"),
                    ("torch", "torchvision"))
NUMPY = ChangeGroup(1, ("numpy 2.3.4 -> 2.3.5",), ("numpy",))
LINE = ("culprit: torch 2.14.0 -> 2.14.1 (with torchvision 0.29.0 -> 0.29.1): 6.0% slower "
        "+-1.1%; numpy 2.3.4 -> 2.3.5: no effect (0.2% faster +-1.0%)")


def step(number: int, moved: tuple[int, ...], verdict: str, ratio: float | None = None,
         half: float = 0.011, **changes) -> BisectionStep:
    """A step measured in 5 pairs over 60 s; its interval `ratio` +- `half`."""
    interval = {} if ratio is None else {"ci_low": ratio - half, "ci_high": ratio + half}
    found = {"pairs": 5, "mde": 0.02, "seconds": 60.0, **interval, **changes}
    return BisectionStep(step=number, moved=moved, lock_sha256=f"{number:064x}",
                         verdict=verdict, ratio=ratio, **found)


STEPS = (step(0, (0,), "regression", 0.940), step(1, (1,), "unchanged", 1.002, 0.010))


def example(**changes) -> Bisection:
    """The issue's bisection, finished with torch as the culprit; `changes` make others."""
    base = Bisection(case_key="cpu-bs1-fp32", hardware_key=HARDWARE, metric="images_per_s",
                     control_lock=CONTROL, treatment_lock=TREATMENT,
                     kind=BisectionKind.PACKAGES, outcome=BisectionOutcome.CULPRIT,
                     groups=(TORCH, NUMPY), steps=STEPS, culprit=(0,), effect_ratio=0.939,
                     effect_ci_low=0.928, effect_ci_high=0.950, min_effect=0.05,
                     confidence=0.95, detail="torch 2.14.0 -> 2.14.1 explains the effect",
                     budget_s=600.0, spent_s=120.0)
    return replace(base, **changes)


def add_bisection(engine, run_pk: int, b: Bisection | None = None) -> int:
    """Store `b` (the example by default) for run `run_pk` as segtasks.bisect does: started,
    each step added, finished. Returns its id."""
    b = example() if b is None else b
    pk = bisections.start_bisection(engine, run_pk, replace(b, steps=()))
    for s in b.steps:
        bisections.add_step(engine, pk, s)
    bisections.finish_bisection(engine, pk, b)
    return pk
