"""Measurement protocol: case axes (precision, channels_last, threads) in the case key,
stopping-rule settings and outcome, per-phase times, end-to-end figure, FLOP rates,
NVML memory, warnings; per-batch phases in samples.

Existing rows keep their data: their case keys gain the `-fp32` they implicitly had,
and their total preprocessing time becomes a per-batch mean like the new rows'.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
FLOATS = (
    "warmup_seconds", "min_seconds", "max_seconds", "ci_target", "latency_iqr_ms",
    "latency_cv", "ci_low_ms", "ci_high_ms", "ci_rel", "preprocess_ms", "h2d_ms",
    "forward_ms", "postprocess_ms", "end_to_end_s", "gflop_per_image", "gflops_per_s",
    "peak_tflops", "pct_of_peak",
)
PHASES = ("preprocess_ms", "h2d_ms", "forward_ms", "postprocess_ms")


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("precision", sa.String(8), nullable=False,
                                   server_default="fp32"))
        batch.add_column(sa.Column("channels_last", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("threads", sa.Integer))
        batch.add_column(sa.Column("warnings", JSON))
        batch.add_column(sa.Column("min_batches", sa.Integer))
        batch.add_column(sa.Column("stable", sa.Boolean))
        batch.add_column(sa.Column("stop_reason", sa.String(16)))
        batch.add_column(sa.Column("end_to_end_images", sa.Integer))
        batch.add_column(sa.Column("cuda_model_bytes", sa.BigInteger))
        batch.add_column(sa.Column("nvml_process_bytes", sa.BigInteger))
        batch.add_column(sa.Column("gpu_other_processes", sa.Integer))
        for name in FLOATS:
            batch.add_column(sa.Column(name, sa.Float))
    op.execute("UPDATE results SET preprocess_ms = preprocess_s * 1000.0 / n_batches "
               "WHERE preprocess_s IS NOT NULL AND n_batches > 0")
    op.execute("UPDATE results SET case_key = case_key || '-fp32'")
    op.execute("UPDATE comparisons SET case_key = case_key || '-fp32'")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("preprocess_s")
    with op.batch_alter_table("samples") as batch:
        for name in PHASES:
            batch.add_column(sa.Column(name, sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        for name in PHASES:
            batch.drop_column(name)
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("preprocess_s", sa.Float))
    op.execute("UPDATE results SET preprocess_s = preprocess_ms * n_batches / 1000.0 "
               "WHERE preprocess_ms IS NOT NULL")
    for table in ("results", "comparisons"):
        op.execute(f"UPDATE {table} SET case_key = substr(case_key, 1, length(case_key) - 5) "
                   "WHERE case_key LIKE '%-fp32'")
    with op.batch_alter_table("results") as batch:
        for name in (*FLOATS, "precision", "channels_last", "threads", "warnings",
                     "min_batches", "stable", "stop_reason", "end_to_end_images",
                     "cuda_model_bytes", "nvml_process_bytes", "gpu_other_processes"):
            batch.drop_column(name)
