"""Checks every row of a parsed workbook against the plan; all problems are reported at once.

A workbook may hold tens of thousands of rows, so the per-row work is kept small: the rules
of each kind of indicator are worked out once, cells are read by position, and the indicators
come as light rows (id, code, unit, by_sex) rather than ORM objects.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter, itemgetter
from types import SimpleNamespace
from typing import Any, Protocol

from sqlmodel import Session

from app.fields import DAY, Number, clean_text
from app.imports.reader import ParsedWorkbook, Problem, column_letter
from app.imports.template import COLUMNS, TEMPLATE_VERSION, VALUES_SHEET, editable_columns
from app.plan.models import (
    Indicator,
    MemberState,
    ReportingPeriod,
)
from app.progress.forms import EVIDENCE_LINK, NARRATIVE, TEXT_ANSWER
from app.progress.services import VALUE_FIELDS, rules_fingerprint, unit_problems
from app.progress.submissions import reported_indicators_query
from app.validation import InputError

_LETTER = {heading: column_letter(i + 1) for i, heading in enumerate(COLUMNS)}
_INDEX = {heading: i for i, heading in enumerate(COLUMNS)}
# The reading of a number typed as text; its range is the value's rule, checked with the row.
_ANY_NUMBER = Number(minimum=None)
_NUMERIC_COLUMNS = ("Value", "Numerator", "Denominator", "Female", "Male")
_DESCRIPTIVE_COLUMNS = {"As of date", "Narrative", "Evidence link"}
_VALUE_COLUMNS = COLUMNS[5:]  # what a focal point types; the first five are the template's
_VALUE, _AS_OF, _NARRATIVE, _EVIDENCE = (
    _INDEX[h] for h in ("Value", "As of date", "Narrative", "Evidence link")
)
_YES_NO = {"yes": 1.0, "no": 0.0, "1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0}
_FIELD_COLUMN = {
    "value": "Value",
    "numerator": "Numerator",
    "denominator": "Denominator",
    "female": "Female",
    "male": "Male",
    "text_value": "Value",
}
# How a checked row is kept on the upload between preview and commit: one list per row, in
# this order (the first item of ``Upload.rows`` names the fields).
STORED_FIELDS = ("indicator_id", "code", *VALUE_FIELDS)
_STORED_GETTER = attrgetter(*STORED_FIELDS)


@dataclass(slots=True)
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

    def stored(self) -> list[Any]:
        return list(_STORED_GETTER(self))


@dataclass
class CheckedWorkbook:
    entries: list[RowEntry]
    ignored_rows: int
    problems: list[Problem]
    rules: str = ""  # the rules_fingerprint the entries were checked under


class ReportedIndicator(Protocol):
    """A light row (id, code, unit, by_sex) of an indicator the state reports."""

    id: int
    code: str
    unit: str
    by_sex: bool


def reported_indicators(
    session: Session, member_state_id: int, period: ReportingPeriod
) -> list[ReportedIndicator]:
    """The indicators a state reports for a period, as light rows.

    The report form's rule (``reported_indicators_query``), read as four columns through Core:
    a workbook may list tens of thousands of indicators.
    """
    query = reported_indicators_query(
        member_state_id, period, Indicator.id, Indicator.code, Indicator.unit, Indicator.by_sex
    )
    return list(session.connection().execute(query))


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
    # Shown back in the message: what the sheet says, cleaned and short.
    named_state = clean_text(str(meta.get("member_state") or "")).strip()[:20]
    if state is None:
        problems.append(
            Problem(
                "",
                "",
                (
                    f"The workbook names member state '{named_state}', which this system does "
                    "not know. Download the template again."
                    if named_state
                    else "The workbook does not say which member state it is "
                    "for. Download the template again."
                ),
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


def _number(value: Any, heading: str, row: int, problems: list[Problem]) -> float | None:
    """A number cell: calamine's float as it is (the usual case), else the shared reading."""
    if type(value) is float and math.isfinite(value):
        return value  # range and wholeness are the value's rules (unit_problems), checked later
    if isinstance(value, bool):
        problems.append(
            Problem(VALUES_SHEET, f"{_LETTER[heading]}{row}", "TRUE/FALSE where a number belongs")
        )
        return None
    try:
        return _ANY_NUMBER(value)
    except InputError as refused:
        message = refused.problems.get("", str(refused))
        if isinstance(value, str) and "such as 12" in message:
            message = (
                f"'{_text(value)[:40]}' is text where a number belongs; type digits only, e.g. 12"
            )
        problems.append(Problem(VALUES_SHEET, f"{_LETTER[heading]}{row}", message))
        return None


@dataclass(frozen=True)
class _Rules:
    """What a row of one kind of indicator (unit, by sex) may hold, worked out once."""

    forbidden: tuple[tuple[int, str], ...]  # (column index, heading) that must stay empty
    numeric: tuple[tuple[int, str, str], ...]  # (column index, heading, field) read as numbers
    hint: str  # the columns it does take, for the message


@lru_cache(maxsize=16)
def _rules(unit: str, by_sex: bool) -> _Rules:
    allowed = editable_columns(SimpleNamespace(unit=unit, by_sex=by_sex))  # type: ignore[arg-type]
    return _Rules(
        forbidden=tuple((_INDEX[h], h) for h in _VALUE_COLUMNS if h not in allowed),
        numeric=tuple((_INDEX[h], h, h.lower()) for h in _NUMERIC_COLUMNS if h in allowed),
        hint=", ".join(sorted(allowed - _DESCRIPTIVE_COLUMNS)),
    )


def check_rows(
    parsed: ParsedWorkbook,
    state: MemberState,
    period: ReportingPeriod,
    reported: Iterable[ReportedIndicator],
    known_codes: Callable[[set[str]], set[str]],
) -> CheckedWorkbook:
    """Check each row as it is read. ``known_codes(codes)`` says which codes the plan has."""
    problems: list[Problem] = []
    by_code = {i.code: (i, _rules(i.unit, i.by_sex)) for i in reported}
    entries: list[RowEntry] = []
    checked_by: list[ReportedIndicator] = []  # each entry's indicator
    seen: dict[str, int] = {}
    # Codes the state does not report: which message each gets is asked of the plan once.
    unknown: list[tuple[int, int, str]] = []  # (index in problems, row, code)
    ignored = 0
    code_index, value_start = _INDEX["Code"], _INDEX["Value"]
    empty_values = len(_VALUE_COLUMNS)
    for number, cells in parsed.rows:
        code = _text(cells[code_index])
        values = cells[value_start:]
        values_given = values.count("") + values.count(None) < empty_values
        if not code:
            problems.append(
                Problem(
                    VALUES_SHEET,
                    f"A{number}",
                    "values without an indicator code; put the code back or clear the row",
                )
            )
            continue
        if code in seen:
            problems.append(
                Problem(
                    VALUES_SHEET,
                    f"A{number}",
                    f"indicator {code} appears twice (first in row {seen[code]}); keep one row",
                )
            )
            continue
        seen[code] = number
        known = by_code.get(code)
        if known is None:
            unknown.append((len(problems), number, code))
            problems.append(Problem(VALUES_SHEET, f"A{number}", ""))  # worded below
            continue
        if not values_given:
            ignored += 1
            continue
        entry = _row_entry(number, *known, cells, period, problems)
        if entry is not None:
            entries.append(entry)
            checked_by.append(known[0])
    if unknown:
        in_plan = known_codes({code for _i, _n, code in unknown})
        for index, number, code in unknown:
            message = (
                f"{state.name} does not report indicator {code}"
                if code in in_plan
                else f"unknown indicator code '{code[:30]}'"
            )
            problems[index] = Problem(VALUES_SHEET, f"A{number}", message)
    return CheckedWorkbook(entries, ignored, problems, rules_fingerprint(checked_by))


def _row_entry(
    number: int,
    indicator: ReportedIndicator,
    rules: _Rules,
    cells: list[Any],
    period: ReportingPeriod,
    problems: list[Problem],
) -> RowEntry | None:
    before = len(problems)
    for index, heading in rules.forbidden:
        if cells[index] != "" and cells[index] is not None:
            problems.append(
                Problem(
                    VALUES_SHEET,
                    f"{_LETTER[heading]}{number}",
                    f"{indicator.code} takes no {heading.lower()}; use {rules.hint}",
                )
            )
    entry = RowEntry(number, indicator.id, indicator.code)
    value = cells[_VALUE]
    if indicator.unit == "yes_no":
        answer = _text(value).lower()
        entry.value = _YES_NO.get(answer)
        if answer and entry.value is None:
            problems.append(Problem(VALUES_SHEET, f"F{number}", "answer yes or no"))
    elif indicator.unit == "text":
        entry.text_value = _read_text(TEXT_ANSWER, value, "Value", number, problems) or None
    else:
        for index, heading, name in rules.numeric:
            if cells[index] != "":
                setattr(entry, name, _number(cells[index], heading, number, problems))
    if cells[_AS_OF] != "":
        _check_date(cells[_AS_OF], number, period, problems)
    entry.narrative = _read_text(NARRATIVE, cells[_NARRATIVE], "Narrative", number, problems)
    entry.evidence_url = _read_text(
        EVIDENCE_LINK, cells[_EVIDENCE], "Evidence link", number, problems
    )
    if len(problems) != before:
        return None
    # The same rules as web entry (app.progress.services), reported with cell references.
    found = unit_problems(indicator, entry)  # type: ignore[arg-type]
    for name, message in found.items():
        column = _FIELD_COLUMN.get(name, "Value")
        problems.append(Problem(VALUES_SHEET, f"{_LETTER[column]}{number}", message))
    return None if found else entry


def _read_text(
    parse: Callable[[Any], str], cell: Any, heading: str, number: int, problems: list[Problem]
) -> str:
    """A text cell read by the report form's field for it; "" when empty or refused."""
    if cell == "" or cell is None:
        return ""
    try:
        return parse(cell)
    except InputError as refused:
        message = refused.problems.get("", str(refused))
        if "characters or fewer" in message:  # said the way a spreadsheet user counts a cell
            limit = getattr(parse, "max_length", 0)
            message = f"{len(str(cell)):,} characters; the limit is {limit:,}"
        problems.append(Problem(VALUES_SHEET, f"{_LETTER[heading]}{number}", message))
        return ""


def _check_date(value: Any, number: int, period: ReportingPeriod, problems: list[Problem]) -> None:
    if value in ("", None):
        return
    ref = f"K{number}"
    try:
        day = DAY(value)
    except InputError as refused:
        message = refused.problems.get("", str(refused))
        if "year-month-day" in message:
            message = "not a date; use the format 2025-09-30"
        problems.append(Problem(VALUES_SHEET, ref, message))
        return
    if day is not None and not period.start_date <= day <= period.end_date:
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


def stored_rows(entries: list[RowEntry]) -> list[list[Any]]:
    """The checked rows as ``Upload.rows`` keeps them: the field names, then one list a row."""
    return [list(STORED_FIELDS), *(e.stored() for e in entries)]


def rows_of(stored: list[Any] | None) -> list[dict[str, Any]]:
    """``Upload.rows`` back as one dict a row (also for previews stored one dict a row)."""
    if not stored:
        return []
    if isinstance(stored[0], dict):  # previewed before the rows were stored as lists
        return stored
    names = stored[0]
    return [dict(zip(names, row, strict=True)) for row in stored[1:]]


def content_hash(state: MemberState, period: ReportingPeriod, rows: list[list[Any]]) -> str:
    """A hash of what the workbook says, not of its bytes: a re-saved file hashes the same.

    ``rows`` as ``stored_rows`` gives them; the order of the rows in the sheet does not count.
    """
    names, body = rows[0], sorted(rows[1:], key=itemgetter(STORED_FIELDS.index("code")))
    payload = json.dumps([state.code, period.code, names, body], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()
