"""Checks every row of a parsed workbook against the plan; all problems are reported at once."""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.imports.reader import ParsedWorkbook, Problem, column_letter
from app.imports.template import COLUMNS, TEMPLATE_VERSION, VALUES_SHEET, editable_columns
from app.plan.models import Indicator, MemberState, ReportingPeriod
from app.progress.services import MAX_NARRATIVE_CHARS

_LETTER = {heading: column_letter(i + 1) for i, heading in enumerate(COLUMNS)}
_NUMBER_TEXT = re.compile(r"^-?\d+(\.\d+)?$")
_NUMERIC_COLUMNS = ("Value", "Numerator", "Denominator", "Female", "Male")
_DESCRIPTIVE_COLUMNS = {"As of date", "Narrative", "Evidence link"}


@dataclass
class RowEntry:
    """One indicator's values as read from a row, ready to be recorded."""

    row: int
    indicator_id: int
    code: str
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    female: float | None = None
    male: float | None = None
    text_value: str | None = None
    narrative: str = ""
    evidence_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        # Every field is a plain value, so a shallow copy is what dataclasses.asdict gives,
        # without its deep copy (which cost seconds on a 20,000-row workbook).
        return dict(vars(self))


@dataclass
class CheckedWorkbook:
    entries: list[RowEntry]
    ignored_rows: int
    problems: list[Problem]


def check_metadata(
    parsed: ParsedWorkbook, states: dict[str, MemberState], periods: dict[str, ReportingPeriod]
) -> tuple[MemberState | None, ReportingPeriod | None, list[Problem]]:
    meta = parsed.metadata
    problems = []
    if meta.get("template_version") != TEMPLATE_VERSION:
        problems.append(
            Problem(
                "",
                "",
                (
                    "This workbook was made from template version "
                    f"{meta.get('template_version') or '?'}"
                    f"; this system reads version {TEMPLATE_VERSION}. Download a new template."
                ),
            )
        )
    state = states.get(meta.get("member_state", ""))
    period = periods.get(meta.get("reporting_period", ""))
    if state is None:
        problems.append(
            Problem(
                "",
                "",
                "The workbook does not say which member state it is "
                "for. Download the template again.",
            )
        )
    if period is None:
        problems.append(
            Problem(
                "",
                "",
                "The workbook does not name a known reporting period. Download the template again.",
            )
        )
    return state, period, problems


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).strip()


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in text)


def _number(value: Any, heading: str, row: int, problems: list[Problem]) -> float | None:
    ref = f"{_LETTER[heading]}{row}"
    if value in ("", None):
        return None
    if isinstance(value, bool):
        problems.append(Problem(VALUES_SHEET, ref, "TRUE/FALSE where a number belongs"))
        return None
    if isinstance(value, int | float):
        if math.isnan(value) or math.isinf(value):
            problems.append(Problem(VALUES_SHEET, ref, "not a finite number"))
            return None
        return float(value)
    text = _text(value).replace(",", "")
    if _NUMBER_TEXT.match(text):
        return float(text)
    problems.append(
        Problem(
            VALUES_SHEET,
            ref,
            f"'{_text(value)[:40]}' is text where a number belongs; type digits only, e.g. 12",
        )
    )
    return None


def check_rows(
    parsed: ParsedWorkbook,
    state: MemberState,
    period: ReportingPeriod,
    reported: list[Indicator],
    all_codes: set[str],
) -> CheckedWorkbook:
    problems: list[Problem] = []
    by_code = {i.code: i for i in reported}
    entries: list[RowEntry] = []
    seen: dict[str, int] = {}
    ignored = 0
    for row in parsed.rows:
        cells = row.cells
        code = _text(cells["Code"])
        values_given = any(cells[h] not in ("", None) for h in COLUMNS[5:])
        if not code:
            problems.append(
                Problem(
                    VALUES_SHEET,
                    f"A{row.number}",
                    "values without an indicator code; put the code back or clear the row",
                )
            )
            continue
        if code in seen:
            problems.append(
                Problem(
                    VALUES_SHEET,
                    f"A{row.number}",
                    f"indicator {code} appears twice (first in row {seen[code]}); keep one row",
                )
            )
            continue
        seen[code] = row.number
        indicator = by_code.get(code)
        if indicator is None:
            message = (
                f"{state.name} does not report indicator {code}"
                if code in all_codes
                else f"unknown indicator code '{code[:30]}'"
            )
            problems.append(Problem(VALUES_SHEET, f"A{row.number}", message))
            continue
        if not values_given:
            ignored += 1
            continue
        entry = _row_entry(row.number, indicator, cells, period, problems)
        if entry is not None:
            entries.append(entry)
    problems.extend(_unit_problems(entries, by_code))
    return CheckedWorkbook(entries, ignored, problems)


def _row_entry(
    number: int,
    indicator: Indicator,
    cells: dict[str, Any],
    period: ReportingPeriod,
    problems: list[Problem],
) -> RowEntry | None:
    before = len(problems)
    allowed = editable_columns(indicator)
    for heading in COLUMNS[5:]:
        if heading not in allowed and cells[heading] not in ("", None):
            problems.append(
                Problem(
                    VALUES_SHEET,
                    f"{_LETTER[heading]}{number}",
                    (
                        f"{indicator.code} takes no {heading.lower()}; "
                        f"use {', '.join(sorted(allowed - _DESCRIPTIVE_COLUMNS))}"
                    ),
                )
            )
    entry = RowEntry(number, indicator.id, indicator.code)
    if indicator.unit == "yes_no":
        answer = _text(cells["Value"]).lower()
        mapping = {"yes": 1.0, "no": 0.0, "1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0}
        entry.value = mapping.get(answer)
        if answer and entry.value is None:
            problems.append(Problem(VALUES_SHEET, f"F{number}", "answer yes or no"))
    elif indicator.unit == "text":
        entry.text_value = _text(cells["Value"]) or None
    else:
        for heading in _NUMERIC_COLUMNS:
            if heading in allowed:
                setattr(entry, heading.lower(), _number(cells[heading], heading, number, problems))
    _check_date(cells["As of date"], number, period, problems)
    entry.narrative = _text(cells["Narrative"])
    entry.evidence_url = _text(cells["Evidence link"])
    for heading, text in (
        ("Narrative", entry.narrative),
        ("Evidence link", entry.evidence_url),
        ("Value", entry.text_value or ""),
    ):
        ref = f"{_LETTER[heading]}{number}"
        if _has_control_characters(text):
            problems.append(
                Problem(VALUES_SHEET, ref, "contains control characters; retype the text")
            )
        if len(text) > MAX_NARRATIVE_CHARS:
            problems.append(
                Problem(
                    VALUES_SHEET,
                    ref,
                    f"{len(text):,} characters; the limit is {MAX_NARRATIVE_CHARS:,}",
                )
            )
    if entry.evidence_url and not entry.evidence_url.startswith(("https://", "http://")):
        problems.append(
            Problem(VALUES_SHEET, f"M{number}", "the evidence link must start with https://")
        )
    return entry if len(problems) == before else None


def _check_date(value: Any, number: int, period: ReportingPeriod, problems: list[Problem]) -> None:
    if value in ("", None):
        return
    ref = f"K{number}"
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(_text(value))
        except ValueError:
            problems.append(Problem(VALUES_SHEET, ref, "not a date; use the format 2025-09-30"))
            return
    if not period.start_date <= day <= period.end_date:
        problems.append(
            Problem(
                VALUES_SHEET,
                ref,
                (
                    f"{day:%d %b %Y} is outside {period.code} ({period.start_date:%d %b} to "
                    f"{period.end_date:%d %b %Y})"
                ),
            )
        )


_NOT_VALUES = ("row", "indicator_id", "code")


def _unit_problems(entries: list[RowEntry], by_code: dict[str, Indicator]) -> list[Problem]:
    """The same rules as web entry (app.progress.services), reported with cell references."""
    from app.progress.services import ValueInput, unit_problems

    field_column = {
        "value": "Value",
        "numerator": "Numerator",
        "denominator": "Denominator",
        "female": "Female",
        "male": "Male",
        "text_value": "Value",
    }
    problems = []
    kept = []
    for entry in entries:
        indicator = by_code[entry.code]
        data = ValueInput(
            indicator.id,
            0,
            0,
            **{
                k: v for k, v in entry.as_dict().items() if k not in ("row", "indicator_id", "code")
            },
        )
        found = unit_problems(indicator, data)
        for name, message in found.items():
            column = field_column.get(name, "Value")
            problems.append(Problem(VALUES_SHEET, f"{_LETTER[column]}{entry.row}", message))
        if not found:
            kept.append(entry)
    entries[:] = kept  # rows with a problem are not loaded
    return problems


def content_hash(state: MemberState, period: ReportingPeriod, entries: list[RowEntry]) -> str:
    """A hash of what the workbook says, not of its bytes: a re-saved file hashes the same."""
    canonical = [
        {k: v for k, v in e.as_dict().items() if k != "row"}
        for e in sorted(entries, key=lambda e: e.code)
    ]
    payload = json.dumps([state.code, period.code, canonical], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
