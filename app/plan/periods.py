"""Reporting periods: open while states report, closed when the quarter's figures are final."""

from __future__ import annotations

from sqlmodel import Session

from app.plan.models import ReportingPeriod
from app.timeutil import utcnow
from app.validation import NotFound


def close_period(session: Session, period_id: int) -> ReportingPeriod:
    """Close a period (idempotent). After this only RSO managers change its values.

    Closing freezes the period's summary as a snapshot, in the same transaction: later
    corrections are marked on the live summary and never change the snapshot.
    """
    from app.reports.snapshots import freeze_period_summary

    period = session.get(ReportingPeriod, period_id, with_for_update=True)
    if period is None:
        raise NotFound("reporting period")
    if period.status != "closed":
        period.status = "closed"
        period.closed_at = utcnow()
        session.add(period)
        session.flush()
        freeze_period_summary(session, period)
    return period
