"""Recording indicator values. Every change writes a revision; nothing is overwritten silently."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlmodel import Session, select

from app.plan.models import Indicator, IndicatorReportingState, MemberState, ReportingPeriod
from app.progress.models import IndicatorValue, IndicatorValueRevision
from app.timeutil import utcnow
from app.validation import InputError

MAX_NARRATIVE_CHARS = 4000
_VALUE_FIELDS = (
    "value",
    "numerator",
    "denominator",
    "text_value",
    "female",
    "male",
    "narrative",
    "evidence_url",
)


@dataclass
class ValueInput:
    indicator_id: int
    reporting_period_id: int
    member_state_id: int
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    text_value: str | None = None
    female: float | None = None
    male: float | None = None
    narrative: str = ""
    evidence_url: str = ""


@dataclass
class RecordOutcome:
    value: IndicatorValue
    created: bool
    changed: bool


def reporting_state_ids(session: Session, indicator_id: int) -> set[int]:
    rows = session.exec(
        select(IndicatorReportingState.member_state_id).where(
            IndicatorReportingState.indicator_id == indicator_id
        )
    ).all()
    return set(rows)


def validate_value(session: Session, data: ValueInput) -> tuple[Indicator, ReportingPeriod]:
    """Check a value against its indicator's rules; raise ``InputError`` naming each field."""
    indicator = session.get(Indicator, data.indicator_id)
    period = session.get(ReportingPeriod, data.reporting_period_id)
    state = session.get(MemberState, data.member_state_id)
    if indicator is None or period is None or state is None:
        raise InputError("unknown indicator, reporting period or member state")
    if indicator.computed_from:
        raise InputError(
            f"{indicator.code} is computed from the activities delivered; it is not reported"
        )
    if data.member_state_id not in reporting_state_ids(session, indicator.id):
        raise InputError(
            {"member_state": f"{state.name} does not report indicator {indicator.code}"}
        )
    problems = unit_problems(indicator, data)
    if len(data.narrative or "") > MAX_NARRATIVE_CHARS:
        problems["narrative"] = f"the narrative is longer than {MAX_NARRATIVE_CHARS} characters"
    if data.evidence_url and not data.evidence_url.startswith(("https://", "http://")):
        problems["evidence_url"] = "the evidence link must start with https:// or http://"
    if problems:
        raise InputError(problems)
    return indicator, period


def unit_problems(indicator: Indicator, data: ValueInput) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name in ("value", "numerator", "denominator", "female", "male"):
        number = getattr(data, name)
        if number is not None and (math.isnan(number) or math.isinf(number)):
            problems[name] = "must be a finite number"
    if problems:
        return problems
    if indicator.unit == "percentage":
        if data.numerator is None or data.denominator is None:
            problems["numerator"] = "a percentage is entered as a numerator and a denominator"
        elif data.denominator <= 0:
            problems["denominator"] = "the denominator must be greater than zero"
        elif data.numerator < 0:
            problems["numerator"] = "the numerator cannot be negative"
        elif data.numerator > data.denominator:
            problems["numerator"] = "the numerator cannot exceed the denominator (over 100%)"
    elif indicator.unit == "number":
        if data.value is None:
            problems["value"] = "a number is required"
        elif data.value < 0:
            problems["value"] = "a count cannot be negative"
    elif indicator.unit == "yes_no":
        if data.value not in (0, 1):
            problems["value"] = "answer yes or no"
    elif indicator.unit == "text" and not (data.text_value or "").strip():
        problems["text_value"] = "a text answer is required"
    for name in ("female", "male"):
        count = getattr(data, name)
        if count is not None and count < 0:
            problems[name] = "a count cannot be negative"
    return problems


def percentage_of(numerator: float | None, denominator: float | None) -> float | None:
    """Percentages are always recomputed from their parts, never averaged."""
    if numerator is None or not denominator:
        return None
    return 100.0 * numerator / denominator


def record_indicator_value(
    session: Session,
    data: ValueInput,
    *,
    source: str,
    changed_by_id: int | None = None,
    reason: str = "",
    only_if_missing: bool = False,
) -> RecordOutcome:
    """Create or update the value for indicator x period x state, keeping every version."""
    indicator, _period = validate_value(session, data)
    if indicator.unit == "percentage":
        data.value = percentage_of(data.numerator, data.denominator)
    current = session.exec(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id == data.indicator_id,
            IndicatorValue.reporting_period_id == data.reporting_period_id,
            IndicatorValue.member_state_id == data.member_state_id,
        )
    ).first()
    if current is not None and only_if_missing:
        return RecordOutcome(current, created=False, changed=False)
    new_values = {name: getattr(data, name) for name in _VALUE_FIELDS}
    if current is not None and all(getattr(current, k) == v for k, v in new_values.items()):
        return RecordOutcome(current, created=False, changed=False)
    created = current is None
    if created:
        current = IndicatorValue(
            indicator_id=data.indicator_id,
            reporting_period_id=data.reporting_period_id,
            member_state_id=data.member_state_id,
            version=0,
        )
    for name, value in new_values.items():
        setattr(current, name, value)
    current.source = source
    current.updated_by_id = changed_by_id
    current.updated_at = utcnow()
    current.version += 1
    session.add(current)
    session.flush()
    session.add(
        IndicatorValueRevision(
            indicator_value_id=current.id,
            version=current.version,
            source=source,
            changed_by_id=changed_by_id,
            reason=reason,
            **new_values,
        )
    )
    session.flush()
    return RecordOutcome(current, created=created, changed=True)


def value_history(session: Session, value_id: int) -> list[IndicatorValueRevision]:
    return list(
        session.exec(
            select(IndicatorValueRevision)
            .where(IndicatorValueRevision.indicator_value_id == value_id)
            .order_by(IndicatorValueRevision.version)
        ).all()
    )
