"""Recorded locks in the results database: once per hash, found by name, hash or prefix."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from segtasks import store
from segtasks.envs.lock import Lock, Package
from segtasks.errors import NotFound
from segtasks.store.locks import LockNotFound, get_lock, list_locks, save_lock
from segtasks.store.schema import Lock as LockRow

BASE = Lock("3.11.7", (Package("torch", "2.14.1"), Package("foo", "1.0", "file:///w/foo.whl")),
            code_revision="0123abcd" * 5)


def _rows(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(LockRow))


def test_a_lock_is_stored_once_and_found_by_name_hash_and_prefix(db_url):
    engine = store.connect(db_url)
    digest = save_lock(engine, BASE, origin="snapshot", name="baseline")
    assert digest == BASE.sha256
    assert save_lock(engine, BASE, origin="night") == digest  # every night records it again
    assert _rows(engine) == 1
    for ref in ("baseline", digest, digest[:6], digest[:12].upper()):
        found = get_lock(engine, ref)
        assert found == BASE and found.code_revision == BASE.code_revision, ref
    (row,) = list_locks(engine)
    assert (row.sha256, row.name, row.python_version, row.packages, row.code_revision,
            row.origin) == (digest, "baseline", "3.11.7", 2, BASE.code_revision, "snapshot")
    assert row.created_at.tzinfo is not None


def test_a_name_moves_to_the_lock_named_last(db_url):
    engine = store.connect(db_url)
    newer = Lock("3.11.7", (Package("torch", "2.14.0"),))
    save_lock(engine, BASE, origin="snapshot", name="baseline")
    save_lock(engine, newer, origin="snapshot", name="baseline")
    assert get_lock(engine, "baseline") == newer
    names = {row.sha256: row.name for row in list_locks(engine)}
    assert names == {BASE.sha256: None, newer.sha256: "baseline"}
    save_lock(engine, newer, origin="night")  # recorded again without a name: keeps it
    assert get_lock(engine, "baseline") == newer
    assert [row.sha256 for row in list_locks(engine)] == [newer.sha256, BASE.sha256]


def _two_sharing_a_prefix() -> tuple[Lock, Lock]:
    """Two locks whose hashes share their first 6 digits (a few thousand tries)."""
    seen: dict[str, Lock] = {}
    for n in itertools.count():
        lock = Lock("3.11.7", (Package("foo", f"1.{n}"),))
        other = seen.setdefault(lock.sha256[:6], lock)
        if other is not lock:
            return other, lock
    raise AssertionError("unreachable")


def test_an_unknown_or_ambiguous_ref_names_the_nearest(db_url):
    engine = store.connect(db_url)
    first, second = _two_sharing_a_prefix()
    save_lock(engine, first, origin="snapshot", name="torch-2.14")
    save_lock(engine, second, origin="snapshot")
    with pytest.raises(LockNotFound, match=f"{first.sha256[:6]!r} starts the hashes of 2 locks"):
        get_lock(engine, first.sha256[:6])
    assert get_lock(engine, first.sha256[:7] if first.sha256[6] != second.sha256[6]
                    else first.sha256) == first
    with pytest.raises(NotFound, match="no stored lock is named 'torch-2.41'.*nearest: "
                                       "torch-2.14"):
        get_lock(engine, "torch-2.41")
    with pytest.raises(LockNotFound, match="a hash prefix needs at least 6 digits"):
        get_lock(engine, first.sha256[:4])


def test_nothing_stored_says_so(db_url):
    engine = store.connect(db_url)
    assert list_locks(engine) == []
    with pytest.raises(LockNotFound, match="none is stored yet"):
        get_lock(engine, "baseline")
