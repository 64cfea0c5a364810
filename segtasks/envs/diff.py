"""What differs between two locks, one line per package (and the interpreter)."""

from __future__ import annotations

from segtasks.envs.lock import Lock, Package

ABSENT = "absent"


def _shown(package: Package | None, *, with_source: bool) -> str:
    if package is None:
        return ABSENT
    if with_source:  # only the source differs: say where each came from
        return f"{package.version} ({package.source or 'registry'})"
    return package.version


def package_changes(control: Lock, treatment: Lock) -> list[str]:
    """E.g. ["python 3.11.7 -> 3.12.1", "torch 2.14.0 -> 2.14.1", "foo 1.0 -> absent"],
    sorted; empty when the two locks hold the same interpreter and packages."""
    changes = []
    if control.python_version != treatment.python_version:
        changes.append(f"python {control.python_version} -> {treatment.python_version}")
    before = {p.name: p for p in control.packages}
    after = {p.name: p for p in treatment.packages}
    for name in before.keys() | after.keys():
        old, new = before.get(name), after.get(name)
        if old != new:
            same_version = old is not None and new is not None and old.version == new.version
            changes.append(f"{name} {_shown(old, with_source=same_version)} -> "
                           f"{_shown(new, with_source=same_version)}")
    return sorted(changes)
