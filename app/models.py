"""Imports every feature's models so that the metadata (and Alembic) sees all tables."""

from app.accounts.models import User, UserRole
from app.plan.models import (
    Activity,
    ActivityParticipation,
    FocusArea,
    Indicator,
    IndicatorPeriodTarget,
    IndicatorReportingState,
    Initiative,
    InitiativeStatusChange,
    MemberState,
    ReportingPeriod,
    StrategicGoal,
    StrategicGoalMemberState,
    WorkPlan,
)
from app.progress.models import IndicatorValue, IndicatorValueRevision

__all__ = [
    "Activity",
    "ActivityParticipation",
    "FocusArea",
    "Indicator",
    "IndicatorPeriodTarget",
    "IndicatorReportingState",
    "IndicatorValue",
    "IndicatorValueRevision",
    "Initiative",
    "InitiativeStatusChange",
    "MemberState",
    "ReportingPeriod",
    "StrategicGoal",
    "StrategicGoalMemberState",
    "User",
    "UserRole",
    "WorkPlan",
]
