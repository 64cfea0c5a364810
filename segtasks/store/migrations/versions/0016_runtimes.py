"""The runtime axis: PyTorch, ONNX Runtime and OpenVINO side by side.

results: `runtime` (torch, onnxruntime, openvino; every earlier row ran in torch), and the
export a runtime other than torch ran (NULL for torch): `export_status` (ok, failed),
`export_seconds` (how long it took when it was made), `export_opset`, `export_bytes` (the
files the runtime loads), `export_cached` (reused from the cache tonight) and
`runtime_provider` (onnxruntime's execution provider, OpenVINO's device); the status
`export_failed`.

Views: v_results, v_latest and v_output_parity show the new columns; v_speedup and
v_activation_memory keep each runtime in rows of its own; v_recommendations spans runtimes
(the same rule as segtasks.report.recommend), with each case's runtime and export time, and
its speed-up against the PyTorch fp32 eager case of the same batch size.

Revision ID: 0016_runtimes
Revises: 0015
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_runtimes"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = [
    sa.Column("runtime", sa.String(16), nullable=False, server_default="torch"),
    sa.Column("export_status", sa.String(16)),
    sa.Column("export_seconds", sa.Float),
    sa.Column("export_opset", sa.Integer),
    sa.Column("export_bytes", sa.BigInteger),
    sa.Column("export_cached", sa.Boolean),
    sa.Column("runtime_provider", sa.String(64)),
]
STATUSES = {"old": "'ok', 'oom', 'skipped', 'error', 'compile_failed'",
            "new": "'ok', 'oom', 'skipped', 'error', 'compile_failed', 'export_failed'"}

# The views as revisions 0011 and 0015 made them (output parity's and the model's columns
# present), with {runtime}
# where this revision adds the runtime and {export} where it adds the export's columns.
V_RESULTS = """
    SELECT r.id AS run_pk, r.dag_id, r.run_id, r.logical_date, r.trigger, r.code_version,
           r.started_at, r.finished_at, r.state AS run_state,
           x.id AS result_id, x.case_key, x.device, x.batch_size, x.precision,
           x.channels_last, x.compile,{runtime} x.threads, x.status, x.reason, x.hardware_key,
           x.images_per_s, x.ms_per_image, x.latency_mean_ms, x.latency_p50_ms,
           x.latency_p90_ms, x.latency_p95_ms, x.latency_p99_ms, x.latency_std_ms,
           x.latency_iqr_ms, x.latency_cv, x.ci_rel, x.stable, x.stop_reason, x.n_batches,
           x.preprocess_ms, x.h2d_ms, x.forward_ms, x.postprocess_ms, x.cold_start_ms,
           x.load_s, x.end_to_end_s, x.end_to_end_images,
           x.end_to_end_images / x.end_to_end_s AS end_to_end_fps,
           x.gflops_per_s, x.pct_of_peak, x.cuda_model_bytes, x.cuda_peak_allocated_bytes,
           x.cuda_peak_reserved_bytes, x.nvml_process_bytes, x.host_peak_rss_bytes,
           x.weights_sha256, x.dataset_fingerprint,
           x.valid, x.validity_reason, x.interference, x.steal, x.cores_in_use, x.attempts,
           x.first_attempt_reason, x.cpu_affinity, x.latency_autocorr,
           x.cuda_warmup_peak_allocated_bytes, x.cuda_warmup_peak_reserved_bytes,
           x.gpu_memory_used_bytes, x.gpu_power_w_mean, x.gpu_sm_clock_mhz_median,
           x.gpu_utilization_pct, x.gpu_clock_events, x.gpu_throttled_share,
           x.gpu_energy_j_per_image, x.gpu_energy_reason, x.cpu_energy_j_per_image,
           x.cpu_energy_reason,
           x.compile_seconds, x.first_call_seconds, x.recompiles, x.graph_breaks,
           x.parity_max_abs_diff, x.parity_mask_mismatch, x.parity_iou, x.truth_iou,
           x.parity_ok,
           x.model_identity, x.model_description, x.model,{export}
           e.id AS environment_id, e.cpu_model, e.gpu_name, e.gpu_count, e.nvidia_driver,
           e.cuda_runtime, e.cudnn, e.torch_version, e.torchvision_version, e.smp_version,
           e.python_version
    FROM results x
    JOIN runs r ON r.id = x.run_pk
    LEFT JOIN environments e ON e.id = x.environment_id"""
EXPORT_COLUMNS = """
           x.export_status, x.export_seconds, x.export_opset, x.export_bytes,
           x.export_cached, x.runtime_provider,"""
V_LATEST = """
    SELECT v.*
    FROM v_results v
    JOIN (SELECT x.device, MAX(r.started_at) AS started_at
          FROM results x JOIN runs r ON r.id = x.run_pk
          GROUP BY x.device) latest
      ON latest.device = v.device AND latest.started_at = v.started_at"""
V_SERIES = """
    SELECT v.case_key, v.model_description, v.hardware_key, v.run_pk, v.run_id, v.started_at,
           v.images_per_s, v.latency_p90_ms, v.cuda_peak_reserved_bytes,
           v.host_peak_rss_bytes, v.ci_rel, v.stable, v.valid, v.interference, v.steal,
           v.code_version, v.torch_version, v.cuda_runtime, v.cudnn, v.nvidia_driver,
           LAG(v.images_per_s) OVER w AS prev_images_per_s,
           LAG(v.code_version) OVER w AS prev_code_version,
           LAG(v.torch_version) OVER w AS prev_torch_version,
           LAG(v.cuda_runtime) OVER w AS prev_cuda_runtime,
           LAG(v.nvidia_driver) OVER w AS prev_nvidia_driver
    FROM v_results v
    WHERE v.status = 'ok' AND v.valid IS NOT FALSE
    WINDOW w AS (PARTITION BY v.case_key, v.hardware_key ORDER BY v.started_at)"""
V_SPEEDUP = """
    SELECT v.run_pk, v.run_id, v.started_at, v.device, v.precision, v.channels_last,
           v.compile,{runtime_v} v.threads, v.hardware_key, v.batch_size,
           v.end_to_end_fps AS fps, v.images_per_s,
           v.end_to_end_fps
             / MAX(CASE WHEN v.batch_size = 1 THEN v.end_to_end_fps END) OVER t
             AS improvement_over_bs1,
           v.end_to_end_fps / LAG(v.end_to_end_fps) OVER (t ORDER BY v.batch_size)
             AS improvement_over_previous_row, v.valid
    FROM v_results v
    WHERE v.status = 'ok'
    WINDOW t AS (PARTITION BY v.run_pk, v.device, v.precision, v.channels_last, v.compile,
                 {runtime_v} v.threads)"""
V_ACTIVATION_MEMORY = """
    SELECT a.run_pk, a.hardware_key, a.device, a.precision, a.channels_last, a.compile,
           {runtime_a} a.threads,
           a.cases, a.min_batch_size, a.max_batch_size,
           (a.cases * a.sxy - a.sx * a.sy) / (a.cases * a.sxx - a.sx * a.sx)
             AS activation_bytes_per_image,
           (a.sy - (a.cases * a.sxy - a.sx * a.sy) / (a.cases * a.sxx - a.sx * a.sx) * a.sx)
             / a.cases AS fixed_bytes
    FROM (SELECT x.run_pk, x.hardware_key, x.device, x.precision, x.channels_last, x.compile,
                 {runtime_x} x.threads, COUNT(*) AS cases, MIN(x.batch_size) AS min_batch_size,
                 MAX(x.batch_size) AS max_batch_size,
                 SUM(1.0 * x.batch_size) AS sx, SUM(1.0 * x.cuda_peak_allocated_bytes) AS sy,
                 SUM(1.0 * x.batch_size * x.batch_size) AS sxx,
                 SUM(1.0 * x.batch_size * x.cuda_peak_allocated_bytes) AS sxy
          FROM results x
          WHERE x.status = 'ok' AND x.cuda_peak_allocated_bytes IS NOT NULL
          GROUP BY x.run_pk, x.hardware_key, x.device, x.precision, x.channels_last,
                   x.compile, {runtime_x} x.threads
          HAVING COUNT(DISTINCT x.batch_size) >= 2) a"""
V_OUTPUT_PARITY = """
    SELECT r.id AS run_pk, r.run_id, r.started_at, r.code_version,
           x.id AS result_id, x.case_key, x.model_description, x.hardware_key, x.device,
           x.batch_size, x.precision, x.channels_last,{runtime} x.threads, x.status,
           x.weights_sha256, x.weights_origin,
           x.dataset_fingerprint, x.device_kind, x.parity_images, x.parity_max_abs_diff,
           x.parity_mask_mismatch, x.parity_iou, x.truth_iou, x.parity_ok,
           x.reference_checksum, x.golden_id, x.golden_max_abs_diff, x.golden_mask_mismatch,
           g.run_pk AS golden_run_pk, g.created_at AS golden_created_at
    FROM results x
    JOIN runs r ON r.id = x.run_pk
    LEFT JOIN golden_outputs g ON g.id = x.golden_id
    WHERE x.parity_images IS NOT NULL"""

# The cases a recommendation may pick (as in 0011): measured, left alone, outputs within
# tolerance; memory and energy the device's own.
ELIGIBLE = """
    (SELECT x.*,
            CASE WHEN x.device = 'cuda' THEN x.cuda_peak_reserved_bytes
                 ELSE x.host_peak_rss_bytes END AS memory_bytes,
            CASE WHEN x.device = 'cuda' THEN x.gpu_energy_j_per_image
                 ELSE x.cpu_energy_j_per_image END AS energy_j_per_image
     FROM results x
     WHERE x.status = 'ok' AND x.valid IS NOT FALSE AND x.parity_ok IS NOT FALSE)"""
OBJECTIVES = (("images_per_s", ">"), ("latency_p90_ms", "<"), ("memory_bytes", "<"),
              ("energy_j_per_image", "<"))


def _dominates() -> str:
    both = "(o.{c} IS NOT NULL AND c.{c} IS NOT NULL)"
    at_least = " AND ".join(f"(NOT {both.format(c=c)} OR o.{c} {op}= c.{c})"
                            for c, op in OBJECTIVES)
    better = " OR ".join(f"({both.format(c=c)} AND o.{c} {op} c.{c})" for c, op in OBJECTIVES)
    return f"{at_least} AND ({better})"


# The front of each run, hardware and device spans every runtime (the dominance test
# compares any two cases of the device); the speed-up is against PyTorch fp32 eager.
V_RECOMMENDATIONS = """
    SELECT c.run_pk, r.run_id, r.started_at, c.hardware_key, c.device,
           COALESCE(CASE WHEN c.device = 'cuda' THEN e.gpu_name END, e.cpu_model,
                    c.hardware_key) AS hardware_name,
           c.case_key,{model_c} c.precision, c.channels_last, c.compile,{runtime_c} c.threads,
           c.batch_size, c.images_per_s, c.latency_p90_ms, c.memory_bytes,
           c.energy_j_per_image, c.images_per_s / b.images_per_s AS speedup_vs_fp32_eager,
           1 - c.parity_mask_mismatch AS masks_identical,
           c.compile_seconds{export_c}
    FROM {eligible} c
    JOIN runs r ON r.id = c.run_pk
    LEFT JOIN environments e ON e.id = c.environment_id
    LEFT JOIN {eligible} b
      ON b.run_pk = c.run_pk AND b.hardware_key = c.hardware_key AND b.device = c.device
     AND b.batch_size = c.batch_size AND b.precision = 'fp32' AND b.channels_last = {false}
     AND b.compile = 'none'{torch_b}
     AND (b.threads = c.threads OR (b.threads IS NULL AND c.threads IS NULL))
    WHERE NOT EXISTS (
        SELECT 1 FROM {eligible} o
        WHERE o.id <> c.id AND o.run_pk = c.run_pk AND o.hardware_key = c.hardware_key
          AND o.device = c.device AND {dominates})"""

VIEW_ORDER = ("v_results", "v_latest", "v_series", "v_speedup", "v_activation_memory",
              "v_output_parity", "v_recommendations")


def _views(new: bool) -> dict[str, str]:
    false = "false" if op.get_bind().dialect.name == "postgresql" else "0"
    return {
        "v_results": V_RESULTS.format(runtime=" x.runtime," if new else "",
                                      export=EXPORT_COLUMNS if new else ""),
        "v_latest": V_LATEST,
        "v_series": V_SERIES,
        "v_speedup": V_SPEEDUP.format(runtime_v=" v.runtime," if new else ""),
        "v_activation_memory": V_ACTIVATION_MEMORY.format(
            runtime_a="a.runtime," if new else "", runtime_x="x.runtime," if new else ""),
        "v_output_parity": V_OUTPUT_PARITY.format(runtime=" x.runtime," if new else ""),
        "v_recommendations": V_RECOMMENDATIONS.format(
            eligible=ELIGIBLE, false=false, dominates=_dominates(),
            runtime_c=" c.runtime," if new else "",
            model_c=" c.model_description," if new else "",
            export_c=(",\n           c.export_seconds, c.runtime_provider" if new else ""),
            torch_b=" AND b.runtime = 'torch'" if new else ""),
    }


def _drop_views() -> None:
    for name in reversed(VIEW_ORDER):
        op.execute(f"DROP VIEW {name}")


def _create_views(new: bool) -> None:
    views = _views(new)
    for name in VIEW_ORDER:
        op.execute(f"CREATE VIEW {name} AS {views[name]}")


def _status_check(which: str) -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_constraint("ck_results_status", type_="check")
        batch.create_check_constraint("ck_results_status", f"status IN ({STATUSES[which]})")


def upgrade() -> None:
    _drop_views()
    with op.batch_alter_table("results") as batch:
        for column in COLUMNS:
            batch.add_column(column.copy())
    _status_check("new")
    _create_views(new=True)


def downgrade() -> None:
    _drop_views()
    # rows of other runtimes stay (their case keys say -onnxruntime / -openvino); an export
    # failure was an error
    op.execute("UPDATE results SET status = 'error' WHERE status = 'export_failed'")
    _status_check("old")
    with op.batch_alter_table("results") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
    _create_views(new=False)
