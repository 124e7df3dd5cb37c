"""Looks inside an uploaded .xlsx before any spreadsheet library parses it.

openpyxl opens the zip with no size limit, trusts a sheet's declared dimension, and loads an
.xlsm with macros; a spreadsheet reader given a lone cell at XFD1048576 may allocate a grid for
it. So the zip's entries, sizes, ratios and XML are checked here first, with hard limits, and
the facts a reader needs (sheets, extent, formula cells, hidden rows) are collected.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException


class FileRefused(ValueError):
    """The file cannot be read at all; the message says why in plain words."""


@dataclass(frozen=True)
class Limits:
    max_rows: int = 50_000
    max_columns: int = 30
    max_uncompressed_bytes: int = 60 * 1024 * 1024
    max_ratio: int = 200
    max_entries: int = 500
    max_cell_chars: int = 4000


@dataclass
class SheetFacts:
    name: str
    state: str  # visible, hidden, veryHidden
    max_row: int = 0
    max_column: int = 0
    formula_cells: dict[str, bool] = field(default_factory=dict)  # ref -> has a cached value
    hidden_rows: list[int] = field(default_factory=list)


@dataclass
class WorkbookFacts:
    sheets: dict[str, SheetFacts]


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br=\"([A-Z]{1,3})(\d+)\"")
_CELL = re.compile(rb"<(?:\w+:)?c\s([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF = re.compile(rb"\br=\"([A-Z]{1,3}\d+)\"")
_HIDDEN_ROW = re.compile(rb"<(?:\w+:)?row\s[^>]*?\bhidden=\"(?:1|true)\"[^>]*>")
_ROW_NUMBER = re.compile(rb"\br=\"(\d+)\"")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_VALUE_TAG = re.compile(rb"<(?:\w+:)?v>")


def column_number(letters: bytes | str) -> int:
    number = 0
    for char in letters.decode() if isinstance(letters, bytes) else letters:
        number = number * 26 + (ord(char) - 64)
    return number


def _sniff(data: bytes) -> str:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old-style Excel .xls file (or another Office 97-2003 file)"
    if data.startswith(b"%PDF"):
        return "a PDF document"
    head = data[:2048]
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file (such as CSV)"
    return "not a spreadsheet"


def inspect_xlsx(data: bytes, limits: Limits) -> WorkbookFacts:
    """Check the zip and its XML; raise ``FileRefused`` or return what a reader needs."""
    if not data:
        raise FileRefused("The file is empty.")
    if not data.startswith(b"PK\x03\x04"):
        raise FileRefused(
            f"This file is {_sniff(data)}, not an Excel workbook (.xlsx). Download the template "
            "again and save it as 'Excel Workbook (.xlsx)'."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRefused(
            "The file is damaged or incomplete: it is not a readable .xlsx. Save it again from "
            "Excel and upload the new copy."
        ) from exc
    with archive:
        _check_entries(entries, limits)
        names = {e.filename for e in entries}
        content_types = _read(archive, "[Content_Types].xml", limits)
        if b"macroEnabled" in content_types or any("vbaProject" in n for n in names):
            raise FileRefused(
                "This workbook contains macros (.xlsm). Macros are not accepted: save it as "
                "'Excel Workbook (.xlsx)' and upload again."
            )
        if "xl/workbook.bin" in names:
            raise FileRefused(
                "This is a binary Excel workbook (.xlsb). Save it as 'Excel Workbook (.xlsx)'."
            )
        if "xl/workbook.xml" not in names:
            raise FileRefused("This zip file is not an Excel workbook (no xl/workbook.xml).")
        sheets = _sheet_parts(archive, limits)
        facts = {}
        for name, (state, part) in sheets.items():
            if part not in names:
                raise FileRefused(f"Sheet '{name}' is missing from the file: it is damaged.")
            facts[name] = _inspect_sheet(name, state, _read(archive, part, limits), limits)
        return WorkbookFacts(facts)


def _check_entries(entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(entries) > limits.max_entries:
        raise FileRefused(
            f"The workbook holds {len(entries)} parts; the limit is "
            f"{limits.max_entries}. It is not a report made from the template."
        )
    total = sum(e.file_size for e in entries)
    if total > limits.max_uncompressed_bytes:
        raise FileRefused(
            f"The workbook unpacks to {total // (1024 * 1024)} MB; the limit is "
            f"{limits.max_uncompressed_bytes // (1024 * 1024)} MB."
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > 1024 * 1024 and ratio > limits.max_ratio:
            raise FileRefused(
                f"Part '{entry.filename}' of the file expands {ratio:.0f} times when unpacked, "
                "which is what a zip bomb does. The file was refused."
            )


def _read(archive: zipfile.ZipFile, name: str, limits: Limits) -> bytes:
    """Read one part, never more than the limit, whatever its header claims."""
    try:
        with archive.open(name) as stream:
            data = stream.read(limits.max_uncompressed_bytes + 1)
    except KeyError as exc:
        raise FileRefused(f"The workbook has no '{name}' part: it is damaged.") from exc
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        zlib.error,
    ) as exc:  # CRC, truncation
        raise FileRefused("The file is damaged (a part of it cannot be unpacked).") from exc
    if len(data) > limits.max_uncompressed_bytes:
        raise FileRefused("A part of the workbook unpacks beyond the size limit: refused.")
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise FileRefused(
            f"Part '{name}' declares XML entities, which a real workbook never does. Refused."
        )
    return data


def _parse(data: bytes, name: str):
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, SafeET.ParseError, ValueError) as exc:
        raise FileRefused(f"Part '{name}' of the workbook is not well-formed XML.") from exc


def _sheet_parts(archive: zipfile.ZipFile, limits: Limits) -> dict[str, tuple[str, str]]:
    """Sheet name -> (visibility, path of its XML part)."""
    workbook = _parse(_read(archive, "xl/workbook.xml", limits), "xl/workbook.xml")
    rels = _parse(_read(archive, "xl/_rels/workbook.xml.rels", limits), "workbook rels")
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_NS_PKG_REL}Relationship")}
    sheets = {}
    for sheet in workbook.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_NS_REL}id"), "")
        path = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join("xl", target))
        )
        sheets[sheet.get("name", "")] = (sheet.get("state", "visible"), path)
    if not sheets:
        raise FileRefused("The workbook has no sheets.")
    return sheets


def _inspect_sheet(name: str, state: str, xml: bytes, limits: Limits) -> SheetFacts:
    facts = SheetFacts(name=name, state=state)
    dimension = _DIMENSION.search(xml, 0, 4096)
    if dimension:
        last_col, last_row = (
            dimension.group(3) or dimension.group(1),
            dimension.group(4) or dimension.group(2),
        )
        _within_limits(name, int(last_row), column_number(last_col), limits, declared=True)
    for match in _CELL_REF.finditer(xml):
        row, col = int(match.group(2)), column_number(match.group(1))
        if row > facts.max_row:
            facts.max_row = row
        if col > facts.max_column:
            facts.max_column = col
    _within_limits(name, facts.max_row, facts.max_column, limits, declared=False)
    if _FORMULA_TAG.search(xml):
        for cell in _CELL.finditer(xml):
            inner = cell.group(2) or b""
            if _FORMULA_TAG.search(inner):
                ref = _REF.search(cell.group(1))
                if ref:
                    facts.formula_cells[ref.group(1).decode()] = bool(_VALUE_TAG.search(inner))
    for row in _HIDDEN_ROW.finditer(xml):
        number = _ROW_NUMBER.search(row.group(0))
        if number:
            facts.hidden_rows.append(int(number.group(1)))
    return facts


def _within_limits(name: str, rows: int, columns: int, limits: Limits, *, declared: bool) -> None:
    claim = "claims to span" if declared else "has cells in"
    if rows > limits.max_rows + 10:
        raise FileRefused(
            f"Sheet '{name}' {claim} {rows:,} rows; the limit is "
            f"{limits.max_rows:,}. Remove the rows below your data and save again."
        )
    if columns > limits.max_columns:
        raise FileRefused(
            f"Sheet '{name}' {claim} {columns} columns; the limit is "
            f"{limits.max_columns}. Delete the extra columns and save again."
        )
