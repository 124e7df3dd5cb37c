"""Migration 0013 cleans what was stored before the shared field types: no inf or NaN, no
control characters (issue 15, "What to build" 5)."""

from __future__ import annotations

import math

from sqlalchemy import text
from sqlmodel import Session, select

from app import schema
from app.db import make_engine
from app.plan.models import Indicator, IndicatorPeriodTarget
from app.progress.models import IndicatorValue, IndicatorValueRevision
from app.progress.services import ValueInput, record_indicator_value
from app.reports.models import SummarySnapshot
from tests import factories

BAD_TEXT = "First line\x0bsecond\x01 line\r\nthird"
CLEAN_TEXT = "First line\nsecond line\nthird"


def test_infinite_figures_and_control_characters_are_cleaned_on_upgrade(database_url) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        state = factories.make_state(session)
        period = factories.make_period(session)
        indicator = factories.make_indicator(session, reported_by=[state], unit="number")
        session.add(
            IndicatorPeriodTarget(
                indicator_id=indicator.id, reporting_period_id=period.id, target_value=5
            )
        )
        value = record_indicator_value(
            session, ValueInput(indicator.id, period.id, state.id, value=3), source="web"
        ).value
        session.add(SummarySnapshot(reporting_period_id=period.id, payload={"narratives": []}))
        session.commit()
        ids = (indicator.id, value.id, period.id)
    schema.downgrade(engine, database_url, "0012")

    # As the data stood before 0013: what the forms let through then.
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE indicator SET target_value = :inf, baseline_value = :nan, title = :t"),
            {"inf": math.inf, "nan": math.nan, "t": "Officials\x0btrained\ufffe"},
        )
        connection.execute(
            text("UPDATE indicator_period_target SET target_value = :inf"), {"inf": -math.inf}
        )
        for table in ("indicator_value", "indicator_value_revision"):
            connection.execute(
                text(f"UPDATE {table} SET narrative = :n, value = :inf"),
                {"n": BAD_TEXT, "inf": math.inf},
            )
        connection.execute(
            text("UPDATE summary_snapshot SET payload = :p"),
            {"p": '{"narratives": [{"text": "Kept\\u000bapart\\u0001"}]}'},
        )
    schema.upgrade(engine, database_url)

    indicator_id, value_id, period_id = ids
    with Session(engine) as session:
        indicator = session.get(Indicator, indicator_id)
        assert (indicator.target_value, indicator.baseline_value) == (None, None)
        assert indicator.title == "Officials trained"  # a title stays on one line
        assert session.get(IndicatorPeriodTarget, (indicator_id, period_id)) is None
        stored = session.get(IndicatorValue, value_id)
        assert (stored.value, stored.narrative) == (None, CLEAN_TEXT)
        revision = session.exec(select(IndicatorValueRevision)).one()
        assert (revision.value, revision.narrative) == (None, CLEAN_TEXT)
        snapshot = session.exec(select(SummarySnapshot)).one()
        assert snapshot.payload == {"narratives": [{"text": "Kept\napart"}]}
    engine.dispose()
