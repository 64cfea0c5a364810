"""Paired nights: software environments as recorded locks, and the pairs that compare them.

- `locks`: a Python environment as a lock: interpreter version and every installed
  distribution (name, version, and its source where it is not the registry), with the
  project's code revision where it was snapshotted. `sha256` covers the interpreter and the
  packages, not the code revision: the harness is tonight's segtasks on both sides.
- `runs.lock_sha256`: the lock a night ran in (its treatment). `results.lock_sha256`: the
  lock a case was measured in (the case key names it when a night has several).
- `pairs`: each measuring process of a paired case: which pair, its position in the pair
  (the order is randomized), which side (control or treatment), in which lock and mode
  (interleaved: one after the other; duet: both at once on disjoint cores), and its values.
- `paired_verdicts`: the verdict on software from the paired ratio (treatment over
  control) with its interval and minimum detectable effect, beside the verdict on the
  machine from the control's own series across nights.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "locks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(250)),
        sa.Column("python_version", sa.String(64), nullable=False),
        sa.Column("packages", JSON, nullable=False),
        sa.Column("code_revision", sa.String(64)),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_locks_name", "locks", ["name"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("lock_sha256", sa.String(64)))
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("lock_sha256", sa.String(64)))
    op.create_table(
        "pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("pair", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("lock_sha256", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("images_per_s", sa.Float),
        sa.Column("latency_p50_ms", sa.Float),
        sa.Column("ci_rel", sa.Float),
        sa.Column("n_batches", sa.Integer),
        sa.Column("valid", sa.Boolean),
        sa.Column("cpu_affinity", JSON),
        sa.Column("seconds", sa.Float),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("run_pk", "case_key", "pair", "side",
                            name="uq_pairs_run_case_pair_side"),
    )
    op.create_table(
        "paired_verdicts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("hardware_key", sa.String(250)),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("control_lock", sa.String(64), nullable=False),
        sa.Column("treatment_lock", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("pairs", sa.Integer, nullable=False),
        sa.Column("ratio", sa.Float),
        sa.Column("ci_low", sa.Float),
        sa.Column("ci_high", sa.Float),
        sa.Column("p_value", sa.Float),
        sa.Column("mde", sa.Float),
        sa.Column("min_effect", sa.Float),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("machine_verdict", sa.String(32)),
        sa.Column("machine_change", sa.Float),
        sa.Column("machine_detail", sa.Text),
        sa.Column("packages_changed", JSON),
        sa.Column("detail", sa.Text),
        sa.Column("budget_s", sa.Float),
        sa.Column("spent_s", sa.Float),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("run_pk", "case_key", "metric",
                            name="uq_paired_verdicts_run_case_metric"),
    )
    op.create_index("ix_paired_verdicts_verdict", "paired_verdicts", ["verdict", "run_pk"])


def downgrade() -> None:
    op.drop_index("ix_paired_verdicts_verdict", table_name="paired_verdicts")
    op.drop_table("paired_verdicts")
    op.drop_table("pairs")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("lock_sha256")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("lock_sha256")
    op.drop_index("ix_locks_name", table_name="locks")
    op.drop_table("locks")
