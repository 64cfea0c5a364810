"""An index for reading one series' verdicts (the results pages' series view), which
otherwise scans every verdict ever stored.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_comparisons_series", "comparisons",
                    ["case_key", "hardware_key", "run_pk"])


def downgrade() -> None:
    op.drop_index("ix_comparisons_series", table_name="comparisons")
