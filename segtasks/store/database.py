"""Which results database to use, how to reach it, and whether its schema is current.

Every failure to reach it names the URL without its password, so the message can
be pasted into a ticket.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from segtasks import paths
from segtasks.errors import SegbenchError

URL_ENV = "SEGBENCH_DB_URL"
MIGRATIONS = Path(__file__).parent / "migrations"


class StoreUnavailable(SegbenchError, RuntimeError):
    """The results database cannot be reached (down, wrong URL, wrong credentials)."""


class ResultSpooled(StoreUnavailable):
    """The case was measured, but the database failed while storing it: the result waits in
    the spool (segtasks.store.spool) for the next attempt or run."""


class SchemaOutdated(SegbenchError, RuntimeError):
    """The results database exists but its schema is not the one this code writes."""


class BadDatabaseUrl(SegbenchError, ValueError):
    """The results URL is not a URL, or names a driver that is not installed."""


def normalize(url: str) -> str:
    """Pin a bare PostgreSQL URL to psycopg2, the driver this project installs.

    Airflow connections of type `postgres` render as postgres://, which SQLAlchemy 2
    refuses, and SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3.
    """
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


def resolve_url(explicit: str | None = None) -> str:
    """The explicit URL, else $SEGBENCH_DB_URL, else the embedded SQLite file under var/.

    An explicit URL that is empty (`--url ''`, a variable that expanded to nothing) is an
    error: falling back to the default would write the night somewhere nobody asked for."""
    if explicit is not None and not explicit.strip():
        raise BadDatabaseUrl("the results URL is empty: give one (e.g. "
                             "postgresql://user@host/segbench or sqlite:////abs/path.db), or "
                             f"leave --url out for ${URL_ENV} or var/segbench.db")
    url = explicit or os.environ.get(URL_ENV)
    if url:
        return normalize(url)
    path = paths.default_sqlite_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL must still be shown, just not its secret
        return url.split("@")[-1]


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets parallel bench tasks write while the compare task reads.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


_engines: dict[str, Engine] = {}
# Databases already found at the head revision by this process: a schema is not
# downgraded under a running benchmark, and each check costs a round of Alembic.
_current_schema: set[str] = set()


def engine(url: str) -> Engine:
    """One pooled engine per URL per process."""
    url = normalize(url)
    if url not in _engines:
        try:
            if url.startswith("sqlite"):
                eng = create_engine(url, connect_args={"timeout": 30})
                event.listen(eng, "connect", _sqlite_pragmas)
            else:
                eng = create_engine(url, pool_pre_ping=True,
                                    connect_args={"connect_timeout": 10})
        except ArgumentError as exc:  # NoSuchModuleError (unknown dialect) is one too
            raise BadDatabaseUrl(f"the results URL {masked(url)} is not usable: "
                                 f"{_first_line(exc)}") from None
        except ImportError as exc:  # the dialect is known, its driver is not installed
            raise BadDatabaseUrl(f"the results URL {masked(url)} needs the Python package "
                                 f"{exc.name or exc}, which is not installed") from None
        _engines[url] = eng
    return _engines[url]


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def dispose(url: str) -> None:
    """Close the pooled connections to `url` and forget what was checked about it."""
    url = normalize(url)
    _current_schema.discard(url)
    eng = _engines.pop(url, None)
    if eng is not None:
        eng.dispose()


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = alembic_config("sqlite://")
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with _connect(url) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None: not SQLite, or in memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("mode") == "memory" or str(parsed.database).startswith("file:"):
        return None
    return Path(str(parsed.database))


def _refuse_missing_sqlite(url: str) -> None:
    """Connecting to SQLite creates its file: a URL that only gets refused (no schema) must
    not leave an empty file behind, so a file that is not there is refused first."""
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        where = "" if path.is_absolute() else f", relative to {Path.cwd()}"
        raise SchemaOutdated(
            f"the results database at {masked(url)} has no segbench tables yet: run "
            f"`segbench db upgrade` (its file {path.absolute()} does not exist{where})")


def _connect(url: str, *, create: bool = False):  # type: ignore[no-untyped-def]
    if not create:
        _refuse_missing_sqlite(url)
    try:
        return engine(url).connect()
    except (OperationalError, DBAPIError) as exc:
        cause = str(getattr(exc, "orig", exc)).strip().splitlines()
        raise StoreUnavailable(
            f"cannot reach the results database at {masked(url)}: "
            f"{cause[0] if cause else type(exc).__name__}"
        ) from None


def connect(url: str | None = None, check_schema: bool = True) -> Engine:
    """An engine for the results database, after checking it answers and is migrated."""
    url = resolve_url(url)
    with _connect(url) as conn:
        conn.execute(text("SELECT 1"))
    if check_schema and url not in _current_schema:
        current, head = current_revision(url), head_revision()
        if current is None:
            raise SchemaOutdated(
                f"the results database at {masked(url)} has no segbench tables yet: "
                "run `segbench db upgrade`"
            )
        if current != head:
            raise SchemaOutdated(
                f"the results database at {masked(url)} is at schema revision {current}, "
                f"this code needs {head}: run `segbench db upgrade`"
            )
        _current_schema.add(url)
    return engine(url)


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Create or migrate the schema in place; returns the URL (masked) that was upgraded."""
    from alembic import command

    url = resolve_url(url)
    with _connect(url, create=True) as conn:
        _refuse_foreign_tables(conn, url)
    command.upgrade(alembic_config(url), revision)
    return masked(url)


def _refuse_foreign_tables(conn, url: str) -> None:  # type: ignore[no-untyped-def]
    """A database without segbench's migration history but with tables of the names it
    would create belongs to something else: say so rather than fail half-way in Alembic."""
    from alembic.runtime.migration import MigrationContext

    if MigrationContext.configure(conn).get_current_revision() is not None:
        return
    ours = {"runs", "environments", "results", "samples", "comparisons", "baseline_levels"}
    clash = sorted(ours & set(inspect(conn).get_table_names()))
    if clash:
        raise SchemaOutdated(
            f"the results database at {masked(url)} already holds tables named "
            f"{', '.join(clash)} that segbench did not create (no migration history): "
            "use an empty database for segbench's results")
