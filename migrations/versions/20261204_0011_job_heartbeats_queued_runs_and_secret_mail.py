"""job heartbeats, queued and abandoned runs, mail that holds a secret

A job lock now names the run holding it and is kept alive by a heartbeat, on SQLite and
PostgreSQL alike (PostgreSQL used an advisory lock, which closed no orphaned run). A run may be
queued ("Run now" in the web) or abandoned (its process stopped without closing it). An outbox
message that holds a one-time link says so, so the link is removed once it is sent.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITH_QUEUED = "outcome IN ('queued','running','succeeded','failed','skipped','abandoned')"
WITHOUT_QUEUED = "outcome IN ('running','succeeded','failed','skipped')"


def _outcomes(allowed: str) -> None:
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_job_run_outcome"), type_="check")
        batch_op.create_check_constraint(op.f("ck_job_run_outcome"), allowed)


def upgrade() -> None:
    _outcomes(WITH_QUEUED)
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_job_lock_run_id_job_run"), "job_run", ["run_id"], ["id"]
        )
    # A lock held by the old code beats no more: it is stale at once and may be taken over.
    op.execute("UPDATE job_lock SET heartbeat_at = acquired_at WHERE holder IS NOT NULL")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("holds_secret", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Links already e-mailed or given up are removed, as from now on.
    op.execute(
        "UPDATE outbox_message SET holds_secret = true, body_text = "
        "'The one-time link in this message was removed after delivery.' "
        "WHERE kind = 'account_link' AND status IN ('sent', 'failed')"
    )
    op.execute("UPDATE outbox_message SET holds_secret = true WHERE kind = 'account_link'")


def downgrade() -> None:
    # The old code knows neither outcome: a queued run never started; an abandoned one failed.
    op.execute("UPDATE job_lock SET holder = NULL, acquired_at = NULL, run_id = NULL")
    op.execute("DELETE FROM job_run WHERE outcome = 'queued'")
    op.execute("UPDATE job_run SET outcome = 'failed' WHERE outcome = 'abandoned'")
    _outcomes(WITHOUT_QUEUED)
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("holds_secret")
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_job_lock_run_id_job_run"), type_="foreignkey")
        batch_op.drop_column("run_id")
        batch_op.drop_column("heartbeat_at")
