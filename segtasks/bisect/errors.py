"""What stops a bisection before or while it runs, as one line for the user."""

from __future__ import annotations

from segtasks.errors import SegbenchError


class NotBisectable(SegbenchError):
    """The two locks differ in a way no bisection can split (the interpreter), or not at
    all, or the full change is no regression or improvement."""


class CommitsUnavailable(SegbenchError):
    """The commits of a git revision range cannot be listed (no clone, unknown revision)."""


class BudgetExhausted(SegbenchError):
    """Raised by a search's measure callback when another step would pass the budget: the
    search ends inconclusive with the steps measured so far, `step` with them: one the
    budget cut short."""

    def __init__(self, budget_s: float, spent_s: float, step: object = None) -> None:
        super().__init__(f"the bisection's budget of {budget_s:.0f} s is spent "
                         f"({spent_s:.0f} s)")
        self.budget_s = budget_s
        self.spent_s = spent_s
        self.step = step  # a BisectionStep, or None
