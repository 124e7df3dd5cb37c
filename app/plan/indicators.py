"""Changing an indicator's definition without losing what was reported against it.

Reported values are never deleted or rewritten here. When values exist, a change to what they
are measured against (target, baseline, unit, disaggregation, aggregation) needs a reason,
which the audit trail keeps with the before and after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, func, select

from app.plan.models import (
    AGGREGATIONS,
    DIRECTIONS,
    INDICATOR_UNITS,
    Indicator,
    IndicatorPeriodTarget,
    ReportingPeriod,
)
from app.progress.models import IndicatorValue
from app.validation import InputError, NotFound, parse_id

SENSITIVE = (
    "target_value",
    "baseline_value",
    "baseline_date",
    "unit",
    "by_sex",
    "by_member_state",
    "aggregation",
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class DefinitionConflict(Exception):
    def __init__(self, current: Indicator) -> None:
        super().__init__("Someone else changed this indicator after you opened it.")
        self.current = current


@dataclass
class DefinitionForm:
    title: str
    unit: str
    direction: str
    aggregation: str
    target_value: float | None
    baseline_value: float | None
    baseline_date: date | None
    by_member_state: bool
    by_sex: bool
    means_of_verification: str
    is_proposed: bool
    period_targets: dict[int, float | None]
    reason: str
    expected_version: int


def _number(raw: str, name: str, problems: dict[str, str]) -> float | None:
    text = raw.strip().replace(",", "")
    if not text:
        return None
    if not _NUMBER.match(text):
        problems[name] = "enter a number such as 12 or 3.5"
        return None
    return float(text)


def parse_definition_form(form: dict[str, str], periods: list[ReportingPeriod]) -> DefinitionForm:
    problems: dict[str, str] = {}
    title = form.get("title", "").strip()
    if not title or len(title) > 300:
        problems["title"] = "enter a title of up to 300 characters"
    for name, allowed in (
        ("unit", INDICATOR_UNITS),
        ("direction", DIRECTIONS),
        ("aggregation", AGGREGATIONS),
    ):
        if form.get(name) not in allowed:
            problems[name] = "choose one of the listed options"
    baseline_date = None
    if raw := form.get("baseline_date", "").strip():
        try:
            baseline_date = date.fromisoformat(raw)
        except ValueError:
            problems["baseline_date"] = "enter a date as YYYY-MM-DD"
    targets = {
        p.id: _number(form.get(f"target-{p.id}", ""), f"target-{p.id}", problems) for p in periods
    }
    if form.get("aggregation") == "average" and form.get("unit") != "number":
        # A percentage combines from its parts; a yes/no answer or a text has no mean.
        problems["aggregation"] = "only a number is averaged over the member states"
    target = _number(form.get("target_value", ""), "target_value", problems)
    baseline = _number(form.get("baseline_value", ""), "baseline_value", problems)
    if form.get("unit") == "percentage":
        for name, value in [
            ("target_value", target),
            ("baseline_value", baseline),
            *((f"target-{pid}", v) for pid, v in targets.items()),
        ]:
            if value is not None and not 0 <= value <= 100:
                problems[name] = "a percentage is between 0 and 100"
    version = parse_id(form.get("version"))
    if version is None:
        problems["version"] = "the form is incomplete; reload the page"
    means = form.get("means_of_verification", "").strip()
    if len(means) > 500:
        problems["means_of_verification"] = "keep this under 500 characters"
    if problems:
        raise InputError(problems)
    return DefinitionForm(
        title=title,
        unit=form["unit"],
        direction=form["direction"],
        aggregation=form["aggregation"],
        target_value=target,
        baseline_value=baseline,
        baseline_date=baseline_date,
        by_member_state=form.get("by_member_state") == "on",
        by_sex=form.get("by_sex") == "on",
        means_of_verification=means,
        is_proposed=form.get("is_proposed") == "on",
        period_targets=targets,
        reason=form.get("reason", "").strip(),
        expected_version=version,
    )


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
