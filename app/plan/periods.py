"""Reporting periods: open while states report, closed when the quarter's figures are final."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlmodel import Session

from app.plan.models import ReportingPeriod
from app.signals import period_closed
from app.timeutil import utcnow
from app.validation import InputError, NotFound


def close_period(session: Session, period_id: int, *, today: date | None = None) -> ReportingPeriod:
    """Close a period (idempotent). After this only RSO managers change its values.

    Closing freezes the period's summary as a snapshot, in the same transaction: later
    corrections are marked on the live summary and never change the snapshot. The snapshot is
    the reports layer's: plan sends ``period_closed`` with the session and reports' receiver
    freezes it (plan never imports reports). A quarter that has not ended yet cannot be
    closed: its figures are not final, its reports may not even be due, and closing cannot be
    undone. ``today`` is the office's date (default: now there).
    """
    period = session.get(ReportingPeriod, period_id, with_for_update=True)
    if period is None:
        raise NotFound("reporting period")
    today = today or office_today()
    if period.status != "closed" and today <= period.end_date:
        opens = period.end_date + timedelta(days=1)
        raise InputError(
            f"{period.code} runs until {period.end_date:%d %b %Y}: it can be closed from "
            f"{opens:%d %b %Y}, once its figures are final."
        )
    if period.status != "closed":
        period.status = "closed"
        period.closed_at = utcnow()
        session.add(period)
        session.flush()
        period_closed.send(period, session=session)
    return period


DEFAULT_OFFICE_TIMEZONE = "Asia/Bangkok"


def office_today() -> date:
    """Today's date in the office's time zone: quarters end there."""
    return datetime.now(office_timezone()).date()


def office_timezone(name: str | None = None) -> ZoneInfo:
    """The office's time zone: the one named, the app's setting, else Bangkok."""
    if name is None:
        try:
            name = current_app.config.get("OFFICE_TIMEZONE")
        except RuntimeError:  # outside an application context
            name = None
    try:
        return ZoneInfo(name or DEFAULT_OFFICE_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
