"""drop indexes that repeat the leading column of a unique constraint

Each unique constraint already has an index whose first column is the one these indexed alone,
so they served no lookup the constraint's index does not, and every insert paid for them (an
import of 20,000 values wrote each one twice over for the value and its revision).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): the index on the column alone; the unique constraint that leads with it.
REPEATED = (
    ("focus_area", "work_plan_id"),  # (work_plan_id, number)
    ("strategic_goal", "focus_area_id"),  # (focus_area_id, number)
    ("initiative", "strategic_goal_id"),  # (strategic_goal_id, code)
    ("indicator", "work_plan_id"),  # (work_plan_id, code)
    ("submission", "member_state_id"),  # (member_state_id, reporting_period_id)
    ("indicator_value", "indicator_id"),  # (indicator_id, reporting_period_id, member_state_id)
    ("indicator_value_revision", "indicator_value_id"),  # (indicator_value_id, version)
)


def upgrade() -> None:
    for table, column in REPEATED:
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)


def downgrade() -> None:
    for table, column in REPEATED:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)
