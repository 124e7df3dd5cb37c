"""Hostile and broken files: each is refused plainly, in bounded memory, with nothing written."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook
from sqlmodel import select

from app.imports.models import Upload
from app.imports.template import VALUES_SHEET
from app.plan.models import ReportingPeriod
from app.progress.models import IndicatorValue
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in
from tests.hostile_files import HOSTILE_CASES, SHEET, change_sheet, zip_bomb
from tests.workbooks import download_template, fill, rezip, valid_answers


@pytest.fixture
def good(app, focal) -> bytes:
    with open_session(app) as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
        ).one()
    template = download_template(focal, period.id)
    return fill(template, valid_answers(template))


def _refusal(app, client, data: bytes, name: str = "report.xlsx") -> str:
    response = client.post(
        "/uploads",
        content_type="multipart/form-data",
        data={"csrf_token": csrf_of(client), "workbook": (io.BytesIO(data), name)},
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    with open_session(app) as session:
        upload = session.exec(select(Upload).order_by(Upload.id.desc())).first()  # type: ignore[attr-defined]
        assert session.exec(select(IndicatorValue)).all() == []
    assert upload.outcome == "refused"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    return " | ".join(p["message"] for p in upload.problems)


@pytest.mark.parametrize(("label", "make", "expected"), HOSTILE_CASES)
def test_a_hostile_file_is_refused_plainly(app, focal, good, label, make, expected) -> None:
    assert expected in _refusal(app, focal, make(good)), label


def test_a_bit_flipped_zip_is_refused(app, focal, good) -> None:
    archive = zipfile.ZipFile(io.BytesIO(good))
    info = archive.getinfo(SHEET)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    flipped = bytearray(good)
    flipped[start] ^= 0xFF
    message = _refusal(app, focal, bytes(flipped))
    assert "damaged" in message or "not well-formed" in message or "cannot be unpacked" in message


def test_a_wrong_extension_is_refused(app, focal, good) -> None:
    assert "Only .xlsx workbooks are accepted" in _refusal(app, focal, good, name="report.csv")


def test_enormous_text_and_control_characters_are_refused(app, focal) -> None:
    with open_session(app) as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
        ).one()
    template = download_template(focal, period.id)
    answers = valid_answers(template)
    answers["3.1.c"]["Narrative"] = "x" * 30_000
    answers["2.1.b"]["Narrative"] = "bell CONTROL-HERE"
    # openpyxl will not write a control character, but Excel encodes one as _x0007_.
    data = rezip(fill(template, answers), lambda n, c: c.replace(b"CONTROL-HERE", b"_x0007_"))
    message = _refusal(app, focal, data)
    assert "30,000 characters; the limit is 4,000" in message
    assert "contains control characters" in message


def test_merged_and_hidden_rows_are_refused(app, focal) -> None:
    with open_session(app) as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
        ).one()
    template = download_template(focal, period.id)

    def merge_and_hide(workbook) -> None:
        sheet = workbook[VALUES_SHEET]
        sheet.merge_cells("L4:L5")
        sheet.row_dimensions[6].hidden = True

    message = _refusal(app, focal, fill(template, valid_answers(template), merge_and_hide))
    assert "merged cells cannot be read" in message
    assert "this row is hidden" in message


def test_reordered_sheets_are_fine(app, focal, good) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(good))
    workbook.move_sheet("Instructions", offset=-1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = focal.post(
        "/uploads",
        content_type="multipart/form-data",
        data={"csrf_token": csrf_of(focal), "workbook": (io.BytesIO(buffer.getvalue()), "r.xlsx")},
    )
    assert response.status_code == 200
    assert "nothing has been saved yet" in response.get_data(as_text=True)


def test_a_workbook_not_made_from_the_template_is_refused(app, focal) -> None:
    workbook = Workbook()
    workbook.active.title = VALUES_SHEET
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert "not made from a template of this system" in _refusal(app, focal, buffer.getvalue())


def test_one_byte_over_the_limit_gets_a_413_the_page_shows(app, people) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    client = sign_in(app.test_client(), people.focal_point)
    response = client.post(
        "/uploads",
        headers={"HX-Request": "true"},
        content_type="multipart/form-data",
        data={"csrf_token": csrf_of(client), "workbook": (io.BytesIO(b"x" * 50_001), "big.xlsx")},
    )
    assert response.status_code == 413
    assert "larger than the upload limit" in response.get_data(as_text=True)


def test_memory_stays_bounded_for_a_zip_bomb_and_a_forged_dimension(app, good) -> None:
    from app.imports.safety import FileRefused, Limits, inspect_xlsx

    forged = rezip(
        good,
        change_sheet(
            lambda c: c.replace(
                b"</sheetData>",
                b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>',
            )
        ),
    )
    for data in (zip_bomb(), forged):
        tracemalloc.start()
        with pytest.raises(FileRefused):
            inspect_xlsx(data, Limits())
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 80 * 1024 * 1024


def _plain_workbook(rows: int = 3) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = VALUES_SHEET
    for row in range(1, rows + 1):
        sheet.append([f"code {row}", row, "x" * 40])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with_rows(data: bytes, rows: bytes, namespace: bytes = b"") -> bytes:
    def change(name: str, content: bytes) -> bytes:
        if name != SHEET:
            return content
        content = content.replace(b"<worksheet ", b"<worksheet " + namespace, 1)
        return content.replace(b"</sheetData>", rows + b"</sheetData>")

    return rezip(data, change)


_X = b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '


@pytest.mark.parametrize(
    ("label", "rows", "namespace", "expected"),
    [
        (
            "attributes in another order",
            b'<row r="9"><c s="0" r="A1000000"><v>1</v></c></row>',
            b"",
            "has cells in 1,000,000 rows",
        ),
        (
            "a namespace prefix",
            b'<x:row r="9"><x:c r="XFD9"><x:v>1</x:v></x:c></x:row>',
            _X,
            "has cells in 16384 columns",
        ),
        (
            "a far row whose cells have no reference",
            b'<row r="1000000"><c><v>1</v></c></row>',
            b"",
            "without a cell reference",
        ),
        (
            "a row of cells without references",
            b'<row r="9">' + b"<c><v>1</v></c>" * 40 + b"</row>",
            b"",
            "without a cell reference",
        ),
        ("a far row alone", b'<row r="1048576"></row>', b"", "has cells in 1,048,576 rows"),
        (
            "a second r attribute (calamine takes the last)",
            b'<row r="9"><c r="A9" t="n" r="XFD9"><v>1</v></c></row>',
            b"",
            "has cells in 16384 columns",
        ),
        (
            "a second r attribute straight after a quote",
            b'<row r="9"><c r="A9"r="A1000000"><v>1</v></c></row>',
            b"",
            "has cells in 1,000,000 rows",
        ),
        (
            "a decoy r inside another attribute's value",
            b'<row r="9"><c s=" r=\'A9\'" r="XFD9"><v>1</v></c></row>',
            b"",
            "has cells in 16384 columns",
        ),
        (
            "a '>' inside an attribute's value",
            b'<row r="9"><c s=">" r="XFD9"><v>1</v></c></row>',
            b"",
            "cannot be read",
        ),
        (
            "single quotes and spaces",
            b"<row r='9'><c r = 'AZ9'><v>1</v></c></row>",
            b"",
            "has cells in 52 columns",
        ),
    ],
)
def test_cells_beyond_the_limits_are_found_in_any_form(label, rows, namespace, expected) -> None:
    """python-calamine places such cells (it reads prefixes, any attribute order, and cells
    without references by counting), so the scan must see them however they are written."""
    from app.imports.safety import FileRefused, Limits, inspect_xlsx

    with pytest.raises(FileRefused) as refused:
        inspect_xlsx(_with_rows(_plain_workbook(), rows, namespace), Limits())
    assert expected in str(refused.value), label


def test_a_large_sheet_is_scanned_in_pieces_without_losing_a_cell() -> None:
    """Formulas in every row of a sheet several pieces long: each is found, none twice."""
    from app.imports import safety

    rows = b"".join(
        b'<row r="%d"><c r="A%d"><f>1+1</f>%s</c>' % (n, n, b"<v>2</v>" if n % 2 else b"")
        + b'<c r="B%d" t="inlineStr"><is><t>%s</t></is></c></row>' % (n, b"y" * 200)
        for n in range(10, 20_000)
    )
    data = _with_rows(_plain_workbook(), rows)
    facts = safety.inspect_xlsx(data, safety.Limits())
    formulas = facts.sheets[VALUES_SHEET].formula_cells
    assert len(formulas) == 20_000 - 10
    assert formulas["A11"] is True and formulas["A12"] is False
    archive = zipfile.ZipFile(io.BytesIO(data))
    pieces = list(safety._pieces(archive, SHEET, safety.Limits()))
    assert len(pieces) > 3 and b"".join(pieces) == archive.read(SHEET)
    assert all(p.startswith(b"<row ") for p in pieces[1:])


def test_a_dtd_anywhere_in_any_part_is_refused() -> None:
    from app.imports.safety import FileRefused, Limits, inspect_xlsx

    late = _with_rows(_plain_workbook(), b'<!DOCTYPE x [<!ENTITY e "e">]>')
    strings = rezip(
        _plain_workbook(),
        lambda name, content: content,
        {"xl/sharedStrings.xml": b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY e "e">]><sst/>'},
    )
    for data in (late, strings):
        with pytest.raises(FileRefused) as refused:
            inspect_xlsx(data, Limits())
        assert "declares XML entities" in str(refused.value)


def test_the_limits_come_from_the_configuration() -> None:
    from app.imports.safety import FileRefused, Limits, inspect_xlsx

    declared = _plain_workbook(rows=40)
    undeclared = rezip(  # no dimension: the cells themselves are counted
        declared, change_sheet(lambda c: re.sub(rb"<dimension [^>]*/>", b"", c))
    )
    for data, claim in ((declared, "claims to span"), (undeclared, "has cells in")):
        inspect_xlsx(data, Limits(max_rows=30, max_columns=3))
        with pytest.raises(FileRefused, match=f"{claim} 40 rows; the limit is 20"):
            inspect_xlsx(data, Limits(max_rows=20, max_columns=3))
        with pytest.raises(FileRefused, match=f"{claim} 3 columns; the limit is 2"):
            inspect_xlsx(data, Limits(max_rows=30, max_columns=2))


def test_text_that_looks_like_a_reference_is_read_not_refused() -> None:
    from app.imports.safety import Limits, inspect_xlsx

    workbook = Workbook()
    workbook.active.title = VALUES_SHEET
    workbook.active.append(['see r="XFD1048576" and r = 5', "<c r='ZZZ9'>", "\tr=1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    inspect_xlsx(buffer.getvalue(), Limits())


def test_a_large_sheet_in_an_unusual_form_is_refused_rather_than_checked_for_long(
    monkeypatch,
) -> None:
    from app.imports import safety

    rows = b"".join(
        b'<x:row r="%d"><x:c r="A%d"><x:v>1</x:v></x:c></x:row>' % (n, n) for n in range(9, 200)
    )
    data = _with_rows(_plain_workbook(), rows, _X)
    safety.inspect_xlsx(data, safety.Limits())  # prefixed tags: checked cell by cell, fine
    monkeypatch.setattr(safety, "_CELL_BY_CELL_BUDGET", 1000)
    with pytest.raises(safety.FileRefused, match="unusual form that is too large"):
        safety.inspect_xlsx(data, safety.Limits())
