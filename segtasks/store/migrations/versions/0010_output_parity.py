"""Output parity and golden outputs: each result's outputs on the parity images against the
fp32 eager reference (parity_*, truth_iou, parity_ok), which weights it measured
(weights_origin), and its reference against the golden outputs (golden_*); the table
golden_outputs keeps the reference outputs per (weights, dataset, device kind), with the
candidates a curator may accept; the view v_output_parity reads them with their run.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

COLUMNS: list[sa.Column] = [
    sa.Column("weights_origin", sa.String(32)),
    sa.Column("parity_images", sa.Integer),
    sa.Column("parity_max_abs_diff", sa.Float),
    sa.Column("parity_mask_mismatch", sa.Float),
    sa.Column("parity_iou", sa.Float),
    sa.Column("truth_iou", sa.Float),
    sa.Column("parity_ok", sa.Boolean),
    sa.Column("device_kind", sa.String(250)),
    sa.Column("reference_checksum", sa.String(64)),
    sa.Column("golden_id", sa.Integer),
    sa.Column("golden_max_abs_diff", sa.Float),
    sa.Column("golden_mask_mismatch", sa.Float),
]

V_OUTPUT_PARITY = """
    SELECT r.id AS run_pk, r.run_id, r.started_at, r.code_version,
           x.id AS result_id, x.case_key, x.hardware_key, x.device, x.batch_size, x.precision,
           x.channels_last, x.threads, x.status, x.weights_sha256, x.weights_origin,
           x.dataset_fingerprint, x.device_kind, x.parity_images, x.parity_max_abs_diff,
           x.parity_mask_mismatch, x.parity_iou, x.truth_iou, x.parity_ok,
           x.reference_checksum, x.golden_id, x.golden_max_abs_diff, x.golden_mask_mismatch,
           g.run_pk AS golden_run_pk, g.created_at AS golden_created_at
    FROM results x
    JOIN runs r ON r.id = x.run_pk
    LEFT JOIN golden_outputs g ON g.id = x.golden_id
    WHERE x.parity_images IS NOT NULL"""


def upgrade() -> None:
    op.create_table(
        "golden_outputs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("weights_sha256", sa.String(64), nullable=False),
        sa.Column("dataset_fingerprint", sa.String(64), nullable=False),
        sa.Column("device_kind", sa.String(250), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("arrays", sa.LargeBinary),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("case_key", sa.String(64)),
        sa.Column("environment_id", sa.Integer, sa.ForeignKey("environments.id")),
        sa.Column("code_version", sa.String(64)),
        sa.Column("reason", sa.Text),
        sa.Column("accepted_by", sa.String(250)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column("replaces_id", sa.Integer),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.Column("retired_by", sa.String(250)),
        sa.UniqueConstraint("weights_sha256", "dataset_fingerprint", "device_kind", "run_pk",
                            "checksum", name="uq_golden_outputs_run_checksum"),
    )
    # one golden per (weights, dataset, device kind): parallel bench tasks racing to create
    # the first one are settled by it
    op.create_index("uq_golden_outputs_active", "golden_outputs",
                    ["weights_sha256", "dataset_fingerprint", "device_kind"], unique=True,
                    postgresql_where=sa.text("state = 'golden'"),
                    sqlite_where=sa.text("state = 'golden'"))
    with op.batch_alter_table("results") as batch:
        for column in COLUMNS:
            batch.add_column(column.copy())
    op.execute(f"CREATE VIEW v_output_parity AS {V_OUTPUT_PARITY}")


def downgrade() -> None:
    op.execute("DROP VIEW v_output_parity")
    with op.batch_alter_table("results") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
    op.drop_index("uq_golden_outputs_active", table_name="golden_outputs")
    op.drop_table("golden_outputs")
