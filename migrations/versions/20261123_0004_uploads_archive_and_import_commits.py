"""uploads archive and import commits

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("original_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("stored_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("file_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("member_state_id", sa.Integer(), nullable=True),
        sa.Column("reporting_period_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.Column("rows", sa.JSON(), nullable=True),
        sa.Column("committed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('refused','previewed','committed','unchanged','stale')",
            name=op.f("ck_upload_outcome"),
        ),
        sa.CheckConstraint("source IN ('web','inbox')", name=op.f("ck_upload_source")),
        sa.ForeignKeyConstraint(
            ["member_state_id"],
            ["member_state.id"],
            name=op.f("fk_upload_member_state_id_member_state"),
        ),
        sa.ForeignKeyConstraint(
            ["reporting_period_id"],
            ["reporting_period.id"],
            name=op.f("fk_upload_reporting_period_id_reporting_period"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_upload_submission_id_submission")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_upload_uploaded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload")),
    )
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_file_sha256"), ["file_sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_upload_member_state_id"), ["member_state_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_upload_received_at"), ["received_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_upload_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "import_commit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("committed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_import_commit_submission_id_submission"),
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["upload.id"], name=op.f("fk_import_commit_upload_id_upload")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_commit")),
        sa.UniqueConstraint(
            "submission_id",
            "content_hash",
            "base_version",
            name=op.f("uq_import_commit_submission_id_content_hash_base_version"),
        ),
    )


def downgrade() -> None:
    op.drop_table("import_commit")
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_submission_id"))
        batch_op.drop_index(batch_op.f("ix_upload_received_at"))
        batch_op.drop_index(batch_op.f("ix_upload_member_state_id"))
        batch_op.drop_index(batch_op.f("ix_upload_file_sha256"))

    op.drop_table("upload")
