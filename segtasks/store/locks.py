"""Recorded environments (segtasks.envs locks): saved once per hash, found by name or hash.

A lock's row is written once, whatever records it again (every night records the one it
ran in); a name is a movable label, like a tag: naming a lock takes the name from the lock
that had it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from segtasks.envs.lock import Lock
from segtasks.errors import NotFound
from segtasks.store.nearest import nearest
from segtasks.store.schema import Lock as LockRow

log = logging.getLogger(__name__)

MIN_PREFIX = 6  # hex digits of a hash that may name a lock
_HEX = re.compile(r"^[0-9a-f]+$")


class LockNotFound(NotFound):
    """No stored lock has that name or hash, or a hash prefix names several."""


@dataclass(frozen=True)
class StoredLock:
    """One line of `segbench env list`."""

    sha256: str
    name: str | None
    python_version: str
    packages: int
    code_revision: str | None
    origin: str  # "snapshot" (of a live environment) or "night"
    created_at: datetime

    @property
    def short(self) -> str:
        return self.sha256[:12]


def _session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def save_lock(engine: Engine, lock: Lock, *, origin: str, name: str | None = None) -> str:
    """Store `lock` unless it is stored already, name it `name` if given, and return its
    sha256. Recording the same lock again (another night, a retry) changes nothing else."""
    digest = lock.sha256
    with _session(engine) as session, session.begin():
        if session.scalar(select(LockRow.id).where(LockRow.sha256 == digest)) is None:
            try:
                with session.begin_nested():  # another process may be recording it too
                    session.add(LockRow(
                        sha256=digest, name=None, python_version=lock.python_version,
                        packages=[p.to_dict() for p in lock.packages],
                        code_revision=lock.code_revision, origin=origin,
                        created_at=datetime.now(UTC)))
            except IntegrityError:
                pass
        if name is not None:
            moved = session.execute(update(LockRow).where(LockRow.name == name,
                                                          LockRow.sha256 != digest)
                                    .values(name=None))
            if moved.rowcount:  # type: ignore[attr-defined]
                log.info("the name %r now names lock %s, no longer an earlier one",
                         name, digest[:12])
            session.execute(update(LockRow).where(LockRow.sha256 == digest).values(name=name))
    return digest


def _lock_of(row: LockRow) -> Lock:
    return Lock.from_dict({"python_version": row.python_version, "packages": row.packages,
                           "code_revision": row.code_revision})


def get_lock(engine: Engine, ref: str) -> Lock:
    """The lock named `ref`, or whose sha256 is `ref` or starts with it (at least 6 hex
    digits); LockNotFound, naming the nearest, when none or several match."""
    with _session(engine) as session:
        row = session.scalar(select(LockRow).where(LockRow.name == ref))
        if row is not None:
            return _lock_of(row)
        prefix = ref.lower()
        if len(prefix) >= MIN_PREFIX and _HEX.match(prefix):
            rows = session.scalars(select(LockRow).where(LockRow.sha256.startswith(prefix))
                                   ).all()
            if len(rows) == 1:
                return _lock_of(rows[0])
            if len(rows) > 1:
                raise LockNotFound(f"{ref!r} starts the hashes of {len(rows)} locks ("
                                   f"{', '.join(r.sha256[:12] for r in rows[:5])}): give "
                                   "more of it")
        known = session.execute(select(LockRow.name, LockRow.sha256)).all()
    names = [n for n, _ in known if n] + [digest[:12] for _, digest in known]
    hint = "" if len(prefix) >= MIN_PREFIX or not _HEX.match(prefix) else (
        f" (a hash prefix needs at least {MIN_PREFIX} digits)")
    raise LockNotFound(f"no stored lock is named {ref!r} or has a hash starting with it"
                       f"{hint}{nearest(ref, names)}")


def list_locks(engine: Engine) -> list[StoredLock]:
    """Every stored lock, newest first."""
    with _session(engine) as session:
        rows = session.scalars(select(LockRow).order_by(LockRow.created_at.desc(),
                                                        LockRow.id.desc())).all()
    return [StoredLock(sha256=r.sha256, name=r.name, python_version=r.python_version,
                       packages=len(r.packages), code_revision=r.code_revision,
                       origin=r.origin, created_at=_aware(r.created_at)) for r in rows]


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were stored in UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
