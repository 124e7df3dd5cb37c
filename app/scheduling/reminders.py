"""Reminder run: what is due is worked out from the data, not from the day the trigger fired.

A report is "due soon" from 14 days before its due date, "overdue" from the day after, and
"returned" while a manager has sent it back. Each stage of each kind is sent at most once per
recipient, state and period: a claim row with a unique key is written in the same transaction
as the outbox message, so reruns, crashes and racing schedulers cannot send it twice, and a run
missed on the day still sends the stage that has been reached.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User, UserRole
from app.plan.models import (
    Indicator,
    IndicatorReportingState,
    MemberState,
    ReportingPeriod,
    WorkPlan,
)
from app.progress.models import IndicatorValue, Submission
from app.scheduling import mail
from app.scheduling.models import ReminderClaim


@dataclass(frozen=True)
class Cadence:
    due_soon_days: tuple[int, ...] = (14, 7, 1)
    overdue_days: tuple[int, ...] = (1, 7)
    overdue_repeat_days: int = 30
    min_gap_days: int = 3

    @classmethod
    def from_config(cls, config: dict) -> Cadence:
        def days(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
            raw = config.get(name)
            if not raw:
                return default
            return tuple(sorted({int(x) for x in str(raw).split(",") if x.strip()}, reverse=True))

        return cls(
            due_soon_days=days("REMINDER_DUE_SOON_DAYS", cls.due_soon_days),
            overdue_days=tuple(sorted(days("REMINDER_OVERDUE_DAYS", cls.overdue_days))),
            overdue_repeat_days=int(config.get("REMINDER_OVERDUE_REPEAT_DAYS") or 30),
            min_gap_days=int(config.get("REMINDER_MIN_GAP_DAYS") or 3),
        )

    def stage(self, kind: str, days_to_due: int) -> str | None:
        """The most advanced stage reached today, or None when nothing is due yet."""
        if kind == "due_soon":
            reached = [d for d in self.due_soon_days if 0 <= days_to_due <= d]
            return f"due-{min(reached)}" if reached else None
        overdue = -days_to_due
        reached = [d for d in self.overdue_days if overdue >= d]
        if not reached:
            return None
        last = max(self.overdue_days)
        if overdue >= last + self.overdue_repeat_days:
            repeats = (overdue - last) // self.overdue_repeat_days
            return f"overdue-{last + repeats * self.overdue_repeat_days}"
        return f"overdue-{max(reached)}"


@dataclass
class DueItem:
    state: MemberState
    period: ReportingPeriod
    kind: str  # due_soon, overdue, returned
    stage: str
    missing: int  # indicators without a value
    comment: str = ""
    submission_id: int | None = None  # the report to open, once the state has started it


@dataclass
class RunSummary:
    focal_point_messages: int = 0
    escalation_messages: int = 0
    items: int = 0
    notes: list[str] = field(default_factory=list)


def due_items(session: Session, today: date, cadence: Cadence) -> list[DueItem]:
    """Every state x open period that needs a reminder today, from the state of the data."""
    periods = session.exec(
        select(ReportingPeriod).where(
            ReportingPeriod.status == "open", ReportingPeriod.start_date <= today
        )
    ).all()
    obligations = _reporting_obligations(session)
    submissions = {
        (s.member_state_id, s.reporting_period_id): s
        for s in session.exec(select(Submission)).all()
    }
    filled = _filled_counts(session)
    states = {s.id: s for s in session.exec(select(MemberState)).all()}
    items = []
    for period in periods:
        for state_id, indicator_count in obligations.get(period.id, {}).items():
            submission = submissions.get((state_id, period.id))
            status = submission.status if submission else "draft"
            missing = indicator_count - filled.get((state_id, period.id), 0)
            days_to_due = (period.due_date - today).days
            if status == "returned":
                stage = f"returned-v{submission.version}"
                items.append(
                    DueItem(
                        states[state_id],
                        period,
                        "returned",
                        stage,
                        missing,
                        submission.review_comment,
                        submission.id,
                    )
                )
            elif status == "draft":
                kind = "due_soon" if days_to_due >= 0 else "overdue"
                stage = cadence.stage(kind, days_to_due)
                if stage:
                    items.append(
                        DueItem(
                            states[state_id],
                            period,
                            kind,
                            stage,
                            missing,
                            submission_id=submission.id if submission else None,
                        )
                    )
    return items


def _reporting_obligations(session: Session) -> dict[int, dict[int, int]]:
    """period id -> {state id: number of indicators it must report for that period}."""
    rows = session.exec(
        select(ReportingPeriod.id, IndicatorReportingState.member_state_id, Indicator.id)
        .join(Indicator, col(Indicator.id) == IndicatorReportingState.indicator_id)
        .join(WorkPlan, col(WorkPlan.id) == Indicator.work_plan_id)
        .join(
            ReportingPeriod,
            (col(WorkPlan.period_start) <= ReportingPeriod.end_date)
            & (col(WorkPlan.period_end) >= ReportingPeriod.start_date),
        )
        .where(col(Indicator.computed_from).is_(None), ReportingPeriod.status == "open")
    ).all()
    result: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for period_id, state_id, _indicator in rows:
        result[period_id][state_id] += 1
    return result


def _filled_counts(session: Session) -> dict[tuple[int, int], int]:
    from sqlmodel import func

    rows = session.exec(
        select(
            IndicatorValue.member_state_id, IndicatorValue.reporting_period_id, func.count()
        ).group_by(IndicatorValue.member_state_id, IndicatorValue.reporting_period_id)
    ).all()
    return {(s, p): n for s, p, n in rows}


def _people_with_role(session: Session, role: str) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(UserRole)
            .where(UserRole.role == role, User.is_active == True)  # noqa: E712
            .order_by(User.id)
        ).all()
    )


def run_reminders(
    session: Session, *, today: date, cadence: Cadence, base_url: str, job_run_id: int | None
) -> RunSummary:
    """Queue one digest per focal point (and one escalation per manager) for what is due."""
    summary = RunSummary()
    items = due_items(session, today, cadence)
    summary.items = len(items)
    by_state: dict[int, list[DueItem]] = defaultdict(list)
    for item in items:
        by_state[item.state.id].append(item)
    focal_points = defaultdict(list)
    for user in _people_with_role(session, "focal_point"):
        if user.member_state_id is not None:
            focal_points[user.member_state_id].append(user)
    for state_id, state_items in by_state.items():
        recipients = focal_points.get(state_id, [])
        if not recipients:
            summary.notes.append(
                f"{state_items[0].state.name} has no active focal point: "
                "nobody to remind (the managers' escalation lists it)"
            )
        for user in recipients:
            if _digest(session, user, state_items, today, cadence, base_url, job_run_id):
                summary.focal_point_messages += 1
    overdue = [i for i in items if i.kind == "overdue"]
    for manager in _people_with_role(session, "rso_manager"):
        if _escalate(session, manager, overdue, base_url, job_run_id, today):
            summary.escalation_messages += 1
    return summary


def _claim(
    session: Session, user: User, item: DueItem, kind: str, today: date, cadence: Cadence
) -> ReminderClaim | None:
    """Claim (recipient, state, period, kind, stage); None if it was already sent."""
    if kind in ("due_soon", "overdue"):
        recent = session.exec(
            select(ReminderClaim.id).where(
                ReminderClaim.recipient_id == user.id,
                ReminderClaim.member_state_id == item.state.id,
                ReminderClaim.reporting_period_id == item.period.id,
                ReminderClaim.kind == kind,
                ReminderClaim.stage == item.stage,
            )
        ).first()
        if recent is not None:
            return None
        if _sent_recently(session, user, item, kind, today, cadence):
            return None
    claim = ReminderClaim(
        recipient_id=user.id,
        member_state_id=item.state.id,
        reporting_period_id=item.period.id,
        kind=kind,
        stage=item.stage,
        claimed_on=today,
    )
    try:
        with session.begin_nested():
            session.add(claim)
    except IntegrityError:
        return None  # another run claimed it a moment ago
    return claim


def _sent_recently(
    session: Session, user: User, item: DueItem, kind: str, today: date, cadence: Cadence
) -> bool:
    since = today - timedelta(days=cadence.min_gap_days)
    return (
        session.exec(
            select(ReminderClaim.id).where(
                ReminderClaim.recipient_id == user.id,
                ReminderClaim.member_state_id == item.state.id,
                ReminderClaim.reporting_period_id == item.period.id,
                ReminderClaim.kind == kind,
                ReminderClaim.claimed_on > since,
            )
        ).first()
        is not None
    )


def _report_link(base_url: str, item: DueItem) -> str:
    """The report itself once started; before that, "my work", where it is opened."""
    if item.submission_id is not None:
        return f"{base_url}/submissions/{item.submission_id}"
    return f"{base_url}/my-work"


def _digest(
    session: Session,
    user: User,
    items: list[DueItem],
    today: date,
    cadence: Cadence,
    base_url: str,
    job_run_id: int | None,
) -> bool:
    claimed = []
    for item in items:
        claim = _claim(session, user, item, item.kind, today, cadence)
        if claim is not None:
            claimed.append((item, claim))
    if not claimed:
        return False
    state = claimed[0][0].state
    lines = [
        f"Dear {mail.clean_header_text(user.full_name)},",
        "",
        f"This is a reminder about {state.name}'s progress reports to the RSO:",
        "",
    ]
    for item, _claim_row in claimed:
        lines.append(f"- {_describe(item, today)}")
        lines.append(f"  Open the report: {_report_link(base_url, item)}")
    lines += [
        "",
        "You can fill in the report on the web or upload the spreadsheet template.",
        "",
        "Regional Support Office of the Bali Process",
    ]
    worst = (
        "overdue"
        if any(i.kind == "overdue" for i, _ in claimed)
        else ("returned" if any(i.kind == "returned" for i, _ in claimed) else "due soon")
    )
    periods = ", ".join(sorted({i.period.code for i, _ in claimed}))
    subject = {
        "overdue": f"Overdue: {state.name} progress report for {periods}",
        "returned": f"Changes requested: {state.name} progress report for {periods}",
        "due soon": f"Reminder: {state.name} progress report for {periods} is due soon",
    }[worst]
    _queue_claimed(session, user, subject, lines, "reminder", claimed, job_run_id)
    return True


def _describe(item: DueItem, today: date) -> str:
    due = f"{item.period.due_date:%d %B %Y}"
    missing = (
        f"{item.missing} indicator value{'s' if item.missing != 1 else ''} still missing"
        if item.missing > 0
        else "values entered, not yet submitted"
    )
    if item.kind == "returned":
        return (
            f'{item.period.code}: returned for changes by the RSO: "{item.comment}". '
            "Please correct it and submit again."
        )
    if item.kind == "overdue":
        days = (today - item.period.due_date).days
        return f"{item.period.code}: was due on {due} ({days} days ago); {missing}."
    days = (item.period.due_date - today).days
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    return f"{item.period.code}: due on {due} ({when}); {missing}."


def _escalate(
    session: Session,
    manager: User,
    overdue: list[DueItem],
    base_url: str,
    job_run_id: int | None,
    today: date,
) -> bool:
    claimed = []
    for item in overdue:
        claim = ReminderClaim(
            recipient_id=manager.id,
            member_state_id=item.state.id,
            reporting_period_id=item.period.id,
            kind="escalation",
            stage=item.stage,
            claimed_on=today,
        )
        try:
            with session.begin_nested():
                session.add(claim)
        except IntegrityError:
            continue
        claimed.append((item, claim))
    if not claimed:
        return False
    lines = [
        f"Dear {mail.clean_header_text(manager.full_name)},",
        "",
        "These member-state reports are overdue:",
        "",
    ]
    for item, _ in sorted(claimed, key=lambda c: (c[0].period.code, c[0].state.name)):
        lines.append(
            f"- {item.state.name}, {item.period.code}: due {item.period.due_date:%d %B %Y}"
            f", {item.missing} value(s) missing"
        )
    lines += [
        "",
        f"Reports waiting and overdue: {base_url}/submissions",
        "",
        "RSO Work Plan Tracker",
    ]
    subject = f"Overdue member-state reports: {len(claimed)} to follow up"
    _queue_claimed(session, manager, subject, lines, "escalation", claimed, job_run_id)
    return True


def _queue_claimed(
    session: Session,
    recipient: User,
    subject: str,
    lines: list[str],
    kind: str,
    claimed: list[tuple[DueItem, ReminderClaim]],
    job_run_id: int | None,
) -> None:
    """Queue one message and point its claims at it, in the same transaction: a claim without
    its message, or a message without its claims, never exists."""
    message = mail.queue(
        session,
        to_address=recipient.email,
        to_name=recipient.full_name,
        subject=subject,
        body_text="\n".join(lines),
        kind=kind,
        job_run_id=job_run_id,
    )
    for _item, claim in claimed:
        claim.outbox_message_id = message.id
        session.add(claim)
    session.flush()
