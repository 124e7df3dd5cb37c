"""Reads a member state's workbook (after ``safety.inspect_xlsx`` has vouched for it).

python-calamine reads the cells (fast, and it never evaluates or expands anything); the
extent it may allocate is bounded by the safety check's limits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook

from app.imports.safety import FileRefused, Limits, WorkbookFacts
from app.imports.template import COLUMNS, HEADER_ROW, META_SHEET, VALUES_SHEET


@dataclass(frozen=True)
class Problem:
    sheet: str
    cell: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"sheet": self.sheet, "cell": self.cell, "message": self.message}


@dataclass
class ParsedRow:
    number: int  # row number as Excel shows it
    cells: dict[str, Any]  # column heading -> value as read


@dataclass
class ParsedWorkbook:
    metadata: dict[str, str] = field(default_factory=dict)
    rows: list[ParsedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def column_letter(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_workbook(data: bytes, facts: WorkbookFacts, limits: Limits) -> ParsedWorkbook:
    parsed = ParsedWorkbook()
    if VALUES_SHEET not in facts.sheets:
        names = ", ".join(f"'{n}'" for n in facts.sheets if n != META_SHEET)
        parsed.problems.append(
            Problem(
                "",
                "",
                f"There is no sheet named '{VALUES_SHEET}' "
                f"(the workbook has {names}). Keep the template's "
                "sheet names.",
            )
        )
    if META_SHEET not in facts.sheets:
        parsed.problems.append(
            Problem(
                "",
                "",
                "This workbook was not made from a template of "
                "this system (its template information is "
                "missing). Download the template and fill that.",
            )
        )
    if parsed.problems:
        return parsed
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        meta = workbook.get_sheet_by_name(META_SHEET).to_python(skip_empty_area=False, nrows=50)
        sheet = workbook.get_sheet_by_name(VALUES_SHEET)
        grid = sheet.to_python(skip_empty_area=False, nrows=limits.max_rows + HEADER_ROW)
        merged = sheet.merged_cell_ranges or []
    except CalamineError as exc:
        raise FileRefused("The workbook could not be read: it is damaged.") from exc
    parsed.metadata = {str(r[0]).strip(): str(r[1]).strip() for r in meta if len(r) >= 2 and r[0]}
    _check_header(grid, parsed)
    _check_layout(facts, merged, parsed)
    if parsed.problems:
        return parsed
    formula_cells = facts.sheets[VALUES_SHEET].formula_cells
    for index in range(HEADER_ROW, len(grid)):
        raw = grid[index][: len(COLUMNS)]
        number = index + 1
        cells = {}
        for col, heading in enumerate(COLUMNS):
            value = raw[col] if col < len(raw) else ""
            ref = f"{column_letter(col + 1)}{number}"
            if ref in formula_cells and not formula_cells[ref]:
                parsed.problems.append(
                    Problem(
                        VALUES_SHEET,
                        ref,
                        (
                            "this cell holds a formula with no calculated value; open the file in "
                            "Excel, let it calculate, and save it again (or type the value)"
                        ),
                    )
                )
                value = ""
            cells[heading] = value
        extra = [v for v in grid[index][len(COLUMNS) :] if v not in ("", None)]
        if extra:
            parsed.problems.append(
                Problem(
                    VALUES_SHEET,
                    f"{column_letter(len(COLUMNS) + 1)}{number}",
                    "there is data to the right of the template's columns; move it or delete it",
                )
            )
        if any(v not in ("", None) for v in cells.values()):
            parsed.rows.append(ParsedRow(number, cells))
    return parsed


def _check_header(grid: list[list[Any]], parsed: ParsedWorkbook) -> None:
    header = grid[HEADER_ROW - 1] if len(grid) >= HEADER_ROW else []
    for col, expected in enumerate(COLUMNS):
        found = str(header[col]).strip() if col < len(header) else ""
        if found != expected:
            ref = f"{column_letter(col + 1)}{HEADER_ROW}"
            what = f"found '{found}'" if found else "it is empty"
            parsed.problems.append(
                Problem(
                    VALUES_SHEET,
                    ref,
                    (
                        f"the column heading should be '{expected}' ({what}); keep the template's "
                        "columns in their order"
                    ),
                )
            )


def _check_layout(facts: WorkbookFacts, merged: list, parsed: ParsedWorkbook) -> None:
    for (first_row, first_col), (last_row, last_col) in merged:
        if last_row + 1 > HEADER_ROW:
            ref = (
                f"{column_letter(first_col + 1)}{first_row + 1}:"
                f"{column_letter(last_col + 1)}{last_row + 1}"
            )
            parsed.problems.append(
                Problem(
                    VALUES_SHEET,
                    ref,
                    "merged cells cannot be read one value per cell; unmerge them",
                )
            )
    for row in facts.sheets[VALUES_SHEET].hidden_rows:
        if row > HEADER_ROW:
            parsed.problems.append(
                Problem(
                    VALUES_SHEET,
                    f"A{row}",
                    (
                        "this row is hidden; unhide it (or delete it) so that what is sent is what "
                        "you can see"
                    ),
                )
            )
