"""Bisections: which change between a paired night's two locks explains its verdict.

- `bisections`: one per (run, case, metric, control lock, treatment lock): the change groups
  (`groups`, JSON: index, changes, packages, commit), the outcome (culprit, together,
  several, inconclusive, failed), the culprit's group indexes (`culprit`, JSON) and their
  changes as text (`culprit_changes`, written at finish, so that SQL on either dialect reads
  it without JSON functions), the effect it set out to explain with its interval, the
  minimum effect, the confidence of every interval, the budget and the time spent;
  `finished_at` is NULL while it runs (a resumed bisection finds its row by the unique key).
- `bisection_steps`: one per intermediate environment measured against the control: which
  groups it moved, its lock, its paired verdict, ratio, interval, MDE, pairs and seconds.

View: v_bisections, one row per bisection with its run, outcome, culprit and step count.

Revision ID: 0017_bisections
Revises: 0016_runtimes
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0017_bisections"
down_revision = "0016_runtimes"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)

# effects as relative changes (-0.06: 6% lower with the treatment), as people read them
V_BISECTIONS = """
    SELECT b.id AS bisection_pk, b.run_pk, r.run_id, r.started_at, b.case_key,
           b.hardware_key, b.metric, b.kind, b.outcome, b.culprit_changes,
           b.effect_ratio - 1 AS effect_change, b.effect_ci_low - 1 AS effect_ci_low_change,
           b.effect_ci_high - 1 AS effect_ci_high_change, b.min_effect, b.confidence,
           (SELECT COUNT(*) FROM bisection_steps s WHERE s.bisection_pk = b.id) AS steps,
           b.budget_s, b.spent_s, b.detail, b.control_lock, b.treatment_lock,
           b.created_at, b.finished_at
    FROM bisections b
    JOIN runs r ON r.id = b.run_pk"""


def upgrade() -> None:
    op.create_table(
        "bisections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("hardware_key", sa.String(250)),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("control_lock", sa.String(64), nullable=False),
        sa.Column("treatment_lock", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("culprit", JSON, nullable=False),
        sa.Column("culprit_changes", sa.Text),
        sa.Column("effect_ratio", sa.Float),
        sa.Column("effect_ci_low", sa.Float),
        sa.Column("effect_ci_high", sa.Float),
        sa.Column("min_effect", sa.Float),
        sa.Column("confidence", sa.Float),
        sa.Column("detail", sa.Text),
        sa.Column("budget_s", sa.Float),
        sa.Column("spent_s", sa.Float),
        sa.Column("groups", JSON, nullable=False),
        sa.Column("extra", JSON),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.UniqueConstraint("run_pk", "case_key", "metric", "control_lock", "treatment_lock",
                            name="uq_bisections_run_case_metric_locks"),
    )
    op.create_table(
        "bisection_steps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("bisection_pk", sa.Integer,
                  sa.ForeignKey("bisections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("moved", JSON, nullable=False),
        sa.Column("lock_sha256", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("pairs", sa.Integer, nullable=False),
        sa.Column("ratio", sa.Float),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("mde", sa.Float),
        sa.Column("seconds", sa.Float),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("bisection_pk", "step", name="uq_bisection_steps_bisection_step"),
    )
    op.execute(f"CREATE VIEW v_bisections AS {V_BISECTIONS}")


def downgrade() -> None:
    op.execute("DROP VIEW v_bisections")
    op.drop_table("bisection_steps")
    op.drop_table("bisections")
