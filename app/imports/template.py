"""The workbook a focal point fills in: made for one state and one reporting period.

Only the cells a person should type into are unlocked; the sheet is protected so codes and
titles are not changed by accident; a hidden, protected metadata sheet says which template
version, state and period the workbook was made for, so an upload can be matched to it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from app.plan.models import LABELS, Indicator, MemberState, ReportingPeriod

TEMPLATE_VERSION = "1"
VALUES_SHEET = "Values"
INSTRUCTIONS_SHEET = "Instructions"
META_SHEET = "_template"
HEADER_ROW = 3
COLUMNS = (
    "Code",
    "Indicator",
    "Unit",
    "Target",
    "Last approved value",
    "Value",
    "Numerator",
    "Denominator",
    "Female",
    "Male",
    "As of date",
    "Narrative",
    "Evidence link",
)
PROTECTION_PASSWORD = "rso-template"  # prevents accidental edits; it is not a secret
_EDITABLE_FILL = PatternFill("solid", fgColor="FFF7D6")
_LOCKED_FILL = PatternFill("solid", fgColor="EEF1F5")
_HEADER_FILL = PatternFill("solid", fgColor="0B3D63")


@dataclass
class TemplateRow:
    indicator: Indicator
    last_approved: float | str | None


def editable_columns(indicator: Indicator) -> set[str]:
    """Which value columns apply to an indicator of this unit."""
    common = {"As of date", "Narrative", "Evidence link"}
    if indicator.unit == "percentage":
        return common | {"Numerator", "Denominator"}
    if indicator.unit == "number" and indicator.by_sex:
        return common | {"Value", "Female", "Male"}
    return common | {"Value"}


def _safe_text(value: str) -> str:
    """Text from the database, never a formula: openpyxl writes any '=...' string as one."""
    if value and value[0] in "=+-@\t\r\n":
        return "'" + value
    return value


def build_template(
    state: MemberState, period: ReportingPeriod, rows: list[TemplateRow], *, generated_at: datetime
) -> bytes:
    workbook = Workbook()
    values = workbook.active
    values.title = VALUES_SHEET
    _fill_values_sheet(values, state, period, rows)
    _instructions(workbook.create_sheet(INSTRUCTIONS_SHEET), state, period)
    meta = workbook.create_sheet(META_SHEET)
    for index, (key, value) in enumerate(
        [
            ("template_version", TEMPLATE_VERSION),
            ("member_state", state.code),
            ("reporting_period", period.code),
            ("generated_at", generated_at.isoformat()),
        ],
        start=1,
    ):
        meta.cell(index, 1, key)
        meta.cell(index, 2, value)
    meta.sheet_state = "hidden"
    meta.protection.set_password(PROTECTION_PASSWORD)
    meta.protection.sheet = True
    workbook.active = 0
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _fill_values_sheet(
    sheet: Worksheet, state: MemberState, period: ReportingPeriod, rows: list[TemplateRow]
) -> None:
    sheet["A1"] = _safe_text(f"Report for {state.name}, {period.code}")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = (
        f"Due {period.due_date:%d %B %Y}. Fill in the yellow cells only; "
        "see the Instructions sheet."
    )
    for col, title in enumerate(COLUMNS, start=1):
        cell = sheet.cell(HEADER_ROW, col, title)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    yes_no = DataValidation(
        type="list",
        formula1='"yes,no"',
        allow_blank=True,
        error="Choose yes or no",
        errorTitle="Yes or no",
    )
    sheet.add_data_validation(yes_no)
    for offset, row in enumerate(rows, start=1):
        r = HEADER_ROW + offset
        indicator = row.indicator
        fixed = [
            indicator.code,
            indicator.title,
            LABELS.get(indicator.unit, indicator.unit),
            indicator.target_value,
            row.last_approved,
        ]
        for col, value in enumerate(fixed, start=1):
            cell = sheet.cell(r, col, _safe_text(value) if isinstance(value, str) else value)
            cell.fill = _LOCKED_FILL
        editable = editable_columns(indicator)
        for col, title in enumerate(COLUMNS[5:], start=6):
            cell = sheet.cell(r, col)
            if title in editable:
                cell.protection = Protection(locked=False)
                cell.fill = _EDITABLE_FILL
            else:
                cell.fill = _LOCKED_FILL
            if title == "As of date":
                cell.number_format = "yyyy-mm-dd"
        if indicator.unit == "yes_no":
            yes_no.add(sheet.cell(r, 6))
            sheet.cell(r, 6).comment = Comment("Choose yes or no", "RSO")
    widths = (10, 48, 12, 10, 12, 12, 12, 12, 10, 10, 12, 48, 32)
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[chr(64 + col)].width = width
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 3)
    sheet.protection.set_password(PROTECTION_PASSWORD)
    sheet.protection.sheet = True
    sheet.protection.formatRows = False  # people may resize rows to read long narratives
    sheet.protection.formatColumns = False


def _instructions(sheet: Worksheet, state: MemberState, period: ReportingPeriod) -> None:
    lines = [
        f"How to report for {state.name}, {period.code} ({period.start_date:%d %b %Y} to "
        f"{period.end_date:%d %b %Y})",
        "",
        "1. Fill in the yellow cells of the 'Values' sheet, one row per indicator.",
        "2. Numbers: type digits only (12 or 3.5). Percentages: give the numerator and the "
        "denominator; the percentage is computed for you.",
        "3. Where Female and Male apply, they are part of the Value: never more than it, and less "
        "only where the sex of some is not known.",
        "4. Yes/no indicators: choose yes or no from the list.",
        "5. 'As of date' is optional; if you give it, it must fall within the period.",
        "6. Keep the sheet names, the column headings and the codes as they are.",
        "7. Save as 'Excel Workbook (.xlsx)' and upload it on the Uploads page. You will see "
        "what will change before anything is saved.",
    ]
    for row, text in enumerate(lines, start=1):
        sheet.cell(row, 1, text)
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.column_dimensions["A"].width = 110
