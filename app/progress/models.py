"""Reported indicator values (indicator x reporting period x member state) and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow

VALUE_SOURCES = ("web", "upload", "seed", "import_inbox")


class IndicatorValue(SQLModel, table=True):
    """The current value; every change also writes an ``IndicatorValueRevision``."""

    __tablename__ = "indicator_value"
    __table_args__ = (
        UniqueConstraint("indicator_id", "reporting_period_id", "member_state_id"),
        CheckConstraint("denominator IS NULL OR denominator > 0", name="denominator_positive"),
        CheckConstraint(
            "(female IS NULL OR female >= 0) AND (male IS NULL OR male >= 0)",
            name="sex_counts_positive",
        ),
        CheckConstraint("source IN ('web','upload','seed','import_inbox')", name="source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique constraint's index leads with it (so, below, for the
    # revision's value and the submission's state); a second one only slows every insert.
    indicator_id: int = Field(foreign_key="indicator.id")
    reporting_period_id: int = Field(foreign_key="reporting_period.id", index=True)
    member_state_id: int = Field(foreign_key="member_state.id", index=True)
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    text_value: str | None = Field(default=None, sa_type=Text)
    female: float | None = None
    male: float | None = None
    narrative: str = Field(sa_type=Text, default="")
    evidence_url: str = Field(max_length=500, default="")
    source: str = Field(max_length=20, default="web")
    submission_id: int | None = Field(default=None, foreign_key="submission.id", index=True)
    # Set when a manager changes a value after its period was closed: summaries mark it.
    corrected_after_close: bool = Field(default=False)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    version: int = Field(default=1)


class IndicatorValueRevision(SQLModel, table=True):
    """Append-only: one row per saved version of an indicator value, never updated."""

    __tablename__ = "indicator_value_revision"
    __table_args__ = (UniqueConstraint("indicator_value_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator_value_id: int = Field(foreign_key="indicator_value.id")
    version: int
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    text_value: str | None = Field(default=None, sa_type=Text)
    female: float | None = None
    male: float | None = None
    narrative: str = Field(sa_type=Text, default="")
    evidence_url: str = Field(max_length=500, default="")
    source: str = Field(max_length=20)
    changed_at: datetime = Field(default_factory=utcnow)
    changed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    reason: str = Field(max_length=500, default="")
    corrected_after_close: bool = Field(default=False)


SUBMISSION_STATUSES = ("draft", "submitted", "approved", "returned")


class Submission(SQLModel, table=True):
    """One member state's report for one reporting period."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("member_state_id", "reporting_period_id"),
        CheckConstraint("status IN ('draft','submitted','approved','returned')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_state_id: int = Field(foreign_key="member_state.id")
    reporting_period_id: int = Field(foreign_key="reporting_period.id", index=True)
    status: str = Field(max_length=10, default="draft")
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    submitted_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    reviewed_at: datetime | None = None
    reviewed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    review_comment: str = Field(default="", sa_type=Text)
    version: int = Field(default=1)


class SubmissionEvent(SQLModel, table=True):
    """Append-only history of a submission's status: who moved it, when, and why."""

    __tablename__ = "submission_event"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    from_status: str | None = Field(default=None, max_length=10)
    to_status: str = Field(max_length=10)
    occurred_at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    comment: str = Field(default="", sa_type=Text)


class ApprovedPeriodTotal(SQLModel, table=True):
    """Approved values of one indicator and period, summed over every member state.

    Derived data, kept by ``app.progress.totals`` in the same transaction as each approval or
    correction, so that the summary reads one row per indicator and period instead of every
    state's value. ``flask reports rebuild-totals`` recomputes it from the values.
    """

    __tablename__ = "approved_period_total"

    reporting_period_id: int = Field(foreign_key="reporting_period.id", primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True)
    value_sum: float | None = None
    value_count: int = 0  # values given: an ``average`` indicator's figure is sum / count
    # Only from pairs with a positive denominator: a percentage is recomputed from its parts.
    numerator_sum: float | None = None
    denominator_sum: float | None = None
    yes_count: int = 0
    corrected_count: int = 0  # values changed after their period was closed
    sex_incomplete_count: int = 0  # values whose figures by sex are partial or do not add up


class ApprovedLatestValue(SQLModel, table=True):
    """Each state's latest approved value of an indicator as it stood at the end of each period.

    For cumulative and yes/no indicators the latest value stands for the whole plan to date;
    one row per (period it is "as of", indicator, state) lets the summary read those values
    directly instead of searching every state's history. Derived data, like the totals above.
    """

    __tablename__ = "approved_latest_value"
    __table_args__ = (Index("ix_approved_latest_value_state", "member_state_id", "indicator_id"),)

    as_of_period_id: int = Field(foreign_key="reporting_period.id", primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True)
    member_state_id: int = Field(foreign_key="member_state.id", primary_key=True)
    # The value itself, and the period it was reported for (at or before ``as_of_period_id``).
    indicator_value_id: int = Field(foreign_key="indicator_value.id")
    reporting_period_id: int = Field(foreign_key="reporting_period.id")
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    yes: int = 0  # 1 for a "yes" answer
    sex_incomplete: int = 0  # 1 when its figures by sex are partial or do not add up
