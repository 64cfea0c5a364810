"""Baseline curation: accepted new levels per series (who, why, when; undoable), and who
excluded a run. View v_baseline_levels lists the levels with their runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
V_BASELINE_LEVELS = """
    SELECT b.id, b.case_key, b.hardware_key, b.from_run_pk, r.run_id AS from_run_id,
           r.started_at AS level_since, b.reason, b.accepted_by, b.accepted_at,
           b.undone_by, b.undone_at, b.undone_at IS NULL AS active
    FROM baseline_levels b JOIN runs r ON r.id = b.from_run_pk"""


def upgrade() -> None:
    op.create_table(
        "baseline_levels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("hardware_key", sa.String(250), nullable=False),
        sa.Column("from_run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("accepted_by", sa.String(250), nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        sa.Column("undone_by", sa.String(250)),
        sa.Column("undone_at", TS),
    )
    op.create_index("ix_baseline_levels_series", "baseline_levels",
                    ["case_key", "hardware_key"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("excluded_by", sa.String(250)))
    op.execute(f"CREATE VIEW v_baseline_levels AS {V_BASELINE_LEVELS}")


def downgrade() -> None:
    op.execute("DROP VIEW v_baseline_levels")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("excluded_by")
    op.drop_index("ix_baseline_levels_series", table_name="baseline_levels")
    op.drop_table("baseline_levels")
