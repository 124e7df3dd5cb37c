"""A summary as a formatted workbook (.xlsx) and as CSV: the same figures as the page.

User text (titles, notes, narratives, names) can begin with ``=``, ``+``, ``-``, ``@``, a tab,
CR or LF. A spreadsheet must never run it: in the workbook such text is written as a typed
string cell (openpyxl would otherwise store any text starting with ``=`` as a live formula);
in CSV, which has no types, it gets a leading single quote, as OWASP advises.

The workbook is written in openpyxl's write-only mode so that memory stays flat and a large
plan's workbook is written about as fast as openpyxl can write cells at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from numbers import Number
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.fields import clean_text
from app.plan.models import LABELS
from app.reports.summary import (
    RATING_LABELS,
    FocusAreaSummary,
    IndicatorLine,
    Summary,
)

RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
NUMBER = "#,##0.##"
COUNT = "#,##0"
PERCENT = "0.0%"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
SHEET_NAME_LIMIT = 31
NO_FORMATS: dict[int, str] = {}


def csv_safe(value: Any) -> Any:
    """Text a spreadsheet would read as a formula gets a leading quote (OWASP CSV injection);
    control characters stored before they were refused are dropped (``fields.clean_text``)."""
    if isinstance(value, str):
        value = clean_text(value)
        if value.startswith(RISKY_STARTS):
            return "'" + value
    return value


def _label(code: str | None, default: str = "") -> str:
    return LABELS.get(code or "", default) if code else default


def _rating(code: str | None) -> str:
    return RATING_LABELS.get(code or "", "Not rated")


# --- Workbook -----------------------------------------------------------------------------------


class _FixedStyle(StyleArray):
    """The style of a sheet's formatted cell, never changed once made (the cell only ever gets
    numbers, which leave the format alone). openpyxl hashes a cell's style twice for every
    styled cell it writes; this one's hash is worked out once."""

    __slots__ = ("_hash",)

    def __new__(cls, style: StyleArray) -> _FixedStyle:
        fixed = super().__new__(cls, style)
        fixed._hash = hash(tuple(fixed))
        return fixed

    def __hash__(self) -> int:
        return self._hash


class _Sheet:
    """A write-only sheet whose text cells are always typed as text, never as formulas."""

    def __init__(self, workbook: Workbook, title: str) -> None:
        self.sheet: WriteOnlyWorksheet = workbook.create_sheet(_sheet_title(workbook, title))
        self._formats: dict[int, str] = NO_FORMATS
        self._formatted: dict[str, WriteOnlyCell] = {}
        # openpyxl (3.1) places each appended item by first trying it as a plain value; a
        # ready-made cell (a number format, typed text) fails that, raising and formatting an
        # error it then discards, and makes it build a fresh cell for the next item. For the
        # 9,000 formatted cells of a large status report that was 45 ms of 300. Rows are
        # placed here instead, with one reused cell per kind, as openpyxl reuses its own.
        self.sheet._values_to_row = self._place  # type: ignore[method-assign]

    def header(self, names: Iterable[str], *, freeze: bool = False) -> None:
        if freeze:
            self.sheet.freeze_panes = "A2"
        cells = []
        for name in names:
            cell = WriteOnlyCell(self.sheet, clean_text(name))
            cell.data_type = "s"  # text as typed: never a formula, whatever it starts with
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        self.sheet.append(cells)

    def row(self, values: list[Any], formats: dict[int, str] | None = None) -> None:
        """One row of values; ``formats`` gives a number format by column index (from 0)."""
        self._formats = formats or NO_FORMATS  # read by _place, within this append
        try:
            self.sheet.append(values)
        finally:
            self._formats = NO_FORMATS

    def _place(self, values: Iterable[Any], row_index: int) -> Iterator[Cell]:
        """The cells of one appended row, for openpyxl's writer, which writes each cell before
        taking the next, so one cell of each kind serves every value of that kind."""
        formats = self._formats
        plain = WriteOnlyCell(self.sheet)
        for index, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, Cell):
                cell = value
            elif isinstance(value, str):
                # openpyxl refuses a control character (IllegalCharacterError): whatever the
                # database holds, the workbook is written.
                value = clean_text(value)
                cell = plain
                cell.value = value
                if value.startswith(RISKY_STARTS):
                    cell.data_type = "s"  # text as typed: never a formula
            elif index in formats and isinstance(value, Number):
                cell = self._formatted_cell(formats[index])
                cell.value = value
            else:
                cell = plain
                cell.value = value
            cell.row, cell.column = row_index, index + 1
            yield cell
            if plain.has_style:  # a date gave it a date format: the next value gets a fresh cell
                plain = WriteOnlyCell(self.sheet)

    def _formatted_cell(self, number_format: str) -> WriteOnlyCell:
        """The sheet's one cell for values with this number format (openpyxl would otherwise
        look the format up again for every cell)."""
        cell = self._formatted.get(number_format)
        if cell is None:
            cell = self._formatted[number_format] = WriteOnlyCell(self.sheet)
            cell.number_format = number_format
            cell._style = _FixedStyle(cell._style)
        return cell

    def blank(self) -> None:
        self.sheet.append([])

    def widths(self, *widths: float) -> None:
        for index, width in enumerate(widths):
            letter = chr(ord("A") + index) if index < 26 else "A" + chr(ord("A") + index - 26)
            self.sheet.column_dimensions[letter].width = width


def _sheet_title(workbook: Workbook, title: str) -> str:
    cleaned = "".join(" " if c in "[]:*?/\\\n\t" else c for c in clean_text(title))
    cleaned = cleaned.strip() or "Sheet"
    cleaned = cleaned[:SHEET_NAME_LIMIT]
    taken = set(workbook.sheetnames)
    candidate, n = cleaned, 2
    while candidate in taken:
        suffix = f" ({n})"
        candidate, n = cleaned[: SHEET_NAME_LIMIT - len(suffix)] + suffix, n + 1
    return candidate


INDICATOR_COLUMNS = [
    "Strategic goal",
    "Initiative",
    "Code",
    "Indicator",
    "Level",
    "Unit",
    "Direction",
    "Baseline",
    "Target",
    "Latest approved value",
    "Latest period",
    "In the periods chosen",
    "Plan to date",
    "% achieved",
    "Rating",
    "Corrected after close",
]
_INDICATOR_FORMATS = {7: NUMBER, 8: NUMBER, 9: NUMBER, 11: NUMBER, 12: NUMBER, 13: PERCENT}


def summary_workbook(summary: Summary) -> bytes:
    """The summary as .xlsx: an 'About' sheet, one sheet per focus area, 'Initiatives',
    'Participants', 'Completeness' and 'Narratives'; header rows frozen."""
    workbook = Workbook(write_only=True)
    _about_sheet(workbook, summary)
    for focus_area in summary.focus_areas:
        _focus_area_sheet(workbook, summary, focus_area)
    _initiatives_sheet(workbook, summary)
    _participants_sheet(workbook, summary)
    _completeness_sheet(workbook, summary)
    _narratives_sheet(workbook, summary)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _about_sheet(workbook: Workbook, summary: Summary) -> None:
    sheet = _Sheet(workbook, "About")
    sheet.widths(28, 90)
    rows = [
        ("Work plan", summary.plan_title),
        ("Periods chosen", summary.range_label),
        ("Plan to date", summary.to_date_label),
        ("Member state", summary.member_state_name or "Every member state"),
        ("Generated", summary.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Frozen", summary.frozen_at.strftime("%Y-%m-%d %H:%M UTC") if summary.frozen_at else ""),
        ("Note", "Only approved values count."),
        *(("Notice", notice) for notice in summary.notices),
    ]
    if summary.own_state_only:
        rows.append(("Confidentiality", "Your own state's rows and plan-wide totals only."))
    sheet.header(["What", "Value"], freeze=True)
    for row in rows:
        sheet.row(row)


def _indicator_values(line: IndicatorLine, goal_title: str) -> list[Any]:
    return [
        goal_title,
        line.initiative_code or "",
        line.code,
        line.title,
        _label(line.level),
        _label(line.unit),
        _label(line.direction),
        line.baseline,
        line.target,
        line.latest_text if line.unit == "text" else line.latest_value,
        line.latest_period or "",
        line.range_value,
        line.to_date_value,
        line.percent / 100 if line.percent is not None else None,
        _rating(line.rating) if line.rating or line.target is not None else "Not rated",
        ", ".join(line.corrected_in),
    ]


def _focus_area_sheet(workbook: Workbook, summary: Summary, focus_area: FocusAreaSummary) -> None:
    sheet = _Sheet(workbook, f"{focus_area.number} {focus_area.title}")
    periods = summary.to_date_periods
    state_column = [f"{summary.member_state_name} value"] if summary.member_state_name else []
    sheet.header([*INDICATOR_COLUMNS, *state_column, *periods], freeze=True)
    trend_formats = {
        len(INDICATOR_COLUMNS) + len(state_column) + i: NUMBER for i in range(len(periods) + 1)
    }
    formats = {**_INDICATOR_FORMATS, len(INDICATOR_COLUMNS): NUMBER, **trend_formats}
    sheet.widths(24, 10, 10, 50, 9, 11, 10, 10, 10, 14, 10, 12, 12, 11, 11, 14)
    for goal in focus_area.goals:
        for line in goal.indicators:
            own = [line.state_value] if state_column else []
            trend = [value for _code, value in line.trend]
            sheet.row([*_indicator_values(line, goal.title), *own, *trend], formats)
    sheet.blank()
    sheet.row(["Strategic goal", "Activities (chosen periods)", "Participants", "Female", "Male"])
    for goal in focus_area.goals:
        a = goal.activities
        counts = [a.range_count, a.range_participants, a.range_female, a.range_male]
        sheet.row([goal.title, *counts], {1: COUNT, 2: COUNT, 3: COUNT, 4: COUNT})


def _initiatives_sheet(workbook: Workbook, summary: Summary) -> None:
    sheet = _Sheet(workbook, "Initiatives")
    sheet.header(["Focus area", "Code", "Initiative", "Status", "RAG rating", "Note"], freeze=True)
    sheet.widths(10, 8, 60, 14, 12, 60)
    for focus_area in summary.focus_areas:
        for line in focus_area.initiatives:
            status, rag = _label(line.status), _label(line.rag, "Not rated")
            sheet.row([focus_area.number, line.code, line.title, status, rag, line.rag_note])


def _participants_sheet(workbook: Workbook, summary: Summary) -> None:
    sheet = _Sheet(workbook, "Participants")
    columns = ["Member state", "Activities", "Female", "Male", "Sex not given", "Total"]
    sheet.header(columns, freeze=True)
    sheet.widths(36, 11, 10, 10, 13, 10)
    formats = dict.fromkeys(range(1, 6), COUNT)
    for row in summary.participants_by_state:
        counts = [row.activities, row.female, row.male, row.unspecified, row.total]
        sheet.row([row.name, *counts], formats)
    t = summary.participant_totals
    sheet.row(
        [
            "All member states (plan-wide)",
            t.activities,
            t.female,
            t.male,
            t.sex_not_recorded,
            t.participants,
        ],
        formats,
    )


def _completeness_sheet(workbook: Workbook, summary: Summary) -> None:
    sheet = _Sheet(workbook, "Completeness")
    periods = [p.code for p in summary.completeness.periods]
    sheet.header(["Member state", *periods], freeze=True)
    sheet.widths(36, *([16] * len(periods)))
    for row in summary.completeness.rows:
        sheet.row([row.name, *(cell.label for cell in row.cells)])
    sheet.blank()
    sheet.row(["Reporting rate", *(_rate(r.received_percent) for r in summary.completeness.rates)])
    sheet.row(["On time", *(_rate(r.on_time_percent) for r in summary.completeness.rates)])


def _rate(percent: float | None) -> str:
    return "" if percent is None else f"{percent:.0f}%"


def _narratives_sheet(workbook: Workbook, summary: Summary) -> None:
    sheet = _Sheet(workbook, "Narratives")
    sheet.header(
        ["Period", "Indicator", "Member state", "Narrative", "Evidence", "Corrected"], freeze=True
    )
    sheet.widths(9, 10, 24, 90, 40, 10)
    for n in summary.narratives:
        corrected = "yes" if n.corrected else ""
        row = [n.period_code, n.indicator_code, n.member_state_name, n.text, n.evidence_url]
        sheet.row([*row, corrected])


# --- CSV ------------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "section",
    "focus_area",
    "strategic_goal",
    "code",
    "title",
    "member_state",
    "period",
    "measure",
    "value",
]


def summary_csv(summary: Summary) -> str:
    """The summary as one long CSV table: one row per figure (tidy, for pivot tables)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(summary):
        writer.writerow([csv_safe(value) for value in row])
    return buffer.getvalue()


def _csv_rows(summary: Summary) -> Iterator[list[Any]]:
    for focus_area in summary.focus_areas:
        fa = f"{focus_area.number}. {focus_area.title}"
        for goal in focus_area.goals:
            for i in goal.initiatives:
                yield ["initiative", fa, goal.title, i.code, i.title, "", "", "status", i.status]
                yield ["initiative", fa, goal.title, i.code, i.title, "", "", "rag", i.rag or ""]
            for line in goal.indicators:
                yield from _csv_indicator(summary, fa, goal.title, line)
            a = goal.activities
            for measure, value in (
                ("activities", a.range_count),
                ("participants", a.range_participants),
                ("female", a.range_female),
                ("male", a.range_male),
            ):
                yield [
                    "activities",
                    fa,
                    goal.title,
                    "",
                    "",
                    "",
                    summary.range_label,
                    measure,
                    value,
                ]
    for row in summary.participants_by_state:
        for measure in ("activities", "female", "male", "unspecified", "total"):
            value = getattr(row, measure)
            yield ["participants", "", "", row.code, "", row.name, "", measure, value]
    t = summary.participant_totals
    for measure in ("activities", "participants", "female", "male", "member_states"):
        yield ["participant_totals", "", "", "", "", "", "", measure, getattr(t, measure)]
    for row in summary.completeness.rows:
        for cell in row.cells:
            yield [
                "completeness",
                "",
                "",
                row.code,
                "",
                row.name,
                cell.period_code,
                "reporting",
                cell.label,
            ]
    for n in summary.narratives:
        yield [
            "narrative",
            "",
            "",
            n.indicator_code,
            n.indicator_title,
            n.member_state_name,
            n.period_code,
            "narrative",
            n.text,
        ]


def _csv_indicator(summary: Summary, fa: str, goal: str, line: IndicatorLine) -> Iterator[list]:
    head = ["indicator", fa, goal, line.code, line.title]
    figures = {
        "baseline": line.baseline,
        "target": line.target,
        "latest_value": line.latest_text if line.unit == "text" else line.latest_value,
        "range_value": line.range_value,
        "to_date_value": line.to_date_value,
        "percent_achieved": _round(line.percent),
        "rating": line.rating or "",
        "corrected_after_close": ";".join(line.corrected_in),
    }
    for measure, value in figures.items():
        yield [*head, "", summary.range_label if measure == "range_value" else "", measure, value]
    if summary.member_state_name and line.unit != "text":
        yield [*head, summary.member_state_name, "", "state_value", line.state_value]
    for period_code, value in line.trend:
        yield [*head, "", period_code, "approved_value", value]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
