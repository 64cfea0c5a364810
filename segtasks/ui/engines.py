"""The pages' connections: read-only whatever the URL's rights, and checked once for schema.

PostgreSQL sessions start with `default_transaction_read_only` (a write fails inside the
server, whichever role connects) and a statement timeout, so a page can neither change
the history nor hold the database for long. SQLite files are opened with `mode=ro`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from segtasks import store
from segtasks.store.database import head_revision, masked, normalize

STATEMENT_TIMEOUT_MS = 10_000
_readers: dict[str, Engine] = {}
_checked: set[str] = set()


def read_only_engine(url: str) -> Engine:
    """One pooled read-only engine per URL per process."""
    url = normalize(url)
    if url not in _readers:
        _readers[url] = _create(url)
    return _readers[url]


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise store.StoreUnavailable("the pages need a results database file, not an "
                                         "in-memory SQLite database")
        path = Path(parsed.database).resolve()
        if not path.is_file():
            raise store.StoreUnavailable(f"no results database at {path}: run "
                                         "`segbench db upgrade` or a night first")
        return create_engine(f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true",
                             connect_args={"timeout": 30})
    if parsed.get_backend_name() == "postgresql":
        options = f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS}"
        return create_engine(url, pool_pre_ping=True,
                             connect_args={"connect_timeout": 10, "options": options})
    raise store.StoreUnavailable(f"unsupported results database {masked(url)}: "
                                 "PostgreSQL or SQLite")


def reader(url: str) -> Engine:
    """The read-only engine, once it answered and its schema is the one this code reads."""
    from alembic.runtime.migration import MigrationContext

    url = normalize(url)
    engine = read_only_engine(url)
    if url in _checked:
        return engine
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        cause = str(getattr(exc, "orig", exc)).strip().splitlines()
        raise store.StoreUnavailable(
            f"cannot read the results database at {masked(url)}: "
            f"{cause[0] if cause else type(exc).__name__}") from None
    head = head_revision()
    if current != head:
        raise store.SchemaOutdated(
            f"the results database at {masked(url)} is at schema revision {current}, "
            f"these pages need {head}: run `segbench db upgrade`")
    _checked.add(url)
    return engine


def writer(url: str) -> Engine:
    """The actions' engine: the store's own, with its schema check."""
    return store.connect(url)


def dispose(url: str) -> None:
    url = normalize(url)
    _checked.discard(url)
    engine = _readers.pop(url, None)
    if engine is not None:
        engine.dispose()
