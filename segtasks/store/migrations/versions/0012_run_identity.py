"""Whose run it is: every write checks the run's identity; stale runs can be closed.

- `runs.token`: a random token made with the run. A database dropped and recreated at the
  same URL hands the same primary keys out again, to other runs: a night addresses its run
  by (id, dag_id, run_id, token), never by the id alone (NULL on runs from before).
- `runs.heartbeat_at`, `runs.stale_after_s`: when the night's process last said it was
  alive, and how long it may stay silent before the run counts as abandoned (its process
  killed outright, or its host lost) and the next night closes it.
- `results.attempt_sha256`: a digest of the measurement stored in the row. A second write of
  the same case is the same attempt (a replayed spool file: idempotent) or refused, never a
  silent overwrite of another process's row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

RUN_COLUMNS: list[sa.Column] = [
    sa.Column("token", sa.String(32)),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
    sa.Column("stale_after_s", sa.Float),
]


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for column in RUN_COLUMNS:
            batch.add_column(column.copy())
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("attempt_sha256", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("attempt_sha256")
    with op.batch_alter_table("runs") as batch:
        for column in reversed(RUN_COLUMNS):
            batch.drop_column(column.name)
