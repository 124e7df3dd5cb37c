"""What loading a checked workbook would change: counts for the upload, old and new for the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app.imports import checks
from app.plan.models import Indicator
from app.progress.models import IndicatorValue
from app.progress.services import VALUE_FIELDS
from app.validation import number_as_typed


@dataclass
class Change:
    """One line of the preview: a new row, or one changed field, old and new as typed."""

    code: str
    title: str
    field: str
    old: Any
    new: Any


def current_values(session: Session, state_id: int, period_id: int) -> dict[int, Any]:
    """The state's stored values for the period, as light rows, by indicator id."""
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    rows = session.connection().execute(
        select(table.c.indicator_id, *[table.c[name] for name in VALUE_FIELDS]).where(
            table.c.member_state_id == state_id,
            table.c.reporting_period_id == period_id,
        )
    )
    return {row.indicator_id: row for row in rows}


def count_changes(
    session: Session, state_id: int, period_id: int, checked: checks.CheckedWorkbook
) -> dict[str, int]:
    """How many rows loading would add, change and leave as they are, and how many are empty."""
    current = current_values(session, state_id, period_id)
    counts = {"new": 0, "changed": 0, "unchanged": 0, "ignored": checked.ignored_rows}
    for entry in checked.entries:
        stored = current.get(entry.indicator_id)
        if stored is None:
            counts["new"] += 1
        elif differences(stored, entry):
            counts["changed"] += 1
        else:
            counts["unchanged"] += 1
    return counts


def _comparable(value: Any) -> Any:
    if value == "":
        return None
    return value


def differences(stored: Any, entry: checks.RowEntry) -> list[tuple[str, Any, Any]]:
    result = []
    for name in VALUE_FIELDS:
        old, new = _comparable(getattr(stored, name)), _comparable(getattr(entry, name))
        if name == "value" and stored.numerator is not None:
            continue  # a percentage's value is computed from its parts
        if old != new:
            result.append((name, old, new))
    return result


def preview_changes(session: Session, upload: Any) -> list[Change]:
    """Each changed value of a previewed upload with old and new, for the preview page."""
    rows = checks.rows_of(upload.rows)
    if not rows:
        return []
    current = current_values(session, upload.member_state_id, upload.reporting_period_id)
    indicators = _titles_and_units(session, [r["indicator_id"] for r in rows])
    changes = []
    for row in rows:
        entry = checks.RowEntry(**{"row": 0, **row})
        title, unit = indicators.get(entry.indicator_id, ("", ""))
        stored = current.get(entry.indicator_id)
        if stored is None:
            changes.append(Change(entry.code, title, "new", None, _typed(unit, entry)))
            continue
        for name, old, new in differences(stored, entry):
            changes.append(
                Change(entry.code, title, name, _shown(unit, name, old), _shown(unit, name, new))
            )
    return changes


def _titles_and_units(session: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 5000):
        for id_, title, unit in session.exec(
            select(Indicator.id, Indicator.title, Indicator.unit).where(
                col(Indicator.id).in_(ids[start : start + 5000])
            )
        ).all():
            found[id_] = (title, unit)
    return found


def _typed(unit: str, entry: checks.RowEntry) -> str | None:
    """A new row's answer as it was typed (a percentage has no value until it is loaded)."""
    if unit == "percentage":
        parts = (number_as_typed(entry.numerator), number_as_typed(entry.denominator))
        return " / ".join(part or "—" for part in parts)
    if entry.text_value is not None:
        return entry.text_value
    return _shown(unit, "value", entry.value)


def _shown(unit: str, name: str, value: Any) -> Any:
    """A stored field as the person typed it: a yes/no answer is kept as 1.0 or 0.0."""
    if value is None:
        return None
    if name == "value" and unit == "yes_no":
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return number_as_typed(value)
    return value
