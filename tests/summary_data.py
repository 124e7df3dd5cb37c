"""Hand-computed reporting data for the summary tests: small enough to add up by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import Flask
from sqlmodel import Session, select

from app.db import unit_of_work
from app.plan.models import (
    Activity,
    ActivityParticipation,
    Indicator,
    IndicatorReportingState,
    Initiative,
    MemberState,
    ReportingPeriod,
    WorkPlan,
)
from app.plan.periods import close_period
from app.progress import totals
from app.progress.models import IndicatorValue, Submission
from tests import factories

# Both quarters have passed their due dates (30 April and 30 July 2025) on this day.
TODAY = date(2025, 8, 15)


@dataclass
class Fixture:
    q1: ReportingPeriod
    q2: ReportingPeriod
    atlantis: MemberState
    borduria: MemberState
    carpania: MemberState
    initiative: Initiative
    increase: Indicator
    decrease: Indicator
    decrease_no_baseline: Indicator
    percentage: Indicator


def submission(
    session: Session, state: MemberState, period: ReportingPeriod, status: str, submitted: date
) -> Submission:
    row = Submission(
        member_state_id=state.id,
        reporting_period_id=period.id,
        status=status,
        submitted_at=datetime(submitted.year, submitted.month, submitted.day, 3, tzinfo=UTC),
    )
    session.add(row)
    session.flush()
    return row


def value(
    session: Session,
    indicator: Indicator,
    sub: Submission,
    number: float | None = None,
    **fields,
) -> IndicatorValue:
    row = IndicatorValue(
        indicator_id=indicator.id,
        reporting_period_id=sub.reporting_period_id,
        member_state_id=sub.member_state_id,
        submission_id=sub.id,
        value=number,
        **fields,
    )
    session.add(row)
    session.flush()
    # Written directly, not through the workflow: keep the approved totals as a correction does.
    totals.refresh_for_submission(session, sub, [indicator.id])
    return row


def _period(session: Session, year: int, quarter: int) -> ReportingPeriod:
    code = f"{year}-Q{quarter}"
    found = session.exec(select(ReportingPeriod).where(ReportingPeriod.code == code)).first()
    return found or factories.make_period(session, year, quarter)


def make_fixture(session: Session) -> Fixture:
    """Three states, two quarters of 2025, four indicators of a 2024-2026 plan.

    Submissions (Q1 due 30 April, Q2 due 30 July):
        Atlantis  Q1 approved (sent 10 April)   Q2 returned  (sent 20 July)
        Borduria  Q1 submitted late (3 May)     Q2 approved  (sent 25 July)
        Carpania  Q1 nothing: missing           Q2 submitted on time (29 July)
    """
    q1, q2 = _period(session, 2025, 1), _period(session, 2025, 2)
    atlantis = factories.make_state(session, "ATL", name="Atlantis")
    borduria = factories.make_state(session, "BOR", name="Borduria")
    carpania = factories.make_state(session, "CAR", name="Carpania")
    states = [atlantis, borduria, carpania]
    plan = session.exec(select(WorkPlan)).first()  # the seeded plan, when there is one
    initiative = factories.make_initiative(session, plan, title="Deliver the =SUM(A1) programme")
    increase = factories.make_indicator(
        session, initiative, states, code="INC", baseline_value=0, target_value=100
    )
    decrease = factories.make_indicator(
        session,
        initiative,
        states,
        code="DEC",
        direction="decrease",
        baseline_value=50,
        target_value=10,
    )
    decrease_no_baseline = factories.make_indicator(
        session, initiative, states, code="DNB", direction="decrease", target_value=10
    )
    percentage = factories.make_indicator(
        session, initiative, states, code="PCT", unit="percentage", target_value=80
    )

    a1 = submission(session, atlantis, q1, "approved", date(2025, 4, 10))
    b1 = submission(session, borduria, q1, "submitted", date(2025, 5, 3))
    a2 = submission(session, atlantis, q2, "returned", date(2025, 7, 20))
    b2 = submission(session, borduria, q2, "approved", date(2025, 7, 25))
    submission(session, carpania, q2, "submitted", date(2025, 7, 29))

    value(session, increase, a1, 30, narrative="Atlantis trained 30 officers")
    value(session, increase, b1, 1000)  # not approved: never counts
    value(session, increase, a2, 500)  # returned: never counts
    value(session, increase, b2, 20, narrative="Borduria trained 20 officers")
    value(session, decrease, a1, 40)
    value(session, decrease, b2, 20)
    value(session, decrease_no_baseline, a1, 30)
    value(session, decrease_no_baseline, b2, 12)
    value(session, percentage, a1, 50, numerator=1, denominator=2)
    value(session, percentage, b2, 90, numerator=90, denominator=100)
    return Fixture(
        q1,
        q2,
        atlantis,
        borduria,
        carpania,
        initiative,
        increase,
        decrease,
        decrease_no_baseline,
        percentage,
    )


def add_activity(
    session: Session,
    initiative: Initiative,
    start: date,
    participants: list[tuple[MemberState, int, int]],
    title: str = "Regional workshop",
) -> Activity:
    activity = Activity(
        initiative_id=initiative.id,
        kind="workshop",
        title=title,
        start_date=start,
        end_date=start,
    )
    session.add(activity)
    session.flush()
    for state, female, male in participants:
        session.add(
            ActivityParticipation(
                activity_id=activity.id, member_state_id=state.id, female=female, male=male
            )
        )
    session.flush()
    return activity


def report_by(session: Session, indicator: Indicator, state: MemberState) -> None:
    session.add(IndicatorReportingState(indicator_id=indicator.id, member_state_id=state.id))
    session.flush()


def mongolian_rows(app: Flask, people) -> int:
    """Thailand and Mongolia both report 2025-Q3; returns the period id (closed: frozen)."""
    with app.app_context(), unit_of_work() as session:
        mongolia = session.exec(select(MemberState).where(MemberState.code == "MNG")).one()
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
        ).one()
        indicator = session.exec(select(Indicator).where(Indicator.code == "1.1.a")).one()
        initiative = session.get(Initiative, indicator.initiative_id)
        for state, number, words in (
            (people.thailand, 11, "Thai narrative"),
            (mongolia, 4321, "Mongolian secret narrative"),
        ):
            report_by(session, indicator, state)
            sub = submission(session, state, period, "approved", date(2025, 10, 2))
            value(session, indicator, sub, number, narrative=words)
        add_activity(
            session,
            initiative,
            date(2025, 8, 1),
            [(people.thailand, 3, 4), (mongolia, 97, 98)],
        )
        period_id = period.id
    with app.app_context(), unit_of_work() as session:
        close_period(session, period_id)
    return period_id


def assert_only_thai_rows(text: str) -> None:
    assert "Mongolia" not in text and "MNG" not in text
    assert "Mongolian secret narrative" not in text
    assert "4321" not in text and "4,321" not in text
