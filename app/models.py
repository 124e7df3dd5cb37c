"""Imports every feature's models so that the metadata (and Alembic) sees all tables."""

from app.accounts.models import AccountToken, LoginFailure, User, UserRole
from app.audit import services as audit_services
from app.audit.models import AuditEvent
from app.imports.models import ImportCommit, Upload
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
from app.progress.models import (
    IndicatorValue,
    IndicatorValueRevision,
    Submission,
    SubmissionEvent,
)
from app.reports.models import SummarySnapshot
from app.scheduling.models import (
    JobLock,
    JobRun,
    OutboxMessage,
    ReminderClaim,
    Schedule,
    StatusReport,
)

# What the audit trail records. History tables (revisions, status changes) are history already;
# log-in failures and tokens are security plumbing, not business data.
AUDITED = {
    WorkPlan: "work_plan",
    FocusArea: "focus_area",
    StrategicGoal: "strategic_goal",
    StrategicGoalMemberState: "strategic_goal_member_state",
    Initiative: "initiative",
    Indicator: "indicator",
    IndicatorPeriodTarget: "indicator_period_target",
    IndicatorReportingState: "indicator_reporting_state",
    MemberState: "member_state",
    ReportingPeriod: "reporting_period",
    Activity: "activity",
    ActivityParticipation: "activity_participation",
    IndicatorValue: "indicator_value",
    Submission: "submission",
    Schedule: "schedule",
    User: "user",
    UserRole: "user_role",
}
for _model, _entity_type in AUDITED.items():
    audit_services.register(_model, _entity_type)
# A workbook import writes one event for the whole load (app.imports.ingest.commit).
audit_services.register_kind("upload")

__all__ = [
    "AccountToken",
    "Activity",
    "ActivityParticipation",
    "AuditEvent",
    "FocusArea",
    "ImportCommit",
    "Indicator",
    "IndicatorPeriodTarget",
    "IndicatorReportingState",
    "IndicatorValue",
    "IndicatorValueRevision",
    "Initiative",
    "InitiativeStatusChange",
    "JobLock",
    "JobRun",
    "LoginFailure",
    "MemberState",
    "OutboxMessage",
    "ReminderClaim",
    "ReportingPeriod",
    "Schedule",
    "StatusReport",
    "StrategicGoal",
    "StrategicGoalMemberState",
    "Submission",
    "SubmissionEvent",
    "SummarySnapshot",
    "Upload",
    "User",
    "UserRole",
    "WorkPlan",
]
