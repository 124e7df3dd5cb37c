"""a job lock's own stale time; a status report once per period and day; link expiry

A job lock records when it becomes stale (``job_lock.stale_at``, the database's clock plus the
holder's threshold), so a taker with other settings or another clock cannot cut it short; a
lock without one (held by the code before) may be taken over.

Two runs of the status report that raced could both send it: ``status_report.sent_for``
("period <id> on <day>") is now unique. An outbox message holding a one-time link records
when that link expires (``link_expires_at``), so a message still waiting loses it then.
Reports and messages from before keep NULL (no key, no known expiry).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stale_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("status_report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sent_for", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_status_report_sent_for"), ["sent_for"])
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("link_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("link_expires_at")
    with op.batch_alter_table("status_report", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_status_report_sent_for"), type_="unique")
        batch_op.drop_column("sent_for")
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.drop_column("stale_at")
