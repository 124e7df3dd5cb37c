"""approved totals: per indicator and period, and each state's latest value as of each period

Derived tables the summary reads instead of every approved value; filled here from the values
already stored (the application keeps them current from then on).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same computation as app/progress/totals.py, frozen as it stood for this revision: only
# approved values; a percentage's parts only when the denominator is positive; figures by sex
# "incomplete" when partial or not adding up to the total.
FILL_PERIOD_TOTALS = """
INSERT INTO approved_period_total (reporting_period_id, indicator_id, value_sum, numerator_sum,
    denominator_sum, yes_count, corrected_count, sex_incomplete_count)
SELECT reporting_period_id, indicator_id, sum(value),
    sum(CASE WHEN numerator IS NOT NULL AND denominator > 0 THEN numerator END),
    sum(CASE WHEN numerator IS NOT NULL AND denominator > 0 THEN denominator END),
    sum(CASE WHEN value = 1 THEN 1 ELSE 0 END),
    sum(CASE WHEN corrected_after_close THEN 1 ELSE 0 END),
    sum(CASE WHEN (female IS NOT NULL OR male IS NOT NULL) AND (value IS NULL
        OR female IS NULL OR male IS NULL OR abs(female + male - value) > 1e-9)
        THEN 1 ELSE 0 END)
FROM indicator_value
WHERE submission_id IN (SELECT id FROM submission WHERE status = 'approved')
GROUP BY reporting_period_id, indicator_id
"""
FILL_LATEST_VALUES = """
INSERT INTO approved_latest_value (as_of_period_id, indicator_id, member_state_id,
    indicator_value_id, reporting_period_id, value, numerator, denominator, yes, sex_incomplete)
SELECT as_of.id, spans.indicator_id, spans.member_state_id, spans.id,
    spans.reporting_period_id, spans.value, spans.numerator, spans.denominator, spans.yes,
    spans.sex_incomplete
FROM (
    SELECT indicator_value.id, indicator_id, member_state_id, reporting_period_id, value,
        CASE WHEN numerator IS NOT NULL AND denominator > 0 THEN numerator END AS numerator,
        CASE WHEN numerator IS NOT NULL AND denominator > 0 THEN denominator END AS denominator,
        CASE WHEN value = 1 THEN 1 ELSE 0 END AS yes,
        CASE WHEN (female IS NOT NULL OR male IS NOT NULL) AND (value IS NULL
            OR female IS NULL OR male IS NULL OR abs(female + male - value) > 1e-9)
            THEN 1 ELSE 0 END AS sex_incomplete,
        p.start_date AS starts,
        lead(p.start_date) OVER (
            PARTITION BY indicator_id, member_state_id ORDER BY p.start_date
        ) AS next_starts
    FROM indicator_value JOIN reporting_period p ON p.id = reporting_period_id
    WHERE submission_id IN (SELECT id FROM submission WHERE status = 'approved')
) spans
JOIN reporting_period as_of ON as_of.start_date >= spans.starts
    AND (spans.next_starts IS NULL OR as_of.start_date < spans.next_starts)
"""


def upgrade() -> None:
    op.create_table(
        "approved_period_total",
        sa.Column("reporting_period_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("value_sum", sa.Float(), nullable=True),
        sa.Column("numerator_sum", sa.Float(), nullable=True),
        sa.Column("denominator_sum", sa.Float(), nullable=True),
        sa.Column("yes_count", sa.Integer(), nullable=False),
        sa.Column("corrected_count", sa.Integer(), nullable=False),
        sa.Column("sex_incomplete_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_approved_period_total_indicator_id_indicator"),
        ),
        sa.ForeignKeyConstraint(
            ["reporting_period_id"],
            ["reporting_period.id"],
            name=op.f("fk_approved_period_total_reporting_period_id_reporting_period"),
        ),
        sa.PrimaryKeyConstraint(
            "reporting_period_id", "indicator_id", name=op.f("pk_approved_period_total")
        ),
    )
    op.create_table(
        "approved_latest_value",
        sa.Column("as_of_period_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("member_state_id", sa.Integer(), nullable=False),
        sa.Column("indicator_value_id", sa.Integer(), nullable=False),
        sa.Column("reporting_period_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("yes", sa.Integer(), nullable=False),
        sa.Column("sex_incomplete", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["as_of_period_id"],
            ["reporting_period.id"],
            name=op.f("fk_approved_latest_value_as_of_period_id_reporting_period"),
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_approved_latest_value_indicator_id_indicator"),
        ),
        sa.ForeignKeyConstraint(
            ["member_state_id"],
            ["member_state.id"],
            name=op.f("fk_approved_latest_value_member_state_id_member_state"),
        ),
        sa.ForeignKeyConstraint(
            ["indicator_value_id"],
            ["indicator_value.id"],
            name=op.f("fk_approved_latest_value_indicator_value_id_indicator_value"),
        ),
        sa.ForeignKeyConstraint(
            ["reporting_period_id"],
            ["reporting_period.id"],
            name=op.f("fk_approved_latest_value_reporting_period_id_reporting_period"),
        ),
        sa.PrimaryKeyConstraint(
            "as_of_period_id",
            "indicator_id",
            "member_state_id",
            name=op.f("pk_approved_latest_value"),
        ),
    )
    with op.batch_alter_table("approved_latest_value", schema=None) as batch_op:
        batch_op.create_index(
            "ix_approved_latest_value_state", ["member_state_id", "indicator_id"], unique=False
        )
    op.execute(FILL_PERIOD_TOTALS)
    op.execute(FILL_LATEST_VALUES)


def downgrade() -> None:
    with op.batch_alter_table("approved_latest_value", schema=None) as batch_op:
        batch_op.drop_index("ix_approved_latest_value_state")
    op.drop_table("approved_latest_value")
    op.drop_table("approved_period_total")
