"""The intermediate environments of a package bisection: the control's lock with some
change groups moved to the treatment's versions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from segtasks.domain.bisection import ChangeGroup
from segtasks.envs.lock import Lock


def changed_names(control: Lock, treatment: Lock) -> list[str]:
    """The (normalized) names of the packages that differ, added and removed ones too,
    sorted."""
    before = {p.name: p for p in control.packages}
    after = {p.name: p for p in treatment.packages}
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))


def lock_moving_names(control: Lock, treatment: Lock, names: Iterable[str]) -> Lock:
    """The control with the packages `names` as the treatment has them: at its version,
    added where only the treatment has them, removed where it has none."""
    moving = set(names)
    kept = [p for p in control.packages if p.name not in moving]
    moved = [p for p in treatment.packages if p.name in moving]
    return Lock(python_version=control.python_version, packages=(*kept, *moved),
                code_revision=control.code_revision)


def lock_moving(control: Lock, treatment: Lock, groups: Sequence[ChangeGroup],
                moved: Iterable[int]) -> Lock:
    """The control with the packages of the groups whose indexes are `moved` at the
    treatment's versions (added or removed accordingly); the control's code revision."""
    by_index = {g.index: g for g in groups}
    names = [name for index in set(moved) for name in by_index[index].packages]
    return lock_moving_names(control, treatment, names)
