"""A closed period's summary, frozen: the figures as they stood when the period was closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow


class SummarySnapshot(SQLModel, table=True):
    """Written once, when a period is closed; never updated. Later corrections leave it as is.

    ``payload`` is a ``Summary`` as JSON (``Summary.model_dump(mode="json")``): figures,
    initiative statuses, narratives and reporting completeness, for every member state.
    """

    __tablename__ = "summary_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    reporting_period_id: int = Field(foreign_key="reporting_period.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    schema_version: int = Field(default=1)
    payload: dict[str, Any] = Field(sa_type=JSON)
