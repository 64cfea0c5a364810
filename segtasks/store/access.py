"""Read-only PostgreSQL roles for the people who query the history."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from segtasks.errors import SegbenchError

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class AccessError(SegbenchError, ValueError):
    """A role cannot be granted here (bad name, or not PostgreSQL)."""


def grant_reader(engine: Engine, role: str, password: str | None = None) -> str:
    """Create (or update) `role`: it can log in and read every table and view, now and later.

    Run it as the role that owns the schema (the one that runs `segbench db upgrade`), so
    that its default privileges cover what later migrations create.
    """
    if engine.dialect.name != "postgresql":
        raise AccessError(
            "read-only roles are a PostgreSQL feature; with SQLite, open the file read-only "
            "instead, e.g. sqlite3 'file:var/segbench.db?mode=ro'"
        )
    if not ROLE_NAME.match(role):
        raise AccessError(f"role name {role!r} must be lower-case letters, digits and _, "
                          "starting with a letter or _")
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        manages_roles = conn.scalar(text(
            "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"))
        if manages_roles:
            if not exists:
                conn.exec_driver_sql(f"CREATE ROLE {quote(role)} LOGIN")
            if password is not None:
                # psycopg2 quotes the literal itself; DDL takes no bound parameters
                conn.exec_driver_sql(f"ALTER ROLE {quote(role)} PASSWORD %s", (password,))
            conn.exec_driver_sql(
                f"ALTER ROLE {quote(role)} SET default_transaction_read_only = on")
        elif not exists or password is not None:
            raise AccessError(
                f"{role}: this database user may not create or alter roles; ask an admin for "
                f"CREATE ROLE {role} LOGIN PASSWORD '...', then run grant-reader again")
        database = conn.scalar(text("SELECT current_database()"))
        for statement in (
            f"GRANT CONNECT ON DATABASE {quote(database)} TO {quote(role)}",
            f"GRANT USAGE ON SCHEMA public TO {quote(role)}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quote(role)}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {quote(role)}",
        ):
            conn.exec_driver_sql(statement)
    return f"role {role} can now read {database} (tables and views, including future ones)"
