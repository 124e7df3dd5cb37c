"""Reads a member state's workbook (after ``safety.inspect_xlsx`` has vouched for it).

python-calamine reads the cells (fast, and it never evaluates or expands anything); the
extent it may allocate is bounded by the safety check's limits. The rows below the header are
handed on one at a time (``ParsedWorkbook.rows``), each grid row released once it has been
checked, so a large workbook is never held twice.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook

from app.imports.safety import FileRefused, Limits, WorkbookFacts, column_letters, column_number
from app.imports.template import COLUMNS, HEADER_ROW, META_SHEET, VALUES_SHEET

WIDTH = len(COLUMNS)


@dataclass(frozen=True)
class Problem:
    sheet: str
    cell: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"sheet": self.sheet, "cell": self.cell, "message": self.message}


# A row of the Values sheet: its number as Excel shows it, and the template's columns' values
# as read ("" for an empty cell).
ParsedRow = tuple[int, list[Any]]


@dataclass
class ParsedWorkbook:
    metadata: dict[str, str] = field(default_factory=dict)
    # The rows below the header that hold anything, read lazily: a problem found while reading
    # one (a formula with no value, data beyond the columns) is added to ``problems``.
    rows: Iterator[ParsedRow] = field(default_factory=lambda: iter(()))
    problems: list[Problem] = field(default_factory=list)


def column_letter(number: int) -> str:
    return column_letters(number)


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
        del sheet, workbook  # the Rust-side copy of the cells goes now
    except CalamineError as exc:
        raise FileRefused("The workbook could not be read: it is damaged.") from exc
    parsed.metadata = {str(r[0]).strip(): str(r[1]).strip() for r in meta if len(r) >= 2 and r[0]}
    _check_header(grid, parsed)
    _check_layout(facts, merged, parsed)
    if parsed.problems:
        return parsed
    parsed.rows = _rows(grid, _formulas_without_value(facts), parsed.problems)
    return parsed


def _formulas_without_value(facts: WorkbookFacts) -> dict[int, list[int]]:
    """Row number -> the template columns (0-based) holding a formula with no cached value."""
    missing: dict[int, list[int]] = {}
    for ref, has_value in facts.sheets[VALUES_SHEET].formula_cells.items():
        if not has_value:
            letters = ref.rstrip("0123456789")
            column = column_number(letters) - 1
            if column < WIDTH:
                missing.setdefault(int(ref[len(letters) :]), []).append(column)
    return missing


def _rows(
    grid: list[list[Any]], no_value: dict[int, list[int]], problems: list[Problem]
) -> Iterator[ParsedRow]:
    """The rows below the header that hold anything; each grid row is dropped once read."""
    beyond = f"{column_letter(WIDTH + 1)}"
    for index in range(HEADER_ROW, len(grid)):
        raw = grid[index]
        grid[index] = None  # type: ignore[call-overload]  # free it as we go
        number = index + 1
        if len(raw) > WIDTH:
            if any(v != "" and v is not None for v in raw[WIDTH:]):
                problems.append(
                    Problem(
                        VALUES_SHEET,
                        f"{beyond}{number}",
                        "there is data to the right of the template's columns; move it or "
                        "delete it",
                    )
                )
            cells = raw[:WIDTH]
        elif len(raw) < WIDTH:
            cells = raw + [""] * (WIDTH - len(raw))
        else:
            cells = raw
        if number in no_value:
            for column in no_value[number]:
                problems.append(
                    Problem(
                        VALUES_SHEET,
                        f"{column_letter(column + 1)}{number}",
                        (
                            "this cell holds a formula with no calculated value; open the file "
                            "in Excel, let it calculate, and save it again (or type the value)"
                        ),
                    )
                )
            continue  # its other problems can wait until the formula has a value
        if cells.count("") + cells.count(None) < WIDTH:
            yield number, cells


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
