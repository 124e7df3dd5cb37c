"""submissions and review workflow

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_state_id", sa.Integer(), nullable=False),
        sa.Column("reporting_period_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft','submitted','approved','returned')",
            name=op.f("ck_submission_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_state_id"],
            ["member_state.id"],
            name=op.f("fk_submission_member_state_id_member_state"),
        ),
        sa.ForeignKeyConstraint(
            ["reporting_period_id"],
            ["reporting_period.id"],
            name=op.f("fk_submission_reporting_period_id_reporting_period"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["user_account.id"],
            name=op.f("fk_submission_reviewed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["user_account.id"],
            name=op.f("fk_submission_submitted_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sa.UniqueConstraint(
            "member_state_id",
            "reporting_period_id",
            name=op.f("uq_submission_member_state_id_reporting_period_id"),
        ),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_member_state_id"), ["member_state_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_submission_reporting_period_id"), ["reporting_period_id"], unique=False
        )

    op.create_table(
        "submission_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("occurred_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_submission_event_actor_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_submission_event_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_event")),
    )
    with op.batch_alter_table("submission_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_event_submission_id"), ["submission_id"], unique=False
        )

    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "corrected_after_close", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.create_index(
            batch_op.f("ix_indicator_value_submission_id"), ["submission_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_indicator_value_submission_id_submission"),
            "submission",
            ["submission_id"],
            ["id"],
        )

    with op.batch_alter_table("indicator_value_revision", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "corrected_after_close", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("indicator_value_revision", schema=None) as batch_op:
        batch_op.drop_column("corrected_after_close")

    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_indicator_value_submission_id_submission"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_indicator_value_submission_id"))
        batch_op.drop_column("corrected_after_close")
        batch_op.drop_column("submission_id")

    with op.batch_alter_table("submission_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_event_submission_id"))

    op.drop_table("submission_event")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_reporting_period_id"))
        batch_op.drop_index(batch_op.f("ix_submission_member_state_id"))

    op.drop_table("submission")
