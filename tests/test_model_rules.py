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
        ("number", {"value": -1}, "value", "cannot be negative"),
        (
            "number",
            {"value": 2, "female": 4, "male": 3},
            "female",
            "(7) are more than the total (2)",
        ),
        ("number", {"value": 5, "male": -1}, "male", "cannot be negative"),
        # Issue 15, item 3: people are counted whole, and a link needs a host and its length.
        ("number", {"value": 5, "female": 2.5}, "female", "whole number (2, not 2.5)"),
        ("number", {"value": 1, "evidence_url": "http://"}, "evidence_url", "https://"),
        (
            "number",
            {"value": 1, "evidence_url": "https://example.org/" + "a" * 481},
            "evidence_url",
            "500 characters or fewer (this one has 501)",
        ),
        # Item 4: control characters are refused whichever way a value comes.
        ("number", {"value": 1, "narrative": "bell\x01"}, "narrative", "U+0001"),
        ("number", {"value": 1e20}, "value", "at most 15 digits"),
        ("percentage", {"numerator": 1, "denominator": 1e15}, "denominator", "at most 15 digits"),
        ("number", {}, "value", "a number is required"),
        ("percentage", {"numerator": 5, "denominator": 4}, "numerator", "cannot exceed"),
        ("percentage", {"value": 50}, "numerator", "numerator and a denominator"),
        ("yes_no", {"value": 2}, "value", "answer yes or no"),
        ("text", {"text_value": "  "}, "text_value", "a text answer is required"),
        ("number", {"value": float("nan")}, "value", "finite"),
        ("number", {"value": 1, "evidence_url": "javascript:alert(1)"}, "evidence_url", "https://"),
        ("number", {"value": 1, "narrative": "x" * 4001}, "narrative", "4,000 characters or fewer"),
    ],
)
def test_values_are_checked_against_their_unit(session, unit, fields, field, message) -> None:
    state = factories.make_state(session)
    indicator = factories.make_indicator(session, reported_by=[state], unit=unit)
    period = factories.make_period(session)
    with pytest.raises(InputError) as refused:
        record_indicator_value(session, _value(indicator, period, state, **fields), source="web")
    assert message in refused.value.problems[field]


def test_a_total_counted_by_sex_is_whole_and_words_line_breaks_become_newlines(session) -> None:
    state = factories.make_state(session)
    indicator = factories.make_indicator(session, reported_by=[state], unit="number", by_sex=True)
    period = factories.make_period(session)
    with pytest.raises(InputError) as refused:
        record_indicator_value(session, _value(indicator, period, state, value=12.5), source="web")
    assert refused.value.problems == {"value": "must be a whole number (12, not 12.5)"}
    pasted = _value(indicator, period, state, value=12, narrative="First\x0bsecond\r\nthird")
    stored = record_indicator_value(session, pasted, source="web").value
    assert stored.narrative == "First\nsecond\nthird"


def test_a_split_by_sex_may_fall_short_of_the_total_but_not_exceed_it(session) -> None:
    state = factories.make_state(session)
    indicator = factories.make_indicator(session, reported_by=[state], unit="number")
    period = factories.make_period(session)
    partial = _value(indicator, period, state, value=10, female=4, male=3)
    assert record_indicator_value(session, partial, source="web").value.female == 4
    exact = _value(indicator, period, state, value=7, female=4, male=3)
    assert record_indicator_value(session, exact, source="web").value.value == 7
    with pytest.raises(InputError) as refused:
        too_many = _value(indicator, period, state, value=6.5, female=4, male=3)
        record_indicator_value(session, too_many, source="web")
    assert refused.value.problems == {
        "female": "women and men counted (7) are more than the total (6.5)"
    }


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


def test_a_large_batch_is_checked_and_written_like_a_small_one(session) -> None:
    """Above a few hundred values a batch reads its context by state and period (no id lists)
    and writes in chunks; the outcome is the same: every value checked first, then written
    with its revision, and an update only where something changed."""
    from app.audit.models import AuditEvent
    from app.progress import services
    from app.progress.services import record_indicator_values

    state, other = factories.make_state(session), factories.make_state(session)
    initiative = factories.make_initiative(session)
    count = services._FEW + services._WRITE_CHUNK // 2 + 7  # over both thresholds
    indicators = [
        factories.make_indicator(session, initiative=initiative, reported_by=[state])
        for _ in range(count)
    ]
    stranger = factories.make_indicator(session, initiative=initiative, reported_by=[other])
    period = factories.make_period(session)

    def values(offset: float, indicators=indicators) -> list[ValueInput]:
        return [_value(i, period, state, value=n + offset) for n, i in enumerate(indicators)]

    with pytest.raises(InputError, match="does not report"):
        record_indicator_values(
            session, [*values(0), _value(stranger, period, state, value=1)], source="web"
        )
    assert session.exec(select(IndicatorValue)).all() == []

    first = record_indicator_values(session, values(0), source="web")
    assert all(w.created and w.changed for w in first)
    stored = {v.id: v for v in session.exec(select(IndicatorValue)).all()}
    assert [stored[w.value_id].indicator_id for w in first] == [i.id for i in indicators]
    assert [stored[w.value_id].value for w in first] == [float(n) for n in range(count)]

    half = count // 2
    again = values(0)[:half] + values(100)[half:]
    second = record_indicator_values(
        session, again, source="upload", reason="workbook upload 7", audit_each_value=False
    )
    assert [w.value_id for w in second] == [w.value_id for w in first]
    assert [w.changed for w in second] == [False] * half + [True] * (count - half)
    session.expire_all()
    revisions = session.exec(select(IndicatorValueRevision)).all()
    assert len(revisions) == count + (count - half)
    latest = {r.indicator_value_id: r for r in revisions if r.version == 2}
    changed_value = stored[first[-1].value_id]
    assert changed_value.version == 2 and changed_value.value == count - 1 + 100
    assert latest[changed_value.id].value == changed_value.value
    assert latest[changed_value.id].reason == "workbook upload 7"
    assert latest[changed_value.id].source == "upload"
    assert latest[changed_value.id].changed_at == changed_value.updated_at
    # Each value's first version was audited one by one; the second batch asked not to be.
    events = session.exec(
        select(AuditEvent).where(AuditEvent.entity_type == "indicator_value")
    ).all()
    assert [e.action for e in events] == ["create"] * count
