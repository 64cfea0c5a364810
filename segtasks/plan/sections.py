"""The groups the run parameters are shown in: the headings of docs/parameters.md and the
sections of Airflow's trigger form are the same, so that a user finds a parameter under the
same name in both.

The grid comes first and is the one group the form shows open: it is what a user changes
for most runs. Airflow renders a parameter without a `section` in its default area, which
is open, and folds every named section (docs "Params", Airflow 3.3), so the grid is given
no section of its form and every other group is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from segtasks.plan.case import Case
from segtasks.plan.declare import Parameter
from segtasks.plan.params import (
    PARAMETERS,
    JudgeSettings,
    NightOptions,
    PairSettings,
    RecommendSettings,
)


@dataclass(frozen=True)
class Section:
    heading: str
    about: str
    holds: Callable[[Parameter], bool]
    open_in_form: bool = False  # in the form's default area, shown unfolded


SECTIONS: tuple[Section, ...] = (
    Section("The grid", "Lists that spread into one case per combination of their values "
            "(each case is one mapped bench task).", lambda p: p.owner is Case and p.axis,
            open_in_form=True),
    Section("How each case is measured", "The same for every case of a night; stored with "
            "each result.", lambda p: p.owner is Case and not p.axis),
    Section("Judging", "The thresholds a night's results are judged with against earlier "
            "nights.", lambda p: p.owner is JudgeSettings),
    Section("The night", "What the night does with its verdicts.",
            lambda p: p.owner is NightOptions),
    Section("Recommendation", "The constraints the recommended configuration must meet.",
            lambda p: p.owner is RecommendSettings),
    Section("Paired verdict", "Which environment each case is paired against tonight, in "
            "fresh processes of randomized order, and how many pairs.",
            lambda p: p.owner is PairSettings),
)


def section_of(p: Parameter) -> Section:
    for section in SECTIONS:
        if section.holds(p):
            return section
    # a new owner of parameters needs its section above
    raise RuntimeError(f"parameter {p.name} is in no section of segtasks.plan.sections")


def _picked_from_a_list(p: Parameter) -> bool:
    return "examples" in p.schema  # Airflow's form shows a multi-select of them


def members(section: Section) -> list[Parameter]:
    """The section's parameters: those picked from a list first (the grid's devices,
    precisions, memory formats, compile modes and batch sizes, what most runs change), then
    the others (environments, CPU threads), each in declaration order."""
    mine = [p for p in PARAMETERS if section_of(p) is section]
    return sorted(mine, key=lambda p: not _picked_from_a_list(p))


def in_order() -> list[Parameter]:
    """Every parameter, section by section: the order of the form and of the docs."""
    return [p for section in SECTIONS for p in members(section)]
