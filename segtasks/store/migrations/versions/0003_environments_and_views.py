"""Environments as their own table (one row per distinct fingerprint) and views for people.

Each result's fingerprint JSON moves to `environments`, deduplicated, and the result keeps
a foreign key to it. Views: v_results, v_latest, v_series, v_regressions, v_speedup.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from segtasks.store.fingerprints import environment_columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

VIEWS = {
    "v_results": """
        SELECT r.id AS run_pk, r.dag_id, r.run_id, r.logical_date, r.trigger, r.code_version,
               r.started_at, r.finished_at, r.state AS run_state,
               x.id AS result_id, x.case_key, x.device, x.batch_size, x.precision,
               x.channels_last, x.threads, x.status, x.reason, x.hardware_key,
               x.images_per_s, x.ms_per_image, x.latency_mean_ms, x.latency_p50_ms,
               x.latency_p90_ms, x.latency_p95_ms, x.latency_p99_ms, x.latency_std_ms,
               x.latency_iqr_ms, x.latency_cv, x.ci_rel, x.stable, x.stop_reason, x.n_batches,
               x.preprocess_ms, x.h2d_ms, x.forward_ms, x.postprocess_ms, x.cold_start_ms,
               x.load_s, x.end_to_end_s, x.end_to_end_images,
               x.end_to_end_images / x.end_to_end_s AS end_to_end_fps,
               x.gflops_per_s, x.pct_of_peak, x.cuda_model_bytes, x.cuda_peak_allocated_bytes,
               x.cuda_peak_reserved_bytes, x.nvml_process_bytes, x.host_peak_rss_bytes,
               x.weights_sha256, x.dataset_fingerprint,
               e.id AS environment_id, e.cpu_model, e.gpu_name, e.gpu_count, e.nvidia_driver,
               e.cuda_runtime, e.cudnn, e.torch_version, e.torchvision_version, e.smp_version,
               e.python_version
        FROM results x
        JOIN runs r ON r.id = x.run_pk
        LEFT JOIN environments e ON e.id = x.environment_id""",
    # the latest run that measured each device, as its table
    "v_latest": """
        SELECT v.*
        FROM v_results v
        JOIN (SELECT x.device, MAX(r.started_at) AS started_at
              FROM results x JOIN runs r ON r.id = x.run_pk
              GROUP BY x.device) latest
          ON latest.device = v.device AND latest.started_at = v.started_at""",
    # good nights of each series (case on one hardware key), with the night before beside it
    "v_series": """
        SELECT v.case_key, v.hardware_key, v.run_pk, v.run_id, v.started_at,
               v.images_per_s, v.latency_p90_ms, v.cuda_peak_reserved_bytes,
               v.host_peak_rss_bytes, v.ci_rel, v.stable, v.code_version, v.torch_version,
               v.cuda_runtime, v.cudnn, v.nvidia_driver,
               LAG(v.images_per_s) OVER w AS prev_images_per_s,
               LAG(v.code_version) OVER w AS prev_code_version,
               LAG(v.torch_version) OVER w AS prev_torch_version,
               LAG(v.cuda_runtime) OVER w AS prev_cuda_runtime,
               LAG(v.nvidia_driver) OVER w AS prev_nvidia_driver
        FROM v_results v
        WHERE v.status = 'ok'
        WINDOW w AS (PARTITION BY v.case_key, v.hardware_key ORDER BY v.started_at)""",
    "v_regressions": """
        SELECT r.started_at, r.run_id, r.dag_id, c.run_pk, c.case_key, c.hardware_key,
               c.metric, c.tonight, c.baseline, c.relative_change, c.threshold, c.detail,
               c.method, c.baseline_run_pks
        FROM comparisons c JOIN runs r ON r.id = c.run_pk
        WHERE c.verdict = 'regression'""",
    # the seed's "Improvement over Batch Size 1" and "... over Previous Row", per run table
    "v_speedup": """
        SELECT v.run_pk, v.run_id, v.started_at, v.device, v.precision, v.channels_last,
               v.threads, v.hardware_key, v.batch_size, v.end_to_end_fps AS fps, v.images_per_s,
               v.end_to_end_fps
                 / MAX(CASE WHEN v.batch_size = 1 THEN v.end_to_end_fps END) OVER t
                 AS improvement_over_bs1,
               v.end_to_end_fps / LAG(v.end_to_end_fps) OVER (t ORDER BY v.batch_size)
                 AS improvement_over_previous_row
        FROM v_results v
        WHERE v.status = 'ok'
        WINDOW t AS (PARTITION BY v.run_pk, v.device, v.precision, v.channels_last, v.threads)""",
}


def _move_fingerprints() -> None:
    bind = op.get_bind()
    results = sa.table("results", sa.column("id", sa.Integer), sa.column("environment", JSON),
                       sa.column("environment_id", sa.Integer))
    environments = sa.table(
        "environments", *(sa.column(name) for name in (
            "id", "fingerprint_sha256", "hardware_key", "cpu_model", "logical_cores",
            "physical_cores", "ram_bytes", "gpu_name", "gpu_count", "gpu_memory_bytes",
            "nvidia_driver", "cuda_runtime", "cudnn", "torch_version", "torchvision_version",
            "smp_version", "numpy_version", "python_version", "os", "first_seen_at")),
        sa.column("fingerprint", JSON),
    )
    ids: dict[str, int] = {}
    now = datetime.now(UTC)
    for result_id, fingerprint in bind.execute(sa.select(results.c.id, results.c.environment)):
        columns = environment_columns(fingerprint or {})
        key = columns["fingerprint_sha256"]
        if key not in ids:
            ids[key] = bind.execute(
                environments.insert().values(first_seen_at=now, **columns)
                .returning(environments.c.id)
            ).scalar_one()
        bind.execute(results.update().where(results.c.id == result_id)
                     .values(environment_id=ids[key]))


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("hardware_key", sa.String(250), nullable=False),
        sa.Column("cpu_model", sa.String(250)),
        sa.Column("logical_cores", sa.Integer),
        sa.Column("physical_cores", sa.Integer),
        sa.Column("ram_bytes", sa.BigInteger),
        sa.Column("gpu_name", sa.String(250)),
        sa.Column("gpu_count", sa.Integer, nullable=False),
        sa.Column("gpu_memory_bytes", sa.BigInteger),
        *(sa.Column(name, sa.String(64)) for name in (
            "nvidia_driver", "cuda_runtime", "cudnn", "torch_version", "torchvision_version",
            "smp_version", "numpy_version", "python_version")),
        sa.Column("os", sa.String(250)),
        sa.Column("fingerprint", JSON, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_environments_hardware_key", "environments", ["hardware_key"])
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("environment_id", sa.Integer))
        batch.create_foreign_key("fk_results_environment", "environments",
                                 ["environment_id"], ["id"])
    _move_fingerprints()
    with op.batch_alter_table("results") as batch:
        batch.drop_column("environment")
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    op.drop_index("ix_runs_started_at", table_name="runs")
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("environment", JSON))
    op.execute("UPDATE results SET environment = (SELECT e.fingerprint FROM environments e "
               "WHERE e.id = results.environment_id)")
    with op.batch_alter_table("results") as batch:
        batch.drop_constraint("fk_results_environment", type_="foreignkey")
        batch.drop_column("environment_id")
    op.drop_table("environments")
