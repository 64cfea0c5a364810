"""Comparisons say `min_effect` (it was `threshold`, NULL for status verdicts, which have
none); results keep the end-to-end image count that was asked for (`seed_images`), and
their warnings are never NULL (an empty list), as the ORM always wrote them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

V_REGRESSIONS = """
    SELECT r.started_at, r.run_id, r.dag_id, c.run_pk, c.case_key, c.hardware_key,
           c.metric, c.direction, c.tonight, c.baseline, c.relative_change, c.noise, c.z,
           c.rank_p, c.{column} AS min_effect, c.z_threshold, c.software_changes, c.detail,
           c.method, c.baseline_run_pks
    FROM comparisons c JOIN runs r ON r.id = c.run_pk
    WHERE c.verdict = 'regression'"""


def upgrade() -> None:
    op.execute("DROP VIEW v_regressions")
    with op.batch_alter_table("comparisons") as batch:
        batch.alter_column("threshold", new_column_name="min_effect", existing_type=sa.Float,
                           nullable=True)
    op.execute("UPDATE comparisons SET min_effect = NULL WHERE metric = 'status'")
    op.execute(f"CREATE VIEW v_regressions AS {V_REGRESSIONS.format(column='min_effect')}")
    op.execute("UPDATE results SET warnings = '[]' WHERE warnings IS NULL")
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("seed_images", sa.Integer))
        batch.alter_column("warnings", existing_type=JSON, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.alter_column("warnings", existing_type=JSON, nullable=True)
        batch.drop_column("seed_images")
    op.execute("DROP VIEW v_regressions")
    op.execute("UPDATE comparisons SET min_effect = 0.0 WHERE min_effect IS NULL")
    with op.batch_alter_table("comparisons") as batch:
        batch.alter_column("min_effect", new_column_name="threshold", existing_type=sa.Float,
                           nullable=False)
    op.execute(f"CREATE VIEW v_regressions AS {V_REGRESSIONS.format(column='threshold')}")
