"""Schedules, job runs, the mail outbox and the reminder claims that make reminders exactly-once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow

JOB_KINDS = ("reminders", "status-report", "imports-scan")
# queued (waits for the scheduler process), running, then succeeded, failed or skipped (another
# run held the lock); abandoned when the process running it stopped without closing it.
RUN_OUTCOMES = ("queued", "running", "succeeded", "failed", "skipped", "abandoned")
ACTIVE_OUTCOMES = ("queued", "running")


class Schedule(SQLModel, table=True):
    """When a job runs, as a cron expression in the office's time zone; edited by admins."""

    __tablename__ = "schedule"
    __table_args__ = (
        CheckConstraint("job IN ('reminders','status-report','imports-scan')", name="job"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=20, unique=True)
    cron: str = Field(max_length=100)
    enabled: bool = Field(default=True)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = Field(default=1)


class JobRun(SQLModel, table=True):
    """One run of a job: when, why, how it ended, what it did, what went wrong."""

    __tablename__ = "job_run"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('queued','running','succeeded','failed','skipped','abandoned')",
            name="outcome",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=20, index=True)
    trigger: str = Field(max_length=20)  # schedule, catch-up, page, cli
    # When it was queued, until the scheduler starts it; from then on, when it started.
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    outcome: str = Field(max_length=10, default="running")  # see RUN_OUTCOMES
    counts: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    notes: list[Any] | None = Field(default=None, sa_type=JSON)
    error: str = Field(default="", sa_type=Text)


class OutboxMessage(SQLModel, table=True):
    """Mail is written here in the same transaction as what caused it, then sent from here."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending','sending','sent','failed')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(max_length=30)
    to_address: str = Field(max_length=254)
    to_name: str = Field(max_length=200, default="")
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_type=Text)
    body_html: str = Field(sa_type=Text, default="")
    attachment_path: str | None = Field(default=None, max_length=500)
    attachment_name: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=10, default="pending", index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str = Field(default="", sa_type=Text)
    sent_at: datetime | None = None
    job_run_id: int | None = Field(default=None, foreign_key="job_run.id")
    # The body holds a secret (a one-time link): once the message is sent or given up, its
    # links are replaced with a note, so no token sits in the database in clear.
    holds_secret: bool = Field(default=False)
    # When the one-time link it holds stops working: a message still waiting then loses it.
    link_expires_at: datetime | None = None


class ReminderClaim(SQLModel, table=True):
    """ "This reminder was queued": at most one per recipient, state, period, kind and stage."""

    __tablename__ = "reminder_claim"
    __table_args__ = (
        UniqueConstraint("recipient_id", "member_state_id", "reporting_period_id", "kind", "stage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="user_account.id")
    member_state_id: int = Field(foreign_key="member_state.id")
    reporting_period_id: int = Field(foreign_key="reporting_period.id")
    kind: str = Field(max_length=20)  # due_soon, overdue, returned, escalation
    stage: str = Field(max_length=30)
    claimed_at: datetime = Field(default_factory=utcnow)
    # The office day of the run that claimed it: the cadence counts in days, not in hours.
    claimed_on: date = Field(index=True)
    outbox_message_id: int | None = Field(default=None, foreign_key="outbox_message.id")


class JobLock(SQLModel, table=True):
    """One row per job; holding it means running it, on SQLite and PostgreSQL alike.

    The holder (host:pid:token) refreshes ``heartbeat_at`` and ``stale_at`` while the job runs;
    a lock past its ``stale_at`` is taken over, and the run it names is closed as abandoned.
    """

    __tablename__ = "job_lock"

    job: str = Field(max_length=20, primary_key=True)
    holder: str | None = Field(default=None, max_length=100)
    acquired_at: datetime | None = None
    heartbeat_at: datetime | None = None
    # Set by the holder at each beat to the database's now plus its stale_after: from then on
    # the lock may be taken over.
    stale_at: datetime | None = None
    run_id: int | None = Field(default=None, foreign_key="job_run.id")


class StatusReport(SQLModel, table=True):
    """A generated M&E status report, kept so it can be downloaded again."""

    __tablename__ = "status_report"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    reporting_period_id: int | None = Field(default=None, foreign_key="reporting_period.id")
    file_name: str = Field(max_length=200)
    job_run_id: int | None = Field(default=None, foreign_key="job_run.id")
    # "period <id> on <office day>": unique, so two runs that race never both send the report
    # for the same period and day (empty for reports made before the key existed).
    sent_for: str | None = Field(default=None, max_length=60, unique=True)
