"""uploads keep at most 1,000 problems with their count, their annotated copy's state, who loaded

An upload with a problem on each of 50,000 rows stored every one of them (50 such uploads added
214 MB, and the upload history read them all). From now on the first 1,000 are kept with the full
count (``problem_count``); this migration caps the lists already stored the same way. The
annotated problems workbook is built once and stored: ``annotation`` says whether it is still
to be built (existing refused uploads with a problem at a cell: the inbox job builds them), built,
or could not be. An inbox file has no sender, so ``committed_by_id`` names who loaded it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_PROBLEMS_KEPT = 1000  # as app/imports/models.py keeps them
_upload = sa.table(
    "upload",
    sa.column("id", sa.Integer()),
    sa.column("outcome", sa.String()),
    sa.column("problems", sa.JSON()),
    sa.column("problem_count", sa.Integer()),
    sa.column("annotation", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("problem_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("annotation", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("committed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_upload_committed_by_id_user_account"),
            "user_account",
            ["committed_by_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            op.f("ck_upload_annotation"),
            "annotation IS NULL OR annotation IN ('pending','ready','failed')",
        )
    _cap_stored_problems()


def _cap_stored_problems() -> None:
    """One upload at a time: a list may be tens of megabytes."""
    connection = op.get_bind()
    ids = connection.execute(
        sa.select(_upload.c.id).where(_upload.c.problems.is_not(None)).order_by(_upload.c.id)
    ).scalars()
    for upload_id in list(ids):
        outcome, problems = connection.execute(
            sa.select(_upload.c.outcome, _upload.c.problems).where(_upload.c.id == upload_id)
        ).one()
        problems = problems or []
        at_cell = outcome == "refused" and any(p.get("cell") for p in problems)
        connection.execute(
            sa.update(_upload)
            .where(_upload.c.id == upload_id)
            .values(
                problem_count=len(problems),
                problems=problems[:MAX_PROBLEMS_KEPT],
                annotation="pending" if at_cell else None,
            )
        )


def downgrade() -> None:
    # The problems beyond the first 1,000 are not restored: the archived file still has them.
    with op.batch_alter_table("upload", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_upload_annotation"), type_="check")
        batch_op.drop_constraint(op.f("fk_upload_committed_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("committed_by_id")
        batch_op.drop_column("annotation")
        batch_op.drop_column("problem_count")
