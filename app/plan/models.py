"""The results framework: work plan -> focus area -> strategic goal -> initiative -> indicator.

Also the membership (member states and organisations), reporting periods, and the activities the
RSO delivers. Designed to outlive the 2024-2026 plan: nothing assumes there is only one plan.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow

MEMBER_KINDS = ("state", "organisation", "observer_state", "observer_organisation")
LIFECYCLE_STATUSES = ("planned", "in_progress", "completed", "cancelled")
RAG_RATINGS = ("on_track", "at_risk", "off_track")
INDICATOR_LEVELS = ("output", "outcome")
INDICATOR_UNITS = ("number", "percentage", "yes_no", "text")
DIRECTIONS = ("increase", "decrease", "maintain")
# ``average``: a level each state reports (e.g. average days to answer a request): states are
# combined by their mean, never summed, and the latest period's figure stands.
AGGREGATIONS = ("per_period", "cumulative", "average")
FREQUENCIES = ("quarterly", "annual")
COMPUTED_FROM = ("activities", "participants", "member_states_participating")
ACTIVITY_KINDS = ("training_course", "regional_meeting", "workshop", "research_product", "briefing")
PERIOD_STATUSES = ("open", "closed")

LABELS = {
    "planned": "Planned",
    "in_progress": "In progress",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "output": "Output",
    "outcome": "Outcome",
    "number": "Number",
    "percentage": "Percentage",
    "yes_no": "Yes / no",
    "text": "Text",
    "increase": "Increase",
    "decrease": "Decrease",
    "maintain": "Maintain",
    "per_period": "Per period (periods add up)",
    "cumulative": "Cumulative (latest value stands)",
    "average": "Average of the states (latest period stands)",
    "quarterly": "Quarterly",
    "annual": "Annual",
    "training_course": "Training course",
    "regional_meeting": "Regional meeting",
    "workshop": "Workshop",
    "research_product": "Research product",
    "briefing": "Briefing",
    "activities": "Count of activities delivered",
    "participants": "Participants in activities",
    "member_states_participating": "Member states taking part",
    "open": "Open",
    "closed": "Closed",
    "state": "Member state",
    "organisation": "Member organisation",
    "observer_state": "Observer state",
    "observer_organisation": "Observer organisation",
}


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ",".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class WorkPlan(SQLModel, table=True):
    __tablename__ = "work_plan"
    __table_args__ = (CheckConstraint("period_end >= period_start", name="period_order"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    title: str = Field(max_length=200)
    period_start: date
    period_end: date
    impact_statement: str = Field(sa_type=Text)


class MemberState(SQLModel, table=True):
    """A Bali Process member state or member organisation (observers may be added later)."""

    __tablename__ = "member_state"
    __table_args__ = (_one_of("kind", MEMBER_KINDS, "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True)
    name: str = Field(max_length=120, unique=True)
    kind: str = Field(max_length=24, default="state")
    iso3: str | None = Field(default=None, max_length=3)
    andaman_sea: bool = Field(default=False)
    is_active: bool = Field(default=True)


class ReportingPeriod(SQLModel, table=True):
    __tablename__ = "reporting_period"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="date_order"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_range"),
        _one_of("status", PERIOD_STATUSES, "status"),
        UniqueConstraint("year", "quarter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=10, unique=True)
    year: int
    quarter: int
    start_date: date
    end_date: date
    due_date: date
    status: str = Field(max_length=10, default="open")
    closed_at: datetime | None = None


class FocusArea(SQLModel, table=True):
    __tablename__ = "focus_area"
    __table_args__ = (UniqueConstraint("work_plan_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    work_plan_id: int = Field(foreign_key="work_plan.id")
    number: int
    title: str = Field(max_length=200)


class StrategicGoal(SQLModel, table=True):
    __tablename__ = "strategic_goal"
    __table_args__ = (UniqueConstraint("focus_area_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    focus_area_id: int = Field(foreign_key="focus_area.id")
    number: int
    title: str = Field(max_length=200)
    rationale: str = Field(sa_type=Text, default="")
    desired_end_state: str = Field(max_length=300, default="")


class StrategicGoalMemberState(SQLModel, table=True):
    """The member states a strategic goal mainly concerns (Annex A's 'impacted member states')."""

    __tablename__ = "strategic_goal_member_state"

    strategic_goal_id: int = Field(
        foreign_key="strategic_goal.id", primary_key=True, ondelete="CASCADE"
    )
    member_state_id: int = Field(foreign_key="member_state.id", primary_key=True)


class Initiative(SQLModel, table=True):
    __tablename__ = "initiative"
    __table_args__ = (
        UniqueConstraint("strategic_goal_id", "code"),
        _one_of("status", LIFECYCLE_STATUSES, "status"),
        CheckConstraint("rag IS NULL OR rag IN ('on_track','at_risk','off_track')", name="rag"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="date_order"),
    )

    id: int | None = Field(default=None, primary_key=True)
    strategic_goal_id: int = Field(foreign_key="strategic_goal.id")
    code: str = Field(max_length=20)
    title: str = Field(max_length=300)
    description: str = Field(sa_type=Text, default="")
    lead: str = Field(max_length=200, default="RSO")
    owner_id: int | None = Field(default=None, foreign_key="user_account.id")
    start_date: date
    end_date: date | None = None
    status: str = Field(max_length=20, default="planned")
    rag: str | None = Field(default=None, max_length=10)
    rag_note: str = Field(max_length=500, default="")
    status_updated_at: datetime = Field(default_factory=utcnow)
    # Optimistic locking: a save names the version it was based on and loses to a newer one.
    version: int = Field(default=1)


class InitiativeStatusChange(SQLModel, table=True):
    """Append-only history of an initiative's lifecycle status and RAG rating."""

    __tablename__ = "initiative_status_change"

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    status: str = Field(max_length=20)
    rag: str | None = Field(default=None, max_length=10)
    note: str = Field(max_length=500, default="")
    previous_status: str | None = Field(default=None, max_length=20)
    previous_rag: str | None = Field(default=None, max_length=10)
    changed_at: datetime = Field(default_factory=utcnow)
    changed_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class Indicator(SQLModel, table=True):
    """How progress is measured: an output indicator of an initiative or an outcome of a goal."""

    __tablename__ = "indicator"
    __table_args__ = (
        UniqueConstraint("work_plan_id", "code"),
        CheckConstraint(
            "(initiative_id IS NULL) <> (strategic_goal_id IS NULL)", name="one_parent"
        ),
        _one_of("level", INDICATOR_LEVELS, "level"),
        _one_of("unit", INDICATOR_UNITS, "unit"),
        _one_of("direction", DIRECTIONS, "direction"),
        _one_of("aggregation", AGGREGATIONS, "aggregation"),
        _one_of("frequency", FREQUENCIES, "frequency"),
        CheckConstraint(
            "computed_from IS NULL OR computed_from IN "
            "('activities','participants','member_states_participating')",
            name="computed_from",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    work_plan_id: int = Field(foreign_key="work_plan.id")
    code: str = Field(max_length=20)
    title: str = Field(max_length=300)
    level: str = Field(max_length=10)
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id", index=True)
    strategic_goal_id: int | None = Field(default=None, foreign_key="strategic_goal.id", index=True)
    unit: str = Field(max_length=12)
    direction: str = Field(max_length=10, default="increase")
    aggregation: str = Field(max_length=12, default="per_period")
    baseline_value: float | None = None
    baseline_date: date | None = None
    target_value: float | None = None
    frequency: str = Field(max_length=12, default="quarterly")
    by_member_state: bool = Field(default=False)
    by_sex: bool = Field(default=False)
    computed_from: str | None = Field(default=None, max_length=30)
    # Comma-separated activity kinds counted by a computed indicator; empty means all kinds.
    activity_kinds: str = Field(max_length=200, default="")
    means_of_verification: str = Field(max_length=500, default="")
    is_proposed: bool = Field(default=True)
    version: int = Field(default=1)


class IndicatorPeriodTarget(SQLModel, table=True):
    __tablename__ = "indicator_period_target"

    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True, ondelete="CASCADE")
    reporting_period_id: int = Field(foreign_key="reporting_period.id", primary_key=True)
    target_value: float


class IndicatorReportingState(SQLModel, table=True):
    """Which member states must report an indicator."""

    __tablename__ = "indicator_reporting_state"

    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True, ondelete="CASCADE")
    member_state_id: int = Field(foreign_key="member_state.id", primary_key=True, index=True)


class Activity(SQLModel, table=True):
    """Something the RSO delivered: a course, a meeting, a workshop, research, a briefing."""

    __tablename__ = "activity"
    __table_args__ = (
        _one_of("kind", ACTIVITY_KINDS, "kind"),
        CheckConstraint("end_date >= start_date", name="date_order"),
        CheckConstraint("other_participants >= 0", name="other_participants_positive"),
        CheckConstraint(
            "participant_total IS NULL OR participant_total >= 0", name="total_positive"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    kind: str = Field(max_length=20)
    title: str = Field(max_length=300)
    start_date: date = Field(index=True)
    end_date: date
    place: str = Field(max_length=200, default="")
    summary: str = Field(sa_type=Text, default="")
    links: str = Field(sa_type=Text, default="")
    # Reported head count when the per-state figures are not known (older reports give only this).
    participant_total: int | None = None
    other_participants: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


class ActivityParticipation(SQLModel, table=True):
    """A member state's part in an activity; counts by sex when they are known."""

    __tablename__ = "activity_participation"
    __table_args__ = (
        CheckConstraint(
            "(female IS NULL OR female >= 0) AND (male IS NULL OR male >= 0) "
            "AND (unspecified IS NULL OR unspecified >= 0)",
            name="counts_positive",
        ),
    )

    activity_id: int = Field(foreign_key="activity.id", primary_key=True, ondelete="CASCADE")
    member_state_id: int = Field(foreign_key="member_state.id", primary_key=True, index=True)
    female: int | None = None
    male: int | None = None
    unspecified: int | None = None
