"""Changing an indicator's definition without losing what was reported against it.

Reported values are never deleted or rewritten here. When values exist, a change to what they
are measured against (target, baseline, unit, disaggregation, aggregation) needs a reason,
which the audit trail keeps with the before and after.
"""

from __future__ import annotations

from sqlmodel import Session, func, select

from app.plan.forms import DefinitionForm
from app.plan.models import Indicator, IndicatorPeriodTarget
from app.progress.models import IndicatorValue
from app.validation import InputError, NotFound

SENSITIVE = (
    "target_value",
    "baseline_value",
    "baseline_date",
    "unit",
    "by_sex",
    "by_member_state",
    "aggregation",
)


class DefinitionConflict(Exception):
    def __init__(self, current: Indicator) -> None:
        super().__init__("Someone else changed this indicator after you opened it.")
        self.current = current


def values_reported(session: Session, indicator_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(IndicatorValue)
        .where(IndicatorValue.indicator_id == indicator_id)
    ).one()


def period_targets(session: Session, indicator_id: int) -> dict[int, float]:
    rows = session.exec(
        select(IndicatorPeriodTarget).where(IndicatorPeriodTarget.indicator_id == indicator_id)
    ).all()
    return {r.reporting_period_id: r.target_value for r in rows}


def update_definition(session: Session, indicator_id: int, change: DefinitionForm) -> Indicator:
    """Apply the change; if values exist and a measuring field changes, a reason is required."""
    indicator = session.get(Indicator, indicator_id, with_for_update=True, populate_existing=True)
    if indicator is None:
        raise NotFound("indicator")
    if change.expected_version != indicator.version:
        raise DefinitionConflict(indicator)
    existing_targets = period_targets(session, indicator_id)
    wanted_targets = {k: v for k, v in change.period_targets.items() if v is not None}
    sensitive_change = any(getattr(indicator, f) != getattr(change, f) for f in SENSITIVE) or (
        existing_targets != wanted_targets
    )
    if sensitive_change and values_reported(session, indicator_id):
        if len(change.reason) < 10:
            raise InputError(
                {
                    "reason": "values have been reported against this indicator: "
                    "say why the definition changes (10 characters or more)"
                }
            )
        session.info["reason"] = change.reason[:500]
    for name in (
        "title",
        "unit",
        "direction",
        "aggregation",
        "target_value",
        "baseline_value",
        "baseline_date",
        "by_member_state",
        "by_sex",
        "means_of_verification",
        "is_proposed",
    ):
        setattr(indicator, name, getattr(change, name))
    indicator.version += 1
    session.add(indicator)
    _replace_targets(session, indicator_id, existing_targets, wanted_targets)
    session.flush()
    return indicator


def _replace_targets(
    session: Session, indicator_id: int, existing: dict[int, float], wanted: dict[int, float]
) -> None:
    for period_id in existing.keys() - wanted.keys():
        session.delete(session.get(IndicatorPeriodTarget, (indicator_id, period_id)))
    for period_id, value in wanted.items():
        row = session.get(IndicatorPeriodTarget, (indicator_id, period_id))
        if row is None:
            session.add(
                IndicatorPeriodTarget(
                    indicator_id=indicator_id, reporting_period_id=period_id, target_value=value
                )
            )
        elif row.target_value != value:
            row.target_value = value
            session.add(row)
