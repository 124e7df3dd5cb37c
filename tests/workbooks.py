"""Builds real .xlsx files for the upload tests: filled templates and hostile files."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from flask.testing import FlaskClient
from openpyxl import load_workbook
from openpyxl.workbook import Workbook

from app.imports.template import HEADER_ROW, VALUES_SHEET

COLUMN = {
    "Code": "A",
    "Value": "F",
    "Numerator": "G",
    "Denominator": "H",
    "Female": "I",
    "Male": "J",
    "As of date": "K",
    "Narrative": "L",
    "Evidence link": "M",
}


def download_template(client: FlaskClient, period_id: int, state_id: int | None = None) -> bytes:
    query = f"/uploads/template?period_id={period_id}"
    if state_id is not None:
        query += f"&state_id={state_id}"
    response = client.get(query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.data


def rows_by_code(workbook: Workbook) -> dict[str, int]:
    sheet = workbook[VALUES_SHEET]
    return {
        sheet[f"A{r}"].value: r
        for r in range(HEADER_ROW + 1, sheet.max_row + 1)
        if sheet[f"A{r}"].value
    }


def fill(
    template: bytes,
    values: dict[str, dict[str, object]],
    edit: Callable[[Workbook], None] | None = None,
) -> bytes:
    """Type values into a template: {code: {"Value": 3, "Narrative": "..."}}."""
    workbook = load_workbook(io.BytesIO(template))
    rows = rows_by_code(workbook)
    sheet = workbook[VALUES_SHEET]
    for code, cells in values.items():
        for heading, value in cells.items():
            sheet[f"{COLUMN[heading]}{rows[code]}"] = value
    if edit:
        edit(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def valid_answers(template: bytes) -> dict[str, dict[str, object]]:
    """A correct answer for every row of the template, read from its Unit column."""
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook[VALUES_SHEET]
    answers = {}
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        code, unit = sheet[f"A{row}"].value, sheet[f"C{row}"].value
        if not code:
            continue
        if unit == "Percentage":
            answers[code] = {"Numerator": 3, "Denominator": 4}
        elif unit == "Yes / no":
            answers[code] = {"Value": "yes"}
        elif unit == "Text":
            answers[code] = {"Value": "A text answer"}
        elif sheet[f"I{row}"].protection.locked is False:
            answers[code] = {"Value": 10, "Female": 4, "Male": 6}
        else:
            answers[code] = {"Value": 7}
        answers[code]["Narrative"] = f"Reported for {code}"
    return answers


def rezip(
    data: bytes, change: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None
) -> bytes:
    """Rewrite a workbook's zip parts (return None from `change` to drop a part)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info.filename))
            if content is not None:
                target.writestr(info.filename, content)
        for name, content in (extra or {}).items():
            target.writestr(name, content)
    return out.getvalue()
