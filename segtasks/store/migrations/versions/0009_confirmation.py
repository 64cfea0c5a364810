"""Verdicts you can act on: same-night confirmation and what each series can see.

- `processes`: one row per measuring process of a case (the first ones, `repeats`, and the
  ones that confirmed a screened change), with its figure, interval and validity;
- `samples.process`: which process timed a batch;
- `results.repeats`: processes per case asked for;
- `comparisons`: `mde` (the smallest change the series sees), `screened`, `confirmed`,
  `first_value`, `process_values`, `began_run_pk` (the night a change began, from the step
  test that pools nights) and `alerted` (a new regression, not an ongoing one);
- `runs.notes`: what the night wants its readers to know (the confirmation budget ran out);
- views: v_regressions gains those columns; v_verdicts lists every verdict with its run
  and what its series can see.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)

COMPARISON_COLUMNS = [
    sa.Column("mde", sa.Float),
    sa.Column("screened", sa.Boolean),
    sa.Column("confirmed", sa.Boolean),
    sa.Column("first_value", sa.Float),
    sa.Column("process_values", JSON),
    sa.Column("began_run_pk", sa.Integer),
    sa.Column("alerted", sa.Boolean),
]

# v_regressions as of revision 0005, with `extra` columns
V_REGRESSIONS = """
    SELECT r.started_at, r.run_id, r.dag_id, c.run_pk, c.case_key, c.hardware_key,
           c.metric, c.direction, c.tonight, c.baseline, c.relative_change, c.noise, c.z,
           c.rank_p, c.min_effect, c.z_threshold, c.software_changes, c.detail,
           c.method, c.baseline_run_pks{extra}
    FROM comparisons c JOIN runs r ON r.id = c.run_pk
    WHERE c.verdict = 'regression'"""
NEW_IN_V_REGRESSIONS = """,
           c.mde, c.confirmed, c.first_value, c.process_values, c.began_run_pk,
           b.run_id AS began_run_id, c.alerted"""
V_VERDICTS = """
    SELECT r.started_at, r.run_id, r.dag_id, r.state AS run_state, c.run_pk, c.case_key,
           c.hardware_key, c.metric, c.direction, c.verdict, c.tonight, c.baseline,
           c.relative_change, c.noise, c.z, c.mde, c.min_effect, c.z_threshold,
           c.screened, c.confirmed, c.first_value, c.process_values, c.began_run_pk,
           b.run_id AS began_run_id, c.alerted, c.software_changes, c.detail, c.method
    FROM comparisons c JOIN runs r ON r.id = c.run_pk
    LEFT JOIN runs b ON b.id = c.began_run_pk"""


def upgrade() -> None:
    op.create_table(
        "processes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_pk", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("case_key", sa.String(64), nullable=False),
        sa.Column("process", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("images_per_s", sa.Float),
        sa.Column("latency_p50_ms", sa.Float),
        sa.Column("latency_p90_ms", sa.Float),
        sa.Column("ci_rel", sa.Float),
        sa.Column("n_batches", sa.Integer),
        sa.Column("valid", sa.Boolean),
        sa.Column("disturbed", sa.Boolean, nullable=False),
        sa.Column("validity_reason", sa.Text),
        sa.Column("seconds", sa.Float),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("run_pk", "case_key", "process",
                            name="uq_processes_run_case_process"),
    )
    op.execute("DROP VIEW v_regressions")
    with op.batch_alter_table("comparisons") as batch:
        for column in COMPARISON_COLUMNS:
            batch.add_column(column.copy())
    with op.batch_alter_table("samples") as batch:
        batch.add_column(sa.Column("process", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("repeats", sa.Integer))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("notes", JSON))
    op.execute("CREATE VIEW v_regressions AS "
               + V_REGRESSIONS.format(extra=NEW_IN_V_REGRESSIONS).replace(
                   "WHERE", "LEFT JOIN runs b ON b.id = c.began_run_pk\n    WHERE"))
    op.execute(f"CREATE VIEW v_verdicts AS {V_VERDICTS}")


def downgrade() -> None:
    op.execute("DROP VIEW v_verdicts")
    op.execute("DROP VIEW v_regressions")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("notes")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("repeats")
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("process")
    with op.batch_alter_table("comparisons") as batch:
        for column in reversed(COMPARISON_COLUMNS):
            batch.drop_column(column.name)
    op.drop_table("processes")
    op.execute(f"CREATE VIEW v_regressions AS {V_REGRESSIONS.format(extra='')}")
