"""Alembic environment: migrations run against the URL segbench resolved, never a config file."""

from __future__ import annotations

from alembic import context

from segtasks.store.database import engine
from segtasks.store.schema import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "segtasks.store.database.alembic_config sets the URL"

with engine(url).connect() as connection:
    if connection.dialect.name == "sqlite":
        # Batch mode rebuilds a table by DROP + RENAME; with foreign keys on, the DROP would
        # cascade into `samples` and delete every stored sample.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # ... and the RENAME back would be refused by SQLite for the views that name the
        # table; the legacy rename leaves view definitions alone, and they resolve again.
        connection.exec_driver_sql("PRAGMA legacy_alter_table=ON")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables and keeps their rows.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
