"""What each person has to do next: the "my work" page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.services import Viewer
from app.plan.models import Initiative, MemberState, ReportingPeriod
from app.progress.models import Submission
from app.progress.submissions import SubmissionSummary, list_submissions, reported_indicators


@dataclass
class DueReport:
    period: ReportingPeriod
    submission: Submission | None
    indicators_due: int

    @property
    def status(self) -> str:
        return self.submission.status if self.submission else "not started"

    def days_left(self, today: date) -> int:
        return (self.period.due_date - today).days


# Lists that features above progress add to "my work" (imports: workbooks waiting to be
# loaded; scheduling: the admin's failed runs and undelivered mail), each made by a function of
# the session and the viewer that returns an empty list to whoever it is not for; progress
# never imports them.
WorkSection = Callable[[Session, Viewer], list[Any]]
_sections: dict[str, WorkSection] = {}


def register_section(name: str, make: WorkSection) -> None:
    _sections[name] = make


@dataclass
class MyWork:
    state: MemberState | None = None
    due_reports: list[DueReport] = field(default_factory=list)
    to_review: list[SubmissionSummary] = field(default_factory=list)
    stale_initiatives: list[Initiative] = field(default_factory=list)
    stale_after_days: int = 0
    sections: dict[str, list[Any]] = field(default_factory=dict)

    # The admin's lists, which scheduling registers (app/scheduling/work_sections.py).
    @property
    def failed_runs(self) -> list[Any]:
        return self.sections.get("failed_runs", [])

    @property
    def failed_messages(self) -> list[Any]:
        return self.sections.get("failed_messages", [])


def my_work(session: Session, viewer: Viewer, *, today: date, stale_after_days: int) -> MyWork:
    work = MyWork(stale_after_days=stale_after_days)
    work.sections = {name: make(session, viewer) for name, make in _sections.items()}
    if viewer.has("focal_point") and viewer.member_state_id is not None:
        work.state = session.get(MemberState, viewer.member_state_id)
        work.due_reports = _due_reports(session, viewer.member_state_id, today)
    if viewer.has("rso_manager"):
        work.to_review = list_submissions(session, viewer, status="submitted")
        cutoff = today - timedelta(days=stale_after_days)
        work.stale_initiatives = list(
            session.exec(
                select(Initiative)
                .where(
                    col(Initiative.status).in_(("planned", "in_progress")),
                    col(Initiative.status_updated_at) < _midnight(cutoff),
                )
                .order_by(Initiative.status_updated_at)
            ).all()
        )
    return work


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _due_reports(session: Session, member_state_id: int, today: date) -> list[DueReport]:
    """Open periods that have started, with this state's submission if any."""
    periods = session.exec(
        select(ReportingPeriod)
        .where(ReportingPeriod.status == "open", ReportingPeriod.start_date <= today)
        .order_by(ReportingPeriod.start_date)
    ).all()
    submissions = {
        s.reporting_period_id: s
        for s in session.exec(
            select(Submission).where(Submission.member_state_id == member_state_id)
        ).all()
    }
    result = []
    for period in periods:
        submission = submissions.get(period.id)
        if submission is not None and submission.status == "approved":
            continue
        due = len(reported_indicators(session, member_state_id, period))
        if due:
            result.append(DueReport(period, submission, due))
    return result
