"""What a night set out to do and what it left undone: its run state follows Airflow's.

- `runs.planned_cases`: the case keys the night planned (written when it opens): a night's
  progress is its stored results out of these, and a case with no stored result when the
  night closes did not finish.
- `runs.confirm_jobs`: the confirming processes screening asked for ({"case_key",
  "device", "process"}), in the order the DAG maps them.
- `runs.unfinished`: once closed, what did not finish, one line each naming the task and
  the case (e.g. `cpu-bs2-fp32: not measured (bench_cpu[1] failed)`). A night closed with
  such lines is `incomplete` unless it failed or regressed besides.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
RUN_COLUMNS = ("planned_cases", "confirm_jobs", "unfinished")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for name in RUN_COLUMNS:
            batch.add_column(sa.Column(name, JSON))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for name in reversed(RUN_COLUMNS):
            batch.drop_column(name)
