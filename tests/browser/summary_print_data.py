"""Approved figures for the browser tests' plan, so the summary has what a co-chairs' pack has:
full indicator tables with bars, trends and wide figures, and a busy completeness heat map."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from app.db import unit_of_work
from app.plan.models import Indicator, IndicatorReportingState, MemberState, ReportingPeriod
from app.progress.models import Submission
from tests import summary_data

# States and quarters no other browser test reports for (the focal point's is THA, 2025-Q3).
STATES = ("IDN", "BGD", "MYS", "LKA")
PERIODS = ("2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2")


def add_approved_values(live_server) -> None:
    """Approve a report from each of STATES for each of PERIODS, with a value for every typed
    indicator (large numbers, so the figures are as wide as real ones); once per server."""
    with live_server.app.app_context(), unit_of_work() as session:
        states = session.exec(select(MemberState).where(MemberState.code.in_(STATES))).all()
        periods = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code.in_(PERIODS))
        ).all()
        first = session.exec(
            select(Submission).where(
                Submission.member_state_id == states[0].id,
                Submission.reporting_period_id == periods[0].id,
            )
        ).first()
        if first is not None:
            return
        indicators = session.exec(
            select(Indicator).where(Indicator.computed_from.is_(None)).order_by(Indicator.id)
        ).all()
        reporting = set(
            session.exec(
                select(
                    IndicatorReportingState.indicator_id, IndicatorReportingState.member_state_id
                )
            ).all()
        )
        for state in states:
            for indicator in indicators:
                if (indicator.id, state.id) not in reporting:
                    summary_data.report_by(session, indicator, state)
        for p, period in enumerate(sorted(periods, key=lambda p: p.code)):
            for s, state in enumerate(states):
                submitted = date(period.due_date.year, period.due_date.month, 1)
                sub = summary_data.submission(session, state, period, "approved", submitted)
                for i, indicator in enumerate(indicators):
                    _value(session, indicator, sub, 1234.5 * (p + 1) + 977 * s + 31 * i)


def _value(session, indicator: Indicator, sub: Submission, number: float) -> None:
    if indicator.unit == "text":
        summary_data.value(session, indicator, sub, text_value="Agreed with the focal points")
    elif indicator.unit == "yes_no":
        summary_data.value(session, indicator, sub, 1)
    elif indicator.unit == "percentage":
        summary_data.value(session, indicator, sub, 87.5, numerator=7, denominator=8)
    else:
        summary_data.value(session, indicator, sub, round(number, 1))
