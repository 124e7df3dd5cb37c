"""What progress does when plan sends an event (app/signals.py): plan never imports progress.

Connected when this module is imported; the factory imports it (app/__init__.py).
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from app.plan.models import Indicator, MemberState, ReportingPeriod
from app.plan.seed import SeedError, SeedResult
from app.plan.seed_schema import DemoSeed
from app.progress import totals
from app.progress.services import ValueInput, record_indicator_value
from app.signals import demo_seed_read, periods_added


@periods_added.connect
def _keep_latest_values(_sender: object, *, session: Session) -> None:
    """Each state's latest value is kept as of every period: new periods need theirs."""
    totals.rebuild_all(session)


@demo_seed_read.connect
def _record_demo_values(
    seed: DemoSeed, *, session: Session, path: Path, result: SeedResult
) -> None:
    """Record the demo seed's figures through the one service (a value already there stays)."""
    indicators = {i.code: i for i in session.exec(select(Indicator)).all()}
    periods = {p.code: p for p in session.exec(select(ReportingPeriod)).all()}
    states = {s.code: s for s in session.exec(select(MemberState)).all()}
    for value_seed in seed.indicator_values:
        indicator = indicators.get(value_seed.indicator)
        period = periods.get(value_seed.period)
        state = states.get(value_seed.member_state)
        if indicator is None or period is None or state is None:
            raise SeedError(
                f"{path}: indicator value for {value_seed.indicator} "
                f"{value_seed.period} {value_seed.member_state}: unknown code"
            )
        outcome = record_indicator_value(
            session,
            ValueInput(
                indicator_id=indicator.id,
                reporting_period_id=period.id,
                member_state_id=state.id,
                **value_seed.model_dump(exclude={"indicator", "period", "member_state"}),
            ),
            source="seed",
            only_if_missing=True,
        )
        if outcome.created:
            result.add("indicator values")
