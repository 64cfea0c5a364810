"""The model a result measured (segtasks.domain.model_spec).

results: `model`, the spec as the run conf gave it (NULL: the mission's default model, as
every earlier row), `model_identity`, its short hash with the weights read (NULL where no
weights were read, and on earlier rows), and `model_description`, the model in words.

Views: v_results (so v_latest), v_series and v_output_parity show the model beside the
case key; every other view is as 0011 and 0010 made it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
COLUMNS: list[sa.Column[object]] = [
    sa.Column("model", JSON),
    sa.Column("model_identity", sa.String(16)),
    sa.Column("model_description", sa.Text),
]
MODEL_IN_V_RESULTS = "\n           x.model_identity, x.model_description, x.model,"
# the views that read v_results, dropped and made again around it (PostgreSQL keeps a
# view's columns as they were when it was created)
ON_V_RESULTS = ("v_speedup", "v_series", "v_latest")


def _earlier(name: str) -> ModuleType:
    """An earlier revision's module, for the view definitions it froze (its file name
    starts with a digit, so it cannot be imported by name)."""
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"segbench_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _views(with_model: bool) -> dict[str, str]:
    compile_ = _earlier("0011_compile.py")
    parity = _earlier("0010_output_parity.py")
    views = compile_._views(new=True)
    model = MODEL_IN_V_RESULTS if with_model else ""
    views["v_results"] = compile_.V_RESULTS.format(
        axis=" x.compile,", extra=compile_.NEW_IN_V_RESULTS
        + compile_._parity_in_v_results() + model)
    views["v_output_parity"] = parity.V_OUTPUT_PARITY
    if with_model:
        views["v_series"] = views["v_series"].replace(
            "SELECT v.case_key, v.hardware_key,",
            "SELECT v.case_key, v.model_description, v.hardware_key,", 1)
        views["v_output_parity"] = parity.V_OUTPUT_PARITY.replace(
            "x.id AS result_id, x.case_key,",
            "x.id AS result_id, x.case_key, x.model_description,", 1)
    # v_results first, then what reads it
    order = ("v_results", "v_latest", "v_series", "v_speedup", "v_output_parity")
    return {name: views[name] for name in order}


def _drop_views() -> None:
    for name in (*ON_V_RESULTS, "v_results", "v_output_parity"):
        op.execute(f"DROP VIEW {name}")


def upgrade() -> None:
    _drop_views()
    with op.batch_alter_table("results") as batch:
        for column in COLUMNS:
            batch.add_column(column.copy())
    for name, sql in _views(with_model=True).items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    _drop_views()
    with op.batch_alter_table("results") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
    for name, sql in _views(with_model=False).items():
        op.execute(f"CREATE VIEW {name} AS {sql}")
