"""average aggregation: levels reported by each state are averaged, never summed

An indicator such as "average days to answer a request" is a level each state reports; adding
the states' levels (4 and 8 days making 12) means nothing. The new aggregation ``average`` takes
their mean in each period, so the approved totals keep how many values each sum is made of.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITH_AVERAGE = "aggregation IN ('per_period','cumulative','average')"
WITHOUT_AVERAGE = "aggregation IN ('per_period','cumulative')"
# As app/progress/totals.py counts them: the approved values given, per indicator and period.
FILL_VALUE_COUNTS = """
UPDATE approved_period_total SET value_count = (
    SELECT count(value) FROM indicator_value
    WHERE indicator_value.indicator_id = approved_period_total.indicator_id
      AND indicator_value.reporting_period_id = approved_period_total.reporting_period_id
      AND submission_id IN (SELECT id FROM submission WHERE status = 'approved')
)
"""


def _aggregations(allowed: str) -> None:
    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_indicator_aggregation"), type_="check")
        batch_op.create_check_constraint(op.f("ck_indicator_aggregation"), allowed)


def upgrade() -> None:
    _aggregations(WITH_AVERAGE)
    with op.batch_alter_table("approved_period_total", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("value_count", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(FILL_VALUE_COUNTS)


def downgrade() -> None:
    # Without the kind, an averaged indicator adds up again, as it did before.
    op.execute("UPDATE indicator SET aggregation = 'per_period' WHERE aggregation = 'average'")
    _aggregations(WITHOUT_AVERAGE)
    with op.batch_alter_table("approved_period_total", schema=None) as batch_op:
        batch_op.drop_column("value_count")
