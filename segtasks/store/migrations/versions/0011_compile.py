"""torch.compile as a grid axis, and the recommendation.

results: `compile` (the mode; 'none' is eager, and every earlier row was eager), its one-off
costs `compile_seconds` (the first call, which compiles) and `first_call_seconds` (the first
compiled call), `recompiles` and `graph_breaks`; the status `compile_failed`.

Views: v_results and v_latest show the new columns; v_speedup and v_activation_memory keep
compiled and eager cases in separate rows (a compiled variant is its own table);
v_recommendations is the Pareto front of each run, hardware and device (the same rule as
segtasks.report.recommend).

Output parity (parity_ok, parity_mask_mismatch...) is added by another migration of the same
release: where it ran first, v_results keeps its columns, v_recommendations leaves out the
cases whose outputs differ and shows the share of identical masks; else that column is NULL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = [
    sa.Column("compile", sa.String(32), nullable=False, server_default="none"),
    sa.Column("compile_seconds", sa.Float),
    sa.Column("first_call_seconds", sa.Float),
    sa.Column("recompiles", sa.Integer),
    sa.Column("graph_breaks", sa.Integer),
]
STATUSES = {"old": "'ok', 'oom', 'skipped', 'error'",
            "new": "'ok', 'oom', 'skipped', 'error', 'compile_failed'"}

# v_results as of revision 0007, with `compile` beside the other axes and `extra` columns
V_RESULTS = """
    SELECT r.id AS run_pk, r.dag_id, r.run_id, r.logical_date, r.trigger, r.code_version,
           r.started_at, r.finished_at, r.state AS run_state,
           x.id AS result_id, x.case_key, x.device, x.batch_size, x.precision,
           x.channels_last,{axis} x.threads, x.status, x.reason, x.hardware_key,
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
           x.cpu_energy_reason,{extra}
           e.id AS environment_id, e.cpu_model, e.gpu_name, e.gpu_count, e.nvidia_driver,
           e.cuda_runtime, e.cudnn, e.torch_version, e.torchvision_version, e.smp_version,
           e.python_version
    FROM results x
    JOIN runs r ON r.id = x.run_pk
    LEFT JOIN environments e ON e.id = x.environment_id"""
NEW_IN_V_RESULTS = """
           x.compile_seconds, x.first_call_seconds, x.recompiles, x.graph_breaks,"""
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
    SELECT v.run_pk, v.run_id, v.started_at, v.device, v.precision, v.channels_last,{axis}
           v.threads, v.hardware_key, v.batch_size, v.end_to_end_fps AS fps, v.images_per_s,
           v.end_to_end_fps
             / MAX(CASE WHEN v.batch_size = 1 THEN v.end_to_end_fps END) OVER t
             AS improvement_over_bs1,
           v.end_to_end_fps / LAG(v.end_to_end_fps) OVER (t ORDER BY v.batch_size)
             AS improvement_over_previous_row, v.valid
    FROM v_results v
    WHERE v.status = 'ok'
    WINDOW t AS (PARTITION BY v.run_pk, v.device, v.precision, v.channels_last,{axis}
                 v.threads)"""
V_ACTIVATION_MEMORY = """
    SELECT a.run_pk, a.hardware_key, a.device, a.precision, a.channels_last,{axis_a} a.threads,
           a.cases, a.min_batch_size, a.max_batch_size,
           (a.cases * a.sxy - a.sx * a.sy) / (a.cases * a.sxx - a.sx * a.sx)
             AS activation_bytes_per_image,
           (a.sy - (a.cases * a.sxy - a.sx * a.sy) / (a.cases * a.sxx - a.sx * a.sx) * a.sx)
             / a.cases AS fixed_bytes
    FROM (SELECT x.run_pk, x.hardware_key, x.device, x.precision, x.channels_last,{axis_x}
                 x.threads, COUNT(*) AS cases, MIN(x.batch_size) AS min_batch_size,
                 MAX(x.batch_size) AS max_batch_size,
                 SUM(1.0 * x.batch_size) AS sx, SUM(1.0 * x.cuda_peak_allocated_bytes) AS sy,
                 SUM(1.0 * x.batch_size * x.batch_size) AS sxx,
                 SUM(1.0 * x.batch_size * x.cuda_peak_allocated_bytes) AS sxy
          FROM results x
          WHERE x.status = 'ok' AND x.cuda_peak_allocated_bytes IS NOT NULL
          GROUP BY x.run_pk, x.hardware_key, x.device, x.precision, x.channels_last,{axis_x}
                   x.threads
          HAVING COUNT(DISTINCT x.batch_size) >= 2) a"""

# The cases a recommendation may pick: measured, left alone by the machine, and (once output
# parity is stored) with outputs within tolerance. Memory and energy are the device's own:
# CUDA's steady-state peak reserved by PyTorch and the GPU's energy, else the process's peak
# RSS and the CPU package's energy.
ELIGIBLE = """
    (SELECT x.*,
            CASE WHEN x.device = 'cuda' THEN x.cuda_peak_reserved_bytes
                 ELSE x.host_peak_rss_bytes END AS memory_bytes,
            CASE WHEN x.device = 'cuda' THEN x.gpu_energy_j_per_image
                 ELSE x.cpu_energy_j_per_image END AS energy_j_per_image
     FROM results x
     WHERE x.status = 'ok' AND x.valid IS NOT FALSE{parity})"""
# `o` dominates `c`: at least as good on every objective both have, better on one of them.
# An objective one of the two lacks (p90 needs 100 batches; energy is not always readable)
# is not compared, as in segtasks.report.recommend.dominates.
OBJECTIVES = (("images_per_s", ">"), ("latency_p90_ms", "<"), ("memory_bytes", "<"),
              ("energy_j_per_image", "<"))


def _dominates() -> str:
    both = "(o.{c} IS NOT NULL AND c.{c} IS NOT NULL)"
    at_least = " AND ".join(f"(NOT {both.format(c=c)} OR o.{c} {op}= c.{c})"
                            for c, op in OBJECTIVES)
    better = " OR ".join(f"({both.format(c=c)} AND o.{c} {op} c.{c})" for c, op in OBJECTIVES)
    return f"{at_least} AND ({better})"


V_RECOMMENDATIONS = """
    SELECT c.run_pk, r.run_id, r.started_at, c.hardware_key, c.device,
           COALESCE(CASE WHEN c.device = 'cuda' THEN e.gpu_name END, e.cpu_model,
                    c.hardware_key) AS hardware_name,
           c.case_key, c.precision, c.channels_last, c.compile, c.threads, c.batch_size,
           c.images_per_s, c.latency_p90_ms, c.memory_bytes, c.energy_j_per_image,
           c.images_per_s / b.images_per_s AS speedup_vs_fp32_eager,{masks}
           c.compile_seconds
    FROM {eligible} c
    JOIN runs r ON r.id = c.run_pk
    LEFT JOIN environments e ON e.id = c.environment_id
    LEFT JOIN {eligible} b
      ON b.run_pk = c.run_pk AND b.hardware_key = c.hardware_key AND b.device = c.device
     AND b.batch_size = c.batch_size AND b.precision = 'fp32' AND b.channels_last = {false}
     AND b.compile = 'none'
     AND (b.threads = c.threads OR (b.threads IS NULL AND c.threads IS NULL))
    WHERE NOT EXISTS (
        SELECT 1 FROM {eligible} o
        WHERE o.id <> c.id AND o.run_pk = c.run_pk AND o.hardware_key = c.hardware_key
          AND o.device = c.device AND {dominates})"""


def _recommendations_view() -> str:
    # Output parity (parity_ok, parity_mask_mismatch) comes from another migration of the
    # same release; where it has run, its verdict filters the cases and its mask agreement
    # is shown, else the column is NULL.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("results")}
    parity = "parity_ok" in columns
    masks = ("\n           1 - c.parity_mask_mismatch AS masks_identical,"
             if "parity_mask_mismatch" in columns else "\n           NULL AS masks_identical,")
    false = "false" if op.get_bind().dialect.name == "postgresql" else "0"
    eligible = ELIGIBLE.format(parity=" AND x.parity_ok IS NOT FALSE" if parity else "")
    return V_RECOMMENDATIONS.format(eligible=eligible, masks=masks, false=false,
                                    dominates=_dominates())


# Output parity's columns (another migration of the same release): v_results keeps showing
# those of them that exist when it is recreated here.
PARITY_COLUMNS = ("parity_max_abs_diff", "parity_mask_mismatch", "parity_iou", "truth_iou",
                  "parity_ok")


def _parity_in_v_results() -> str:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("results")}
    present = [f"x.{name}," for name in PARITY_COLUMNS if name in columns]
    return ("\n           " + " ".join(present)) if present else ""


def _views(new: bool) -> dict[str, str]:
    axis = " v.compile," if new else ""
    parity = _parity_in_v_results()
    return {
        "v_results": V_RESULTS.format(axis=" x.compile," if new else "",
                                      extra=(NEW_IN_V_RESULTS if new else "") + parity),
        "v_latest": V_LATEST,
        "v_series": V_SERIES,
        "v_speedup": V_SPEEDUP.format(axis=axis),
        "v_activation_memory": V_ACTIVATION_MEMORY.format(
            axis_a=" a.compile," if new else "", axis_x=" x.compile," if new else ""),
    }


def _drop_views() -> None:
    for name in ("v_activation_memory", "v_speedup", "v_series", "v_latest", "v_results"):
        op.execute(f"DROP VIEW {name}")


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
    for name, sql in _views(new=True).items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
    op.execute(f"CREATE VIEW v_recommendations AS {_recommendations_view()}")


def downgrade() -> None:
    op.execute("DROP VIEW v_recommendations")
    _drop_views()
    # compiled rows stay (their case keys say -compile); a compile failure was an error
    op.execute("UPDATE results SET status = 'error' WHERE status = 'compile_failed'")
    _status_check("old")
    with op.batch_alter_table("results") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
    for name, sql in _views(new=False).items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
