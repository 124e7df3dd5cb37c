"""Reported indicator values (indicator x reporting period x member state) and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
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
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
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
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    version: int = Field(default=1)


class IndicatorValueRevision(SQLModel, table=True):
    """Append-only: one row per saved version of an indicator value, never updated."""

    __tablename__ = "indicator_value_revision"
    __table_args__ = (UniqueConstraint("indicator_value_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator_value_id: int = Field(foreign_key="indicator_value.id", index=True)
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
