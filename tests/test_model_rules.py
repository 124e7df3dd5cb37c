"""Rules of the results framework, enforced by services and by the database itself."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app.plan.models import Indicator, Initiative
from app.progress.models import IndicatorValue, IndicatorValueRevision
from app.progress.services import ValueInput, record_indicator_value, value_history
from app.validation import InputError
from tests import factories


def _value(indicator, period, state, **fields) -> ValueInput:
    return ValueInput(
        indicator_id=indicator.id, reporting_period_id=period.id, member_state_id=state.id, **fields
    )


def test_a_value_from_a_state_that_does_not_report_the_indicator_is_refused(session) -> None:
    reporting = factories.make_state(session, name="Thailand")
    other = factories.make_state(session, name="Fiji")
    indicator = factories.make_indicator(session, reported_by=[reporting])
    period = factories.make_period(session)

    record_indicator_value(session, _value(indicator, period, reporting, value=3), source="web")
    with pytest.raises(InputError) as refused:
        record_indicator_value(session, _value(indicator, period, other, value=3), source="web")
    assert refused.value.problems == {
        "member_state": f"Fiji does not report indicator {indicator.code}"
    }


@pytest.mark.parametrize(
    ("unit", "fields", "field", "message"),
    [
        ("number", {"value": -1}, "value", "a count cannot be negative"),
        ("number", {}, "value", "a number is required"),
        ("percentage", {"numerator": 5, "denominator": 4}, "numerator", "cannot exceed"),
        ("percentage", {"value": 50}, "numerator", "numerator and a denominator"),
        ("yes_no", {"value": 2}, "value", "answer yes or no"),
        ("text", {"text_value": "  "}, "text_value", "a text answer is required"),
        ("number", {"value": float("nan")}, "value", "finite"),
        ("number", {"value": 1, "evidence_url": "javascript:alert(1)"}, "evidence_url", "https://"),
        ("number", {"value": 1, "narrative": "x" * 4001}, "narrative", "longer than"),
    ],
)
def test_values_are_checked_against_their_unit(session, unit, fields, field, message) -> None:
    state = factories.make_state(session)
    indicator = factories.make_indicator(session, reported_by=[state], unit=unit)
    period = factories.make_period(session)
    with pytest.raises(InputError) as refused:
        record_indicator_value(session, _value(indicator, period, state, **fields), source="web")
    assert message in refused.value.problems[field]


def test_every_change_keeps_a_revision_and_percentages_are_computed(session) -> None:
    state = factories.make_state(session)
    indicator = factories.make_indicator(session, reported_by=[state], unit="percentage")
    period = factories.make_period(session)

    first = record_indicator_value(
        session, _value(indicator, period, state, numerator=3, denominator=4), source="web"
    )
    assert first.created and first.value.value == 75.0
    same = record_indicator_value(
        session, _value(indicator, period, state, numerator=3, denominator=4), source="web"
    )
    assert not same.changed
    second = record_indicator_value(
        session,
        _value(indicator, period, state, numerator=1, denominator=4),
        source="upload",
        reason="corrected count",
    )
    assert second.value.id == first.value.id and second.value.version == 2

    history = value_history(session, first.value.id)
    assert [(r.version, r.numerator, r.source, r.reason) for r in history] == [
        (1, 3, "web", ""),
        (2, 1, "upload", "corrected count"),
    ]
    assert session.exec(select(IndicatorValueRevision)).all() == history


def test_computed_indicators_cannot_be_typed(session) -> None:
    state = factories.make_state(session)
    indicator = factories.make_indicator(session, reported_by=[state], computed_from="activities")
    period = factories.make_period(session)
    with pytest.raises(InputError, match="computed from the activities"):
        record_indicator_value(session, _value(indicator, period, state, value=1), source="web")


def test_the_database_refuses_an_unknown_status(session) -> None:
    initiative = factories.make_initiative(session)
    initiative.status = "finished"
    session.add(initiative)
    with pytest.raises(IntegrityError):
        session.flush()


def test_an_indicator_belongs_to_exactly_one_parent(session) -> None:
    initiative = factories.make_initiative(session)
    indicator = factories.make_indicator(session, initiative=initiative)
    indicator.strategic_goal_id = initiative.strategic_goal_id
    session.add(indicator)
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_are_enforced(session) -> None:
    session.add(
        Indicator(
            work_plan_id=999, initiative_id=999, code="X", title="X", level="output", unit="number"
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_initiative_codes_are_unique_within_a_goal(session) -> None:
    first = factories.make_initiative(session, code="1.1")
    session.add(
        Initiative(
            strategic_goal_id=first.strategic_goal_id,
            code="1.1",
            title="dup",
            start_date=first.start_date,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_same_value_twice_in_one_batch_is_refused_and_nothing_is_written(session) -> None:
    from app.progress.services import record_indicator_values

    state = factories.make_state(session, name="Thailand")
    indicator = factories.make_indicator(session, reported_by=[state])
    period = factories.make_period(session)
    entries = [
        _value(indicator, period, state, value=1),
        _value(indicator, period, state, value=2),
    ]
    with pytest.raises(InputError, match="given twice"):
        record_indicator_values(session, entries, source="web")
    assert session.exec(select(IndicatorValue)).all() == []
