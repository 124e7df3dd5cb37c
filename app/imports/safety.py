"""Looks inside an uploaded .xlsx before any spreadsheet library parses it.

openpyxl opens the zip with no size limit, trusts a sheet's declared dimension, and loads an
.xlsm with macros; python-calamine, given a lone cell at XFD1048576 (or a row numbered a million
holding cells without references), allocates a grid that reaches it. So the zip's entries, sizes,
ratios and XML are checked here first, with hard limits, and the facts a reader needs (sheets,
extent, formula cells, hidden rows) are collected.

The sheets are scanned as a stream, one piece of about a megabyte at a time, each piece ending
where a row begins, so memory stays flat however large the sheet. A piece in the form Excel,
LibreOffice and openpyxl write (``<c r="A1"``, ``<row r="1"``) is checked with a few byte
searches that find only what is wrong (a cell beyond the limits, a formula, a hidden row); a
piece in any other form (namespace prefixes, other attribute orders, a second r attribute,
cells without references) is checked cell by cell, its attributes read one after another as
python-calamine reads them. Every XML part is also searched for a DTD: a real workbook never
declares entities, so one that does is refused before any parser sees it (defusedxml remains
the guard of the parts parsed here).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

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
    formula_cells: dict[str, bool] = field(default_factory=dict)  # ref -> has a cached value
    hidden_rows: list[int] = field(default_factory=list)


@dataclass
class WorkbookFacts:
    sheets: dict[str, SheetFacts]


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_PIECE = 1 << 20  # bytes of a sheet scanned at a time
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
# Any form, for the cell-by-cell path: start tags of cells and rows, whatever their prefix and
# attribute order, their attributes read one after another as python-calamine's XML reader does
# (it takes the last of two r attributes, and needs no space after a closing quote), and a cell
# reference. A '>' inside a quoted value (which no spreadsheet program writes in these tags)
# leaves a quote open, so the tag does not parse and the file is refused.
_START_TAG = re.compile(rb"<(?:\w+:)?(c|row)(?=[\s>/])([^>]*)>")
_ATTRIBUTE = re.compile(rb"\s*([A-Za-z_:][\w.:-]*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_REFERENCE = re.compile(rb"([A-Z]{0,3})(\d+)")
# The common shape of a tag's attributes, matched whole: double-quoted, space-separated, one r.
_NOT_R = rb'\s+(?!r\s*=)[A-Za-z_:][\w.:-]*="[^"]*"'
_ONE_R = re.compile(rb"(?:%s)*\s+r=\"([A-Z]{0,3})(\d+)\"(?:%s)*\s*/?" % (_NOT_R, _NOT_R))
# Bytes of a sheet that may be checked cell by cell (about a second's work, some 20,000 rows): a
# larger sheet in an unusual form is refused rather than tie up the server for long; the form
# Excel, LibreOffice and openpyxl write never takes this path.
_CELL_BY_CELL_BUDGET = 12 * 1024 * 1024
# The first r attribute: enough to name a formula cell or a hidden row in a message.
_R_ATTR = re.compile(rb"\sr\s*=\s*[\"']([A-Z]*)(\d*)[\"']")
# Tabs, line breaks, quotes and slashes as spaces: then " r=" and " r " find every r attribute.
_FLAT = bytes.maketrans(b"\t\n\r\"'/", b"      ")
_CELL = re.compile(rb"<(?:\w+:)?c(?=[\s>/])([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_HIDDEN_ROW = re.compile(rb"<(?:\w+:)?row\s[^>]*?\bhidden\s*=\s*[\"'](?:1|true)[\"'][^>]*>")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_VALUE_TAG = re.compile(rb"<(?:\w+:)?v>")
_ROW_START = re.compile(rb"<(?:\w+:)?row[\s>/]")
# The usual form, for the fast path: tags without a namespace prefix.
_COLON_TAG = re.compile(rb":(?:c|row|f)[\s>/]")
_PREFIXED = re.compile(rb"<\w+:(?:c|row|f)[\s>/]")
_PLAIN_FORMULA = re.compile(rb"<f[\s>/]")


def column_number(letters: bytes | str) -> int:
    number = 0
    for char in letters.decode() if isinstance(letters, bytes) else letters:
        number = number * 26 + (ord(char) - 64)
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class _Suspects:
    """Byte searches for a cell or row tag that needs a closer look (in the usual form).

    They find a tag not written as ``<c r="A1"`` / ``<row r="1"``, and a reference that may be
    beyond the limits (two or more column letters; a row number with as many digits as the
    limit and a first digit as high, or more digits). A piece where neither finds anything is
    within the limits; one where either does is checked cell by cell.
    """

    cell: re.Pattern[bytes]
    row: re.Pattern[bytes]


@lru_cache(maxsize=8)
def _suspects(max_rows: int, max_columns: int) -> _Suspects:
    limit = str(_row_limit(max_rows))
    high_row = f'\\d{{{len(limit) + 1}}}|[{limit[0]}-9]\\d{{{len(limit) - 1}}}"'
    # Columns A to Z are within any limit of 26 or more; below that, every cell is a suspect.
    far_column = "(?<=[A-Z][A-Z])" if max_columns >= 26 else "(?<=[A-Z])"
    return _Suspects(
        cell=re.compile(f'<c(?:(?! r=")[\\s>/]| r="[A-Z]++(?:{far_column}|{high_row}))'.encode()),
        row=re.compile(f'<row(?:(?! r=")[\\s>/]| r="(?:{high_row}))'.encode()),
    )


def _row_limit(max_rows: int) -> int:
    return max_rows + 10  # the template's title and header rows, and a little slack


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
            facts[name] = _inspect_sheet(name, state, _pieces(archive, part, limits), limits)
        scanned = {part for _state, part in sheets.values()}
        scanned.update({"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"})
        for entry in entries:  # shared strings, styles...: what a reader may parse
            if entry.filename not in scanned and entry.filename.endswith((".xml", ".rels")):
                for piece in _pieces(archive, entry.filename, limits):
                    _refuse_dtd(piece, entry.filename)
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


_DAMAGED = (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error)  # CRC, truncation


def _open(archive: zipfile.ZipFile, name: str):
    try:
        return archive.open(name)
    except KeyError as exc:
        raise FileRefused(f"The workbook has no '{name}' part: it is damaged.") from exc
    except _DAMAGED as exc:
        raise FileRefused("The file is damaged (a part of it cannot be unpacked).") from exc


def _read_some(stream, size: int) -> bytes:
    try:
        return stream.read(size)
    except _DAMAGED as exc:
        raise FileRefused("The file is damaged (a part of it cannot be unpacked).") from exc


def _too_big() -> FileRefused:
    return FileRefused("A part of the workbook unpacks beyond the size limit: refused.")


def _refuse_dtd(data: bytes, name: str) -> None:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise FileRefused(
            f"Part '{name}' declares XML entities, which a real workbook never does. Refused."
        )


def _read(archive: zipfile.ZipFile, name: str, limits: Limits) -> bytes:
    """Read one small part whole, never more than the limit, whatever its header claims."""
    with _open(archive, name) as stream:
        data = _read_some(stream, limits.max_uncompressed_bytes + 1)
    if len(data) > limits.max_uncompressed_bytes:
        raise _too_big()
    _refuse_dtd(data, name)
    return data


def _pieces(archive: zipfile.ZipFile, name: str, limits: Limits) -> Iterator[bytes]:
    """A part's bytes in pieces of about ``_PIECE``, each (but the first) starting a row.

    A row, and so every cell and tag in it, is never split between two pieces; a row larger
    than a piece is carried over until it ends. Never more than the limit is unpacked.
    """
    buffer = bytearray()
    total = 0
    with _open(archive, name) as stream:
        while True:
            piece = _read_some(stream, _PIECE)
            if not piece:
                break
            total += len(piece)
            if total > limits.max_uncompressed_bytes:
                raise _too_big()
            searched_from = max(0, len(buffer) - 16)  # a row's start tag may straddle the seam
            buffer += piece
            if len(piece) < _PIECE:
                break  # the end of the part (a zip stream reads short only there)
            cut = _last_row_start(buffer, searched_from)
            if cut > 0:
                yield bytes(buffer[:cut])
                del buffer[:cut]
    if buffer:
        yield bytes(buffer)


def _last_row_start(buffer: bytearray, searched_from: int) -> int:
    """Where the last row begins (0 if none after ``searched_from``): the next piece's start."""
    for start in (max(searched_from, len(buffer) - 65536), searched_from):
        last = 0
        for match in _ROW_START.finditer(buffer, start):
            last = match.start()
        if last:
            return last
    return 0


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


def _inspect_sheet(name: str, state: str, pieces: Iterator[bytes], limits: Limits) -> SheetFacts:
    facts = SheetFacts(name=name, state=state)
    suspects = _suspects(limits.max_rows, limits.max_columns)
    first = True
    checked_cell_by_cell = 0
    for piece in pieces:
        _refuse_dtd(piece, name)
        if first:
            first = False
            dimension = _DIMENSION.search(piece, 0, 4096)
            if dimension:
                last_col, last_row = (
                    dimension.group(3) or dimension.group(1),
                    dimension.group(4) or dimension.group(2),
                )
                _within_limits(name, int(last_row), column_number(last_col), limits, declared=True)
        prefixed = bool(_COLON_TAG.search(piece) and _PREFIXED.search(piece))
        if (
            prefixed
            or suspects.cell.search(piece)
            or suspects.row.search(piece)
            or not _usual_references(piece)
        ):
            checked_cell_by_cell += len(piece)
            if checked_cell_by_cell > _CELL_BY_CELL_BUDGET:
                raise FileRefused(
                    f"Sheet '{name}' is written in an unusual form that is too large to check "
                    "quickly. Open the file in Excel (or LibreOffice), save it as 'Excel "
                    "Workbook (.xlsx)' and upload it again."
                )
            _scan_cells(name, piece, limits)  # refuses with the exact figures
        if _PLAIN_FORMULA.search(piece) or (prefixed and _FORMULA_TAG.search(piece)):
            _collect_formulas(piece, facts)
        if b"hidden" in piece:
            for row in _HIDDEN_ROW.finditer(piece):
                number = _R_ATTR.search(row.group(0))
                if number and number.group(2):
                    facts.hidden_rows.append(int(number.group(2)))
    return facts


def _usual_references(piece: bytes) -> bool:
    """Every r attribute in the piece is the first attribute of a ``<c`` or ``<row`` tag.

    Counted on a copy with whitespace, quotes and slashes turned into spaces, so that an r
    attribute however written (after a tab, straight after a closing quote, with spaces before
    its '=') is counted; text that merely looks like one only sends the piece the slow way.
    """
    flat = piece.translate(_FLAT)
    return b" r " not in flat and flat.count(b" r=") == flat.count(b"<c r=") + flat.count(
        b"<row r="
    )


def _references(attributes: bytes) -> list[bytes] | None:
    """The values of a tag's r attributes, read in order; None if the attributes do not parse."""
    found = []
    position = 0
    while True:
        attribute = _ATTRIBUTE.match(attributes, position)
        if attribute is None:
            rest = attributes[position:].strip()
            return found if rest in (b"", b"/") else None
        if attribute.group(1) == b"r":
            value = attribute.group(2)
            found.append(attribute.group(3) if value is None else value)
        position = attribute.end()


def _scan_cells(name: str, piece: bytes, limits: Limits) -> None:
    """Cell by cell, whatever the form: refuse a cell or row beyond the limits."""
    max_row = max_column = 0
    columns: dict[bytes, int] = {}
    for tag in _START_TAG.finditer(piece):
        is_cell = tag.group(1) == b"c"
        common = _ONE_R.fullmatch(tag.group(2))
        references = [common.group(1) + common.group(2)] if common else _references(tag.group(2))
        if references is None:
            raise FileRefused(f"Sheet '{name}' has a cell or row that cannot be read: damaged.")
        if not references:
            # calamine would place such a cell by counting, so its extent is not known here.
            raise FileRefused(
                f"Sheet '{name}' has cells or rows without a cell reference, which Excel "
                "always writes. Open the file in Excel (or LibreOffice), save it as 'Excel "
                "Workbook (.xlsx)' and upload it again."
            )
        for reference in references:
            parts = _REFERENCE.fullmatch(reference)
            if parts is None or is_cell != bool(parts.group(1)):
                raise FileRefused(f"Sheet '{name}' has a damaged cell reference.")
            max_row = max(max_row, int(parts.group(2)))
            if is_cell:
                letters = parts.group(1)
                column = columns.get(letters) or columns.setdefault(letters, column_number(letters))
                max_column = max(max_column, column)
    _within_limits(name, max_row, max_column, limits, declared=False)


def _collect_formulas(piece: bytes, facts: SheetFacts) -> None:
    for cell in _CELL.finditer(piece):
        inner = cell.group(2) or b""
        if _FORMULA_TAG.search(inner):
            ref = _R_ATTR.search(cell.group(1))
            if ref and ref.group(1) and ref.group(2):
                facts.formula_cells[(ref.group(1) + ref.group(2)).decode()] = bool(
                    _VALUE_TAG.search(inner)
                )


def _within_limits(name: str, rows: int, columns: int, limits: Limits, *, declared: bool) -> None:
    claim = "claims to span" if declared else "has cells in"
    if rows > _row_limit(limits.max_rows):
        raise FileRefused(
            f"Sheet '{name}' {claim} {rows:,} rows; the limit is "
            f"{limits.max_rows:,}. Remove the rows below your data and save again."
        )
    if columns > limits.max_columns:
        raise FileRefused(
            f"Sheet '{name}' {claim} {columns} columns; the limit is "
            f"{limits.max_columns}. Delete the extra columns and save again."
        )
