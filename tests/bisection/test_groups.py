"""Change groups with the real uv: a package whose new version needs another's new version
moves with it; the others move alone."""

from __future__ import annotations

import logging

import pytest

from segtasks.bisect import groups as groups_module
from segtasks.bisect.errors import NotBisectable
from segtasks.bisect.groups import change_groups
from segtasks.bisect.locks import lock_moving
from segtasks.domain.bisection import ChangeGroup
from segtasks.envs.lock import Lock, Package

from .conftest import NO_INDEX, lock, tiny


@pytest.fixture
def abc(tmp_path, uv_cache):
    """Control: pkg-a 1.0, pkg-b 1.0, pkg-c 1.0, pkg-gone 1.0, pkg-same 1.0; treatment: each
    at 2.0 (pkg-b 2.0 needs pkg-a>=2), pkg-gone removed, pkg-new added."""
    w = tmp_path / "wheels"
    same = tiny(w, "pkg-same", "1.0")
    control = lock(tiny(w, "pkg-a", "1.0"), tiny(w, "pkg-b", "1.0"), tiny(w, "pkg-c", "1.0"),
                   tiny(w, "pkg-gone", "1.0"), same)
    treatment = lock(tiny(w, "pkg-a", "2.0"), tiny(w, "pkg-b", "2.0", ["pkg-a>=2"]),
                     tiny(w, "pkg-c", "2.0"), tiny(w, "pkg-new", "1.0"), same)
    return control, treatment


def _count_uv_calls(monkeypatch):
    calls = []
    real = groups_module._Resolver._compile

    def counted(self, lock, *, offline):
        calls.append((lock.short, offline))
        return real(self, lock, offline=offline)

    monkeypatch.setattr(groups_module._Resolver, "_compile", counted)
    return calls


def test_packages_that_must_move_together_are_one_group(abc, monkeypatch):
    control, treatment = abc
    calls = _count_uv_calls(monkeypatch)
    groups = change_groups(control, treatment, settings=NO_INDEX)
    assert groups == (
        ChangeGroup(0, ("pkg-a 1.0 -> 2.0", "pkg-b 1.0 -> 2.0"), ("pkg-a", "pkg-b")),
        ChangeGroup(1, ("pkg-c 1.0 -> 2.0",), ("pkg-c",)),
        ChangeGroup(2, ("pkg-gone 1.0 -> absent",), ("pkg-gone",)),
        ChangeGroup(3, ("pkg-new absent -> 1.0",), ("pkg-new",)),
    )
    # the control once, each of the 5 packages once and the merged group once, offline
    # (the control resolves offline); pkg-b alone, failing offline, once more online
    # (offline, uv cannot tell a conflict from a version its cache lacks)
    moved_b = groups_module.lock_moving_names(control, treatment, ["pkg-b"]).short
    assert [offline for short, offline in calls if short == moved_b] == [True, False]
    assert len(calls) == 1 + 5 + 1 + 1


def test_lock_moving_moves_the_groups_packages_to_the_treatments(abc):
    control, treatment = abc
    groups = change_groups(control, treatment, settings=NO_INDEX)
    moved = lock_moving(control, treatment, groups, [0, 2, 3])
    assert {p.name: p.version for p in moved.packages} == {
        "pkg-a": "2.0", "pkg-b": "2.0", "pkg-c": "1.0", "pkg-new": "1.0", "pkg-same": "1.0"}
    assert moved.package("pkg-b") == treatment.package("pkg-b")
    assert lock_moving(control, treatment, groups, []) == control
    assert lock_moving(control, treatment, groups, range(4)) == treatment
    revised = Lock(control.python_version, control.packages, code_revision="abc123")
    assert lock_moving(revised, treatment, groups, [1]).code_revision == "abc123"


def test_a_conflict_naming_no_other_changed_package_makes_one_group(tmp_path, uv_cache,
                                                                      caplog):
    w = tmp_path / "wheels"
    # pkg-pin, unchanged, caps pkg-c: no group can move pkg-c to 2.0 alone
    pin = tiny(w, "pkg-pin", "1.0", ["pkg-c<2"])
    control = lock(tiny(w, "pkg-a", "1.0"), tiny(w, "pkg-c", "1.0"), pin)
    treatment = lock(tiny(w, "pkg-a", "2.0"), tiny(w, "pkg-c", "2.0"), pin)
    with caplog.at_level(logging.WARNING, logger=groups_module.__name__):
        groups = change_groups(control, treatment, settings=NO_INDEX)
    assert [g.packages for g in groups] == [("pkg-a", "pkg-c")]
    assert any("names no other changed package" in r.getMessage() for r in caplog.records)


def test_a_single_changed_package_asks_uv_nothing(abc, monkeypatch):
    control, _ = abc
    calls = _count_uv_calls(monkeypatch)
    moved_c = Lock(control.python_version, (*(p for p in control.packages
                                              if p.name != "pkg-c"),
                                            Package("pkg-c", "9.0")))
    groups = change_groups(control, moved_c, settings=NO_INDEX)
    assert [g.changes for g in groups] == [("pkg-c 1.0 -> 9.0",)]
    assert calls == []


def test_an_interpreter_change_cannot_be_bisected(abc):
    control, treatment = abc
    other = Lock("3.99.0", treatment.packages)
    with pytest.raises(NotBisectable, match=r"python 3\.\d+\.\d+ -> 3\.99\.0"):
        change_groups(control, other, settings=NO_INDEX)
    with pytest.raises(NotBisectable, match="nothing to bisect"):
        change_groups(control, control, settings=NO_INDEX)
