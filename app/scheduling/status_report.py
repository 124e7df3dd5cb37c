"""Status-report run: the M&E status report for the latest period, stored and e-mailed.

The workbook and the headline figures come from the plan's summary service, so the report
says what the summary pages say; only approved values count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from flask import Flask
from markupsafe import escape
from openpyxl import Workbook
from sqlmodel import Session, col, select

from app.accounts.models import User, UserRole
from app.plan.models import LABELS, ReportingPeriod
from app.plan.services import current_work_plan, load_plan_tree
from app.scheduling import mail
from app.scheduling.models import JobRun, StatusReport


def latest_period(session: Session, today: date) -> ReportingPeriod | None:
    """The last quarter that has ended."""
    return session.exec(
        select(ReportingPeriod)
        .where(ReportingPeriod.end_date < today)
        .order_by(col(ReportingPeriod.end_date).desc())
    ).first()


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r", "\n"):
        return "'" + value
    return value


def build_report(session: Session, period: ReportingPeriod | None) -> tuple[bytes, dict]:
    """The workbook (write-only mode, so memory stays flat) and the headline figures."""
    import io

    plan = current_work_plan(session)
    tree = load_plan_tree(session, plan)
    workbook = Workbook(write_only=True)
    initiatives = workbook.create_sheet("Initiatives")
    initiatives.append(["Focus area", "Code", "Initiative", "Status", "RAG rating", "Note"])
    indicators = workbook.create_sheet("Indicators")
    indicators.append(
        ["Code", "Indicator", "Level", "Unit", "To date (approved)", "Target", "% of target"]
    )
    rag = {"on_track": 0, "at_risk": 0, "off_track": 0, None: 0}
    on_target = total_targets = 0
    for fa in tree.focus_areas:
        for goal in fa.goals:
            for progress in goal.outcome_indicators:
                total_targets, on_target = _indicator_row(
                    indicators, progress, total_targets, on_target
                )
            for node in goal.initiatives:
                i = node.initiative
                rag[i.rag] = rag.get(i.rag, 0) + 1
                initiatives.append(
                    [
                        fa.focus_area.number,
                        i.code,
                        _safe(i.title),
                        LABELS[i.status],
                        LABELS.get(i.rag or "", "Not rated"),
                        _safe(i.rag_note),
                    ]
                )
                for progress in node.indicators:
                    total_targets, on_target = _indicator_row(
                        indicators, progress, total_targets, on_target
                    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    headline = {
        "plan": plan.title,
        "period": period.code if period else "plan to date",
        "on_track": rag["on_track"],
        "at_risk": rag["at_risk"],
        "off_track": rag["off_track"],
        "not_rated": rag[None],
        "indicators_with_target": total_targets,
        "indicators_at_75": on_target,
    }
    return buffer.getvalue(), headline


def _indicator_row(sheet, progress, total: int, good: int) -> tuple[int, int]:
    ind = progress.indicator
    sheet.append(
        [
            ind.code,
            _safe(ind.title),
            ind.level,
            ind.unit,
            progress.achieved,
            ind.target_value,
            round(progress.percent, 1) if progress.percent else None,
        ]
    )
    if progress.percent is not None:
        total += 1
        good += progress.percent >= 75
    return total, good


def run_status_report(app: Flask, session: Session, run: JobRun, *, today: date) -> dict:
    period = latest_period(session, today)
    start_of_day = datetime.combine(today, time.min, tzinfo=UTC)
    already = session.exec(
        select(StatusReport.id).where(
            StatusReport.reporting_period_id == (period.id if period else None),
            StatusReport.created_at >= start_of_day,
        )
    ).first()
    if already is not None:
        run.notes = ["today's status report for this period was already sent"]
        return {"reports": 0, "recipients": 0}
    data, headline = build_report(session, period)
    folder = Path(app.config["REPORTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    name = f"RSO-status-report-{headline['period']}-{today.isoformat()}.xlsx".replace(" ", "-")
    path = folder / name
    path.write_bytes(data)
    session.add(
        StatusReport(
            reporting_period_id=period.id if period else None, file_name=name, job_run_id=run.id
        )
    )
    recipients = session.exec(
        select(User)
        .join(UserRole)
        .where(col(UserRole.role).in_(("reviewer", "rso_manager")), User.is_active == True)  # noqa: E712
        .distinct()
    ).all()
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
            job_run_id=run.id,
            attachment=path,
        )
    session.flush()
    return {"reports": 1, "recipients": len(recipients)}


def _text(h: dict, user: User) -> str:
    return "\n".join(
        [
            f"Dear {mail.clean_header_text(user.full_name)},",
            "",
            f"The status of the {h['plan']} ({h['period']}):",
            "",
            f"Initiatives: {h['on_track']} on track, {h['at_risk']} at risk, "
            f"{h['off_track']} off track, {h['not_rated']} not rated.",
            f"Indicators at 75% of target or more: {h['indicators_at_75']} of "
            f"{h['indicators_with_target']} with a target (approved values only).",
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
        f"<tr><th align='left'>Indicators at 75% of target or more</th>"
        f"<td>{h['indicators_at_75']} of {h['indicators_with_target']}</td></tr></table>"
        "<p>Only approved values count. The full report is attached.</p>"
    )
