"""detach refused uploads sent for another state from that state

Until now a workbook for another member state was refused but still filed under the state it
named, so that state's focal points saw it (with the name its sender chose) in their upload
history and could open it. Such uploads now belong to no state: their senders and the managers
still see them. This clears the state of the ones already stored: refused uploads whose sender
is not an RSO manager and reports for a different state (or none).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            """
            UPDATE upload SET member_state_id = NULL
            WHERE outcome = 'refused'
              AND member_state_id IS NOT NULL
              AND uploaded_by_id IS NOT NULL
              AND NOT EXISTS (
                SELECT 1 FROM user_role
                WHERE user_role.user_id = upload.uploaded_by_id AND user_role.role = 'rso_manager'
              )
              AND member_state_id <> COALESCE(
                (SELECT user_account.member_state_id FROM user_account
                 WHERE user_account.id = upload.uploaded_by_id),
                -1
              )
            """
        )
    )


def downgrade() -> None:
    """Nothing to restore: which state those refused files named is in their problems."""
