"""summary snapshots: a closed period's summary, frozen; an index for the summary's aggregates

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporting_period_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporting_period_id"],
            ["reporting_period.id"],
            name=op.f("fk_summary_snapshot_reporting_period_id_reporting_period"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_snapshot")),
        sa.UniqueConstraint(
            "reporting_period_id", name=op.f("uq_summary_snapshot_reporting_period_id")
        ),
    )

    # Every column the summary's aggregates read, so they are answered from the index alone.
    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.create_index(
            "ix_indicator_value_summary",
            [
                "indicator_id",
                "reporting_period_id",
                "member_state_id",
                "submission_id",
                "value",
                "numerator",
                "denominator",
                "female",
                "male",
                "corrected_after_close",
            ],
            unique=False,
        )
        # Only the values that carry a narrative (a partial index).
        batch_op.create_index(
            "ix_indicator_value_narrative",
            ["reporting_period_id", "indicator_id"],
            unique=False,
            sqlite_where=sa.text("narrative <> ''"),
            postgresql_where=sa.text("narrative <> ''"),
        )


def downgrade() -> None:
    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.drop_index("ix_indicator_value_narrative")
        batch_op.drop_index("ix_indicator_value_summary")
    op.drop_table("summary_snapshot")
