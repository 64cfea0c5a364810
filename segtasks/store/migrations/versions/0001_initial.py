"""Initial schema: runs, results (metric columns), samples, comparisons.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("logical_date", TS),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("code_version", sa.String(64)),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("state", sa.String(32), nullable=False),
        sa.UniqueConstraint("dag_id", "run_id", name="uq_runs_dag_run"),
    )
    metric = [
        sa.Column(name, sa.Float)
        for name in (
            "total_s", "ms_per_image", "images_per_s", "latency_mean_ms", "latency_p50_ms",
            "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "latency_std_ms",
            "latency_min_ms", "latency_max_ms", "cold_start_ms", "load_s", "preprocess_s",
        )
    ]
    op.create_table(
        "results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("device", sa.String(16), nullable=False),
        sa.Column("batch_size", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("hardware_key", sa.String(250)),
        sa.Column("environment", JSON, nullable=False),
        sa.Column("weights_sha256", sa.String(64)),
        sa.Column("dataset_fingerprint", sa.String(64)),
        sa.Column("inputs_skipped", sa.Integer),
        sa.Column("warmup_batches", sa.Integer, nullable=False),
        sa.Column("n_images", sa.Integer),
        sa.Column("n_batches", sa.Integer),
        *metric,
        sa.Column("cuda_peak_allocated_bytes", sa.BigInteger),
        sa.Column("cuda_peak_reserved_bytes", sa.BigInteger),
        sa.Column("host_peak_rss_bytes", sa.BigInteger),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("run_pk", "case_key", name="uq_results_run_case"),
        sa.CheckConstraint("status IN ('ok', 'oom', 'skipped', 'error')",
                           name="ck_results_status"),
    )
    op.create_index("ix_results_series", "results", ["case_key", "hardware_key", "run_pk"])
    op.create_table(
        "samples",
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )
    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("hardware_key", sa.String(250)),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("tonight", sa.Float),
        sa.Column("baseline", sa.Float),
        sa.Column("relative_change", sa.Float),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("baseline_run_pks", JSON, nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("run_pk", "case_key", "metric",
                            name="uq_comparisons_run_case_metric"),
    )
    op.create_index("ix_comparisons_verdict", "comparisons", ["verdict", "run_pk"])


def downgrade() -> None:
    op.drop_table("comparisons")
    op.drop_table("samples")
    op.drop_index("ix_results_series", table_name="results")
    op.drop_table("results")
    op.drop_table("runs")
