"""Status-report run: the M&E status report for the latest period, stored and e-mailed.

The workbook and the headline figures come from the summary service and its .xlsx export, so
the report says exactly what the summary page says; only approved values count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from markupsafe import escape
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User, UserRole
from app.accounts.services import Viewer
from app.plan.models import ReportingPeriod
from app.reports.exports import summary_workbook
from app.reports.summary import Summary, SummaryFilters, build_summary
from app.scheduling import mail
from app.scheduling.models import StatusReport
from app.scheduling.registry import JobContext


def latest_period(session: Session, today: date) -> ReportingPeriod | None:
    """The last quarter that has ended."""
    return session.exec(
        select(ReportingPeriod)
        .where(ReportingPeriod.end_date < today)
        .order_by(col(ReportingPeriod.end_date).desc())
    ).first()


# The status report goes to reviewers and RSO managers, who read every state's rows. It is
# built as they would see the summary; a focal point never receives it (see the recipients).
REPORT_READER = Viewer(None, frozenset({"reviewer"}), None, "status report")


def build_report(
    session: Session, period: ReportingPeriod | None, *, today: date | None = None
) -> tuple[bytes, dict]:
    """The summary workbook for the period and the headline figures, from the summary service
    (one code path with the summary page and its exports)."""
    code = period.code if period else None
    summary = build_summary(
        session,
        REPORT_READER,
        SummaryFilters(period_from=code, period_to=code),
        today=today or date.today(),
        narratives_limit=None,
        plan_on=period.start_date if period else today,
    )
    return summary_workbook(summary), headline_of(summary, period)


def headline_of(summary: Summary, period: ReportingPeriod | None) -> dict:
    rag = {"on_track": 0, "at_risk": 0, "off_track": 0, None: 0}
    ratings = {"on_track": 0, "at_risk": 0, "off_track": 0, None: 0}
    for focus_area in summary.focus_areas:
        for key, count in focus_area.rag_counts.items():
            rag[key] = rag.get(key, 0) + count
        for key, count in focus_area.rating_counts.items():
            ratings[key] = ratings.get(key, 0) + count
    return {
        "plan": summary.plan_title,
        "period": period.code if period else "plan to date",
        "on_track": rag["on_track"],
        "at_risk": rag["at_risk"],
        "off_track": rag["off_track"],
        "not_rated": rag[None],
        "indicators_rated": sum(v for k, v in ratings.items() if k),
        "indicators_on_track": ratings["on_track"],
    }


def run_status_report(context: JobContext) -> dict:
    """The job: build the report in a read, then store it and queue its mail in one write
    (the workbook is not built while holding the write lock)."""
    today = context.today
    with context.unit_of_work(write=False) as session:
        period = latest_period(session, today)
        if _already_sent_today(session, period, today):
            context.note("today's status report for this period was already sent")
            return {"reports": 0, "recipients": 0}
        data, headline = build_report(session, period, today=today)
    folder = Path(context.app.config["REPORTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"RSO-status-report-{headline['period']}-{today.isoformat()}.xlsx".replace(" ", "-")
    path = folder / name
    path.write_bytes(data)
    with context.unit_of_work() as session:
        if _already_sent_today(session, period, today) or not _claim(
            session, period, today, name, context.run_id
        ):  # another run got there meanwhile
            context.note("today's status report for this period was already sent")
            return {"reports": 0, "recipients": 0}
        recipients = _recipients(session)
        subject = f"RSO Work Plan status report, {headline['period']}"
        for user in recipients:
            mail.queue(
                session,
                to_address=user.email,
                to_name=user.full_name,
                subject=subject,
                body_text=_text(headline, user),
                body_html=_html(headline, user),
                kind="status_report",
                job_run_id=context.run_id,
                attachment=path,
            )
        session.flush()
    return {"reports": 1, "recipients": len(recipients)}


def _claim(
    session: Session, period: ReportingPeriod | None, today: date, name: str, run_id: int
) -> bool:
    """Record the report under its unique key; False if a run that raced this one has.

    The key, not the check before it, is what makes the report go once: on PostgreSQL two
    runs can both pass the check, and the second insert then waits for the first and fails."""
    report = StatusReport(
        reporting_period_id=period.id if period else None,
        file_name=name,
        job_run_id=run_id,
        sent_for=f"period {period.id if period else 'none'} on {today.isoformat()}",
    )
    try:
        with session.begin_nested():
            session.add(report)
    except IntegrityError:
        return False
    return True


def _already_sent_today(session: Session, period: ReportingPeriod | None, today: date) -> bool:
    start_of_day = datetime.combine(today, time.min, tzinfo=UTC)
    return (
        session.exec(
            select(StatusReport.id).where(
                StatusReport.reporting_period_id == (period.id if period else None),
                StatusReport.created_at >= start_of_day,
            )
        ).first()
        is not None
    )


def _recipients(session: Session) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(UserRole)
            .where(col(UserRole.role).in_(("reviewer", "rso_manager")), User.is_active == True)  # noqa: E712
            .distinct()
        ).all()
    )


def _text(h: dict, user: User) -> str:
    return "\n".join(
        [
            f"Dear {mail.clean_header_text(user.full_name)},",
            "",
            f"The status of the {h['plan']} ({h['period']}):",
            "",
            f"Initiatives: {h['on_track']} on track, {h['at_risk']} at risk, "
            f"{h['off_track']} off track, {h['not_rated']} not rated.",
            f"Indicators on track against their targets: {h['indicators_on_track']} of "
            f"{h['indicators_rated']} rated (approved values only).",
            "",
            "The full report is attached.",
            "",
            "RSO Work Plan Tracker",
        ]
    )


def _html(h: dict, user: User) -> str:
    return (
        f"<p>Dear {escape(mail.clean_header_text(user.full_name))},</p>"
        f"<p>The status of the <strong>{escape(h['plan'])}</strong> ({escape(h['period'])}):</p>"
        "<table cellpadding='6' style='border-collapse:collapse'>"
        f"<tr><th align='left'>On track</th><td>{h['on_track']}</td></tr>"
        f"<tr><th align='left'>At risk</th><td>{h['at_risk']}</td></tr>"
        f"<tr><th align='left'>Off track</th><td>{h['off_track']}</td></tr>"
        f"<tr><th align='left'>Not rated</th><td>{h['not_rated']}</td></tr>"
        f"<tr><th align='left'>Indicators on track against their targets</th>"
        f"<td>{h['indicators_on_track']} of {h['indicators_rated']} rated</td></tr></table>"
        "<p>Only approved values count. The full report is attached.</p>"
    )
