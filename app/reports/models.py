"""A closed period's summary, frozen: the figures as they stood when the period was closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, text
from sqlmodel import Field, SQLModel

from app.progress.models import IndicatorValue
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


# The summary's aggregates read every approved value of the periods shown. This index holds
# every column they read, in GROUP BY order, so the database answers from the index alone
# instead of fetching each value's row (on the large benchmark plan: 4x faster on SQLite).
SUMMARY_VALUES_INDEX = Index(
    "ix_indicator_value_summary",
    IndicatorValue.indicator_id,
    IndicatorValue.reporting_period_id,
    IndicatorValue.member_state_id,
    IndicatorValue.submission_id,
    IndicatorValue.value,
    IndicatorValue.numerator,
    IndicatorValue.denominator,
    IndicatorValue.female,
    IndicatorValue.male,
    IndicatorValue.corrected_after_close,
)

# Narratives are few among many values: a partial index lists only the values that carry one,
# so the summary's narratives are found without reading every value of the periods shown.
NARRATIVES_INDEX = Index(
    "ix_indicator_value_narrative",
    IndicatorValue.reporting_period_id,
    IndicatorValue.indicator_id,
    sqlite_where=text("narrative <> ''"),
    postgresql_where=text("narrative <> ''"),
)
