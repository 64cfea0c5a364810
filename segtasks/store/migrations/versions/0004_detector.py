"""Regression detector: runs can be excluded from baselines; verdicts keep their inputs
(direction, noise, z, rank-test p, z threshold, baseline values, software changes).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

V_REGRESSIONS = """
    SELECT r.started_at, r.run_id, r.dag_id, c.run_pk, c.case_key, c.hardware_key,
           c.metric, c.direction, c.tonight, c.baseline, c.relative_change, c.noise, c.z,
           c.rank_p, c.threshold AS min_effect, c.z_threshold, c.software_changes, c.detail,
           c.method, c.baseline_run_pks
    FROM comparisons c JOIN runs r ON r.id = c.run_pk
    WHERE c.verdict = 'regression'"""
V_REGRESSIONS_0003 = """
    SELECT r.started_at, r.run_id, r.dag_id, c.run_pk, c.case_key, c.hardware_key,
           c.metric, c.tonight, c.baseline, c.relative_change, c.threshold, c.detail,
           c.method, c.baseline_run_pks
    FROM comparisons c JOIN runs r ON r.id = c.run_pk
    WHERE c.verdict = 'regression'"""


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("excluded", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("excluded_reason", sa.Text))
        batch.add_column(sa.Column("excluded_at", sa.DateTime(timezone=True)))
    op.execute("DROP VIEW v_regressions")
    with op.batch_alter_table("comparisons") as batch:
        batch.add_column(sa.Column("direction", sa.String(16)))
        for name in ("noise", "z", "rank_p", "z_threshold"):
            batch.add_column(sa.Column(name, sa.Float))
        batch.add_column(sa.Column("baseline_values", JSON))
        batch.add_column(sa.Column("software_changes", JSON))
    op.execute(f"CREATE VIEW v_regressions AS {V_REGRESSIONS}")


def downgrade() -> None:
    op.execute("DROP VIEW v_regressions")
    with op.batch_alter_table("comparisons") as batch:
        for name in ("direction", "noise", "z", "rank_p", "z_threshold", "baseline_values",
                     "software_changes"):
            batch.drop_column(name)
    op.execute(f"CREATE VIEW v_regressions AS {V_REGRESSIONS_0003}")
    with op.batch_alter_table("runs") as batch:
        for name in ("excluded", "excluded_reason", "excluded_at"):
            batch.drop_column(name)
