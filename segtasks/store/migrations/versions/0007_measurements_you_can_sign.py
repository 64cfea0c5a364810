"""Measurements you can sign: each result says whether the machine left it alone (valid,
validity_reason, interference, steal, attempts and the first attempt's evidence), what
the GPU and the CPU package did meanwhile (telemetry, energy or why none), the warm-up's
CUDA peaks beside the steady state's, the latency's lag-1 autocorrelation, and the new
protocol settings (cpu_affinity, end-to-end passes, the validity limits).

Views: v_results, v_latest, v_series and v_speedup are recreated with the new columns;
v_series leaves out disturbed (not valid) nights, as the judge does; v_activation_memory
gives the activation memory per image of each run's variants (slope of the steady-state
peak over batch sizes).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

COLUMNS = [
    sa.Column("cpu_affinity", JSON),
    sa.Column("end_to_end_seconds", sa.Float),
    sa.Column("end_to_end_passes", sa.Integer),
    sa.Column("max_interference", sa.Float),
    sa.Column("max_steal", sa.Float),
    sa.Column("latency_autocorr", sa.Float),
    sa.Column("cuda_warmup_peak_allocated_bytes", sa.BigInteger),
    sa.Column("cuda_warmup_peak_reserved_bytes", sa.BigInteger),
    sa.Column("gpu_uuid", sa.String(64)),
    sa.Column("gpu_samples", sa.Integer),
    sa.Column("gpu_memory_used_bytes", sa.BigInteger),
    sa.Column("gpu_power_w_mean", sa.Float),
    sa.Column("gpu_power_w_max", sa.Float),
    sa.Column("gpu_sm_clock_mhz_min", sa.Float),
    sa.Column("gpu_sm_clock_mhz_median", sa.Float),
    sa.Column("gpu_sm_clock_mhz_max", sa.Float),
    sa.Column("gpu_utilization_pct", sa.Float),
    sa.Column("gpu_clock_events", sa.String(250)),
    sa.Column("gpu_throttled_share", sa.Float),
    sa.Column("gpu_energy_j_per_image", sa.Float),
    sa.Column("gpu_energy_reason", sa.Text),
    sa.Column("cpu_energy_j_per_image", sa.Float),
    sa.Column("cpu_energy_reason", sa.Text),
    sa.Column("valid", sa.Boolean),
    sa.Column("validity_reason", sa.Text),
    sa.Column("interference", sa.Float),
    sa.Column("steal", sa.Float),
    sa.Column("cores_in_use", sa.Integer),
    sa.Column("attempts", sa.Integer),
    sa.Column("first_attempt_reason", sa.Text),
    sa.Column("first_attempt_interference", sa.Float),
    sa.Column("first_attempt_steal", sa.Float),
]

# v_results as of revision 0003, with `extra` columns of `results x` inserted
V_RESULTS = """
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
           x.weights_sha256, x.dataset_fingerprint,{extra}
           e.id AS environment_id, e.cpu_model, e.gpu_name, e.gpu_count, e.nvidia_driver,
           e.cuda_runtime, e.cudnn, e.torch_version, e.torchvision_version, e.smp_version,
           e.python_version
    FROM results x
    JOIN runs r ON r.id = x.run_pk
    LEFT JOIN environments e ON e.id = x.environment_id"""
NEW_IN_V_RESULTS = """
           x.valid, x.validity_reason, x.interference, x.steal, x.cores_in_use, x.attempts,
           x.first_attempt_reason, x.cpu_affinity, x.latency_autocorr,
           x.cuda_warmup_peak_allocated_bytes, x.cuda_warmup_peak_reserved_bytes,
           x.gpu_memory_used_bytes, x.gpu_power_w_mean, x.gpu_sm_clock_mhz_median,
           x.gpu_utilization_pct, x.gpu_clock_events, x.gpu_throttled_share,
           x.gpu_energy_j_per_image, x.gpu_energy_reason, x.cpu_energy_j_per_image,
           x.cpu_energy_reason,"""
V_LATEST = """
    SELECT v.*
    FROM v_results v
    JOIN (SELECT x.device, MAX(r.started_at) AS started_at
          FROM results x JOIN runs r ON r.id = x.run_pk
          GROUP BY x.device) latest
      ON latest.device = v.device AND latest.started_at = v.started_at"""
V_SERIES = """
    SELECT v.case_key, v.hardware_key, v.run_pk, v.run_id, v.started_at,
           v.images_per_s, v.latency_p90_ms, v.cuda_peak_reserved_bytes,
           v.host_peak_rss_bytes, v.ci_rel, v.stable,{extra} v.code_version, v.torch_version,
           v.cuda_runtime, v.cudnn, v.nvidia_driver,
           LAG(v.images_per_s) OVER w AS prev_images_per_s,
           LAG(v.code_version) OVER w AS prev_code_version,
           LAG(v.torch_version) OVER w AS prev_torch_version,
           LAG(v.cuda_runtime) OVER w AS prev_cuda_runtime,
           LAG(v.nvidia_driver) OVER w AS prev_nvidia_driver
    FROM v_results v
    WHERE v.status = 'ok'{valid_only}
    WINDOW w AS (PARTITION BY v.case_key, v.hardware_key ORDER BY v.started_at)"""
NEW_IN_V_SERIES = " v.valid, v.interference, v.steal,"
V_SPEEDUP = """
    SELECT v.run_pk, v.run_id, v.started_at, v.device, v.precision, v.channels_last,
           v.threads, v.hardware_key, v.batch_size, v.end_to_end_fps AS fps, v.images_per_s,
           v.end_to_end_fps
             / MAX(CASE WHEN v.batch_size = 1 THEN v.end_to_end_fps END) OVER t
             AS improvement_over_bs1,
           v.end_to_end_fps / LAG(v.end_to_end_fps) OVER (t ORDER BY v.batch_size)
             AS improvement_over_previous_row{extra}
    FROM v_results v
    WHERE v.status = 'ok'
    WINDOW t AS (PARTITION BY v.run_pk, v.device, v.precision, v.channels_last, v.threads)"""
# Least squares over batch sizes, written out so that SQLite (no regr_slope) runs it too:
# slope = (n Sxy - Sx Sy) / (n Sxx - Sx^2); the intercept is what does not grow with the
# batch (weights, cuDNN workspace, the allocator's rounding).
V_ACTIVATION_MEMORY = """
    SELECT a.run_pk, a.hardware_key, a.device, a.precision, a.channels_last, a.threads,
           a.cases, a.min_batch_size, a.max_batch_size,
           (a.cases * a.sxy - a.sx * a.sy) / (a.cases * a.sxx - a.sx * a.sx)
             AS activation_bytes_per_image,
           (a.sy - (a.cases * a.sxy - a.sx * a.sy) / (a.cases * a.sxx - a.sx * a.sx) * a.sx)
             / a.cases AS fixed_bytes
    FROM (SELECT x.run_pk, x.hardware_key, x.device, x.precision, x.channels_last, x.threads,
                 COUNT(*) AS cases, MIN(x.batch_size) AS min_batch_size,
                 MAX(x.batch_size) AS max_batch_size,
                 SUM(1.0 * x.batch_size) AS sx, SUM(1.0 * x.cuda_peak_allocated_bytes) AS sy,
                 SUM(1.0 * x.batch_size * x.batch_size) AS sxx,
                 SUM(1.0 * x.batch_size * x.cuda_peak_allocated_bytes) AS sxy
          FROM results x
          WHERE x.status = 'ok' AND x.cuda_peak_allocated_bytes IS NOT NULL
          GROUP BY x.run_pk, x.hardware_key, x.device, x.precision, x.channels_last, x.threads
          HAVING COUNT(DISTINCT x.batch_size) >= 2) a"""


def _views(new: bool) -> dict[str, str]:
    return {
        "v_results": V_RESULTS.format(extra=NEW_IN_V_RESULTS if new else ""),
        "v_latest": V_LATEST,
        "v_series": V_SERIES.format(extra=NEW_IN_V_SERIES if new else "",
                                    valid_only=" AND v.valid IS NOT FALSE" if new else ""),
        "v_speedup": V_SPEEDUP.format(extra=", v.valid" if new else ""),
    }


def _drop_views() -> None:
    for name in ("v_speedup", "v_series", "v_latest", "v_results"):
        op.execute(f"DROP VIEW {name}")


def upgrade() -> None:
    _drop_views()
    with op.batch_alter_table("results") as batch:
        for column in COLUMNS:
            batch.add_column(column.copy())
    for name, sql in _views(new=True).items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
    op.execute(f"CREATE VIEW v_activation_memory AS {V_ACTIVATION_MEMORY}")


def downgrade() -> None:
    op.execute("DROP VIEW v_activation_memory")
    _drop_views()
    with op.batch_alter_table("results") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
    for name, sql in _views(new=False).items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
