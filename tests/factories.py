"""Small factories: each builds the least a test needs and flushes it."""

from __future__ import annotations

from datetime import date
from itertools import count

from sqlmodel import Session

from app.plan.models import (
    FocusArea,
    Indicator,
    IndicatorReportingState,
    Initiative,
    MemberState,
    ReportingPeriod,
    StrategicGoal,
    WorkPlan,
)
from app.progress import totals

_sequence = count(1)


def make_plan(session: Session, **overrides) -> WorkPlan:
    n = next(_sequence)
    plan = WorkPlan(
        code=overrides.pop("code", f"WP-{n}"),
        title=overrides.pop("title", f"Test plan {n}"),
        period_start=overrides.pop("period_start", date(2024, 1, 1)),
        period_end=overrides.pop("period_end", date(2026, 12, 31)),
        impact_statement=overrides.pop("impact_statement", "An impact."),
        **overrides,
    )
    session.add(plan)
    session.flush()
    return plan


def make_state(session: Session, code: str | None = None, **overrides) -> MemberState:
    n = next(_sequence)
    state = MemberState(
        code=code or f"S{n:02d}", name=overrides.pop("name", f"State {n}"), **overrides
    )
    session.add(state)
    session.flush()
    return state


def make_period(
    session: Session, year: int = 2025, quarter: int = 1, **overrides
) -> ReportingPeriod:
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    period = ReportingPeriod(
        code=f"{year}-Q{quarter}",
        year=year,
        quarter=quarter,
        start_date=start,
        end_date=date.fromordinal(end.toordinal() - 1),
        due_date=overrides.pop("due_date", date.fromordinal(end.toordinal() + 29)),
        **overrides,
    )
    session.add(period)
    session.flush()
    # As the seed does for a new period: each state's latest values are kept as of it too.
    totals.rebuild_all(session)
    return period


def make_initiative(session: Session, plan: WorkPlan | None = None, **overrides) -> Initiative:
    plan = plan or make_plan(session)
    n = next(_sequence)
    focus_area = FocusArea(work_plan_id=plan.id, number=n, title=f"Focus area {n}")
    session.add(focus_area)
    session.flush()
    goal = StrategicGoal(focus_area_id=focus_area.id, number=n, title=f"Goal {n}")
    session.add(goal)
    session.flush()
    initiative = Initiative(
        strategic_goal_id=goal.id,
        code=overrides.pop("code", f"{n}.1"),
        title=overrides.pop("title", f"Initiative {n}"),
        start_date=overrides.pop("start_date", date(2024, 1, 1)),
        **overrides,
    )
    session.add(initiative)
    session.flush()
    return initiative


def make_indicator(
    session: Session,
    initiative: Initiative | None = None,
    reported_by: list[MemberState] = (),
    **overrides,
) -> Indicator:
    initiative = initiative or make_initiative(session)
    goal = session.get(StrategicGoal, initiative.strategic_goal_id)
    focus_area = session.get(FocusArea, goal.focus_area_id)
    n = next(_sequence)
    indicator = Indicator(
        work_plan_id=focus_area.work_plan_id,
        initiative_id=initiative.id,
        code=overrides.pop("code", f"I{n}"),
        title=overrides.pop("title", f"Indicator {n}"),
        level="output",
        unit=overrides.pop("unit", "number"),
        **overrides,
    )
    session.add(indicator)
    session.flush()
    for state in reported_by:
        session.add(IndicatorReportingState(indicator_id=indicator.id, member_state_id=state.id))
    session.flush()
    return indicator


DEFAULT_PASSWORD = "correct horse battery staple"


def make_user(
    session: Session,
    roles: list[str],
    state: MemberState | None = None,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    **overrides,
):
    from app.accounts.services import create_user

    n = next(_sequence)
    return create_user(
        session,
        email=email or f"user{n}@example.org",
        full_name=overrides.pop("full_name", f"{roles[0].replace('_', ' ').title()} {n}"),
        roles=roles,
        member_state_id=state.id if state else None,
        password=password,
    )
