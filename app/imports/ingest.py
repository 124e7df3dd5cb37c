"""The one way a workbook comes in: ``receive`` checks and files it, a person ``commit``s it.

The web upload, the inbox scan (``flask imports scan`` and the scheduled job) and any later path
call these two with the same rules:

- ``receive`` archives the file by its SHA-256 under STORAGE_DIR/archive (refused ones too),
  runs the safety checks before anything is parsed, checks every row, and files an ``Upload``:
  refused with its problems (the first ``MAX_PROBLEMS_KEPT``, with the full count), unchanged,
  or previewed. A sender's own workbook names their state, or it is refused; a file from the
  inbox has no sender, so it is filed under the state its metadata names and stops there.
- ``commit`` loads a previewed upload as the person who loads it, whoever sent it: the rules on
  whether the report may still change are progress's (``edit_refusal``, ``is_correction``),
  so a report that was submitted, approved or is in a closed period takes only a manager's
  correction with a reason, exactly as on the report form.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.services import Viewer
from app.audit.services import reason_given, record_event
from app.imports import annotated, checks, preview
from app.imports.models import MAX_PROBLEMS_KEPT, ImportCommit, Upload
from app.imports.reader import Problem, read_workbook
from app.imports.safety import FileRefused, Limits, inspect_xlsx
from app.plan.models import Indicator, MemberState, ReportingPeriod
from app.progress import submissions as subs
from app.progress.models import Submission
from app.progress.services import VALUE_FIELDS, ValueInput, record_indicator_values
from app.timeutil import utcnow
from app.validation import InputError

# A report's version when it is opened: what a preview made before the report existed saw.
FIRST_VERSION: int = Submission.model_fields["version"].default

PLAN_CHANGED = (
    "The plan changed after this preview (an indicator's definition or who reports it), so "
    "these values no longer fit it. Download a new template and upload it again"
)
STALE = (
    "The report was changed after this preview (by another upload or on the web). "
    "Upload the workbook again to see the new changes."
)


class CommitRefused(Exception):
    """The preview can no longer be applied (already loaded, report changed, not allowed)."""


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
    """Archive and check a workbook; file it as refused, unchanged or previewed.

    ``viewer`` is the signed-in sender, or None for a file from the inbox (no sender).
    """
    upload = _filed(session, data, original_name, viewer, storage_dir, source)
    problems = _check(session, upload, data, viewer, limits)
    if problems:
        _refuse(session, upload, problems, data, storage_dir)
    return upload


def file_refused(
    session: Session,
    data: bytes,
    original_name: str,
    message: str,
    *,
    storage_dir: str | Path,
    source: str,
) -> Upload:
    """File a workbook as refused for ``message`` without checking it (after a failed check)."""
    upload = _filed(session, data, original_name, None, storage_dir, source)
    upload.problems, upload.problem_count = [_general(message).as_dict()], 1
    session.add(upload)
    session.flush()
    return upload


def file_hash(data: bytes) -> str:
    """What a file is archived and recognised by."""
    return hashlib.sha256(data).hexdigest()


def _filed(
    session: Session,
    data: bytes,
    original_name: str,
    viewer: Viewer | None,
    storage_dir: str | Path,
    source: str,
) -> Upload:
    """The file archived and its upload row started (refused until the checks pass)."""
    file_sha256 = file_hash(data)
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
    return upload


def _check(
    session: Session, upload: Upload, data: bytes, viewer: Viewer | None, limits: Limits
) -> list[Problem]:
    """The problems that refuse the file, or none (then the upload holds its preview)."""
    if not upload.original_name.lower().endswith(".xlsx"):
        return [
            _general(
                "Only .xlsx workbooks are accepted; this file is named "
                f"'{upload.original_name}'. Save it as 'Excel Workbook (.xlsx)'."
            )
        ]
    try:
        facts = inspect_xlsx(data, limits)
        parsed = read_workbook(data, facts, limits)
    except FileRefused as refused:
        return [_general(str(refused))]
    if parsed.problems:
        return parsed.problems
    states = {s.code: s for s in session.exec(select(MemberState)).all()}
    periods = {p.code: p for p in session.exec(select(ReportingPeriod)).all()}
    state, period, problems = checks.check_metadata(parsed, states, periods)
    if problems:
        return problems
    if _reports_elsewhere(viewer, state):
        # Not filed under the state the workbook names: that state's focal points would see
        # it in their history and could open it. It stays the sender's (and the managers').
        return [
            _general(
                f"This workbook is for {state.name}; you report for another member state. "
                "Download your own state's template."
            )
        ]
    upload.member_state_id, upload.reporting_period_id = state.id, period.id
    report = _report_of(session, state.id, period.id)
    if viewer is not None:
        # Said now, not after a preview whose Load button could only fail. An inbox file has
        # nobody to say it to: whoever loads it meets the same rule then.
        refusal = subs.edit_refusal(viewer, state.id, period, report.status if report else None)
        if refusal:
            return [_general(refusal)]
    reported = checks.reported_indicators(session, state.id, period)
    checked = checks.check_rows(
        parsed, state, period, reported, lambda codes: _codes_in_plan(session, codes)
    )
    del reported
    # Problems met while reading a row (a formula with no value) come first, as they are read.
    problems = parsed.problems + checked.problems
    if not problems:
        _preview(session, upload, state, period, checked, report)
    return problems


def _general(message: str) -> Problem:
    """A problem with the file as a whole, at no cell."""
    return Problem("", "", message)


def _reports_elsewhere(viewer: Viewer | None, state: MemberState) -> bool:
    """A sender reports for their own state only (managers for any); an inbox file has no
    sender: it is filed under the state it names, and only that state's people load it."""
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


def _refuse(
    session: Session,
    upload: Upload,
    problems: list[Problem],
    data: bytes,
    storage_dir: str | Path,
) -> None:
    """Keep the first problems with the full count; the annotated copy is built once, now or
    by the inbox job (see ``annotated``)."""
    upload.outcome = "refused"
    upload.problems = [p.as_dict() for p in problems[:MAX_PROBLEMS_KEPT]]
    upload.problem_count = len(problems)
    session.add(upload)
    session.flush()  # the id names the annotated copy
    annotated.annotate_if_quick(storage_dir, upload, data, upload.problems)
    session.flush()


def _preview(
    session: Session,
    upload: Upload,
    state: MemberState,
    period: ReportingPeriod,
    checked: checks.CheckedWorkbook,
    report: Submission | None,
) -> None:
    """Count what loading would change; writes the upload only (the report is opened by the
    load: a preview is a look, and a draft it left behind would show as started)."""
    counts = preview.count_changes(session, state.id, period.id, checked)
    rows = checks.stored_rows(checked.entries)
    checked.entries.clear()  # the stored rows are all that is kept
    upload.content_hash = checks.content_hash(state, period, rows)
    upload.submission_id = report.id if report else None
    upload.base_version = report.version if report else FIRST_VERSION
    upload.counts = counts
    upload.rows = rows
    upload.rules_checked = checked.rules
    upload.outcome = "previewed" if counts["new"] or counts["changed"] else "unchanged"
    session.add(upload)
    session.flush()


def load_refusal(session: Session, upload: Upload, viewer: Viewer) -> str | None:
    """Why this viewer could not load a previewed upload now, or None: the commit's own checks,
    read without locking, so an overtaken preview says so instead of offering its Load button.
    (A correction's missing reason is not a refusal here: the Load form asks for it.)"""
    if upload.outcome != "previewed":
        return None
    report, period = _target(session, upload)
    status = report.status if report else None
    refusal = subs.edit_refusal(viewer, upload.member_state_id, period, status)
    if refusal is None and (report.version if report else FIRST_VERSION) != upload.base_version:
        refusal = STALE
    return refusal


def load_is_correction(session: Session, upload: Upload, viewer: Viewer) -> bool:
    """Whether loading this upload now would be this manager's correction (it needs a reason)."""
    report, period = _target(session, upload)
    return subs.is_correction(viewer, period, report.status if report else None)


def _target(session: Session, upload: Upload) -> tuple[Submission | None, ReportingPeriod]:
    report = _report_of(session, upload.member_state_id, upload.reporting_period_id)
    return report, session.get(ReportingPeriod, upload.reporting_period_id)


@_without_cyclic_gc
def commit(session: Session, upload: Upload, viewer: Viewer, *, reason: str = "") -> int:
    """Load a previewed upload as ``viewer``, in one transaction: all rows or none.

    The web's rules, whoever sent the file: ``viewer`` must be allowed to change the report now,
    and a manager's correction (of a submitted or approved report, or in a closed period) needs
    ``reason``, kept in every revision and in the audit event. Returns the values changed.
    """
    if upload.outcome != "previewed":
        raise CommitRefused(
            {
                "committed": "This upload has already been loaded.",
                "unchanged": "Nothing to load: the report already holds exactly these values.",
                "refused": "This upload was refused; fix the workbook and upload it again.",
                "stale": STALE,
            }[upload.outcome]
        )
    report, period = _target(session, upload)
    # Checked before a report is opened for the load, so a refusal leaves nothing behind.
    _check_change(viewer, upload, period, report.status if report else None, reason)
    try:
        # A savepoint: a load refused half-way (the plan changed under the preview) leaves no
        # report opened and no value written, though the refusal itself is kept.
        with session.begin_nested():
            return _load(session, upload, viewer, period, reason)
    except _Overtaken:
        _mark_stale(session, upload)
        raise CommitRefused(STALE) from None
    except InputError as refused:
        _mark_stale(session, upload)
        raise CommitRefused(f"{PLAN_CHANGED} ({refused})") from None


class _Overtaken(Exception):
    """The report changed after the preview."""


def _mark_stale(session: Session, upload: Upload) -> None:
    upload.outcome = "stale"
    session.add(upload)
    session.flush()


def _load(
    session: Session, upload: Upload, viewer: Viewer, period: ReportingPeriod, reason: str
) -> int:
    submission = _report_to_load(session, upload, viewer, period)
    _check_change(viewer, upload, period, submission.status, reason)  # as locked
    if submission.version != upload.base_version:
        raise _Overtaken
    _claim(session, upload, submission)
    correcting = subs.is_correction(viewer, period, submission.status)
    revision_reason = f"workbook upload {upload.id}"
    if correcting:
        revision_reason += "; " + subs.correction_reason(period, submission.status, reason)
    with reason_given(session, revision_reason):
        changed = _record(session, upload, submission, viewer, period, revision_reason)
        given = reason if correcting else ""
        _record_load(session, upload, submission, viewer, changed, revision_reason, given)
    return changed


def preview_is_current():
    """SQL: a previewed upload's report is as the preview saw it (not opened yet, or still at
    the version it read), so loading it can still succeed; for lists of uploads waiting."""
    report_version = (
        select(Submission.version)
        .where(
            Submission.member_state_id == Upload.member_state_id,
            Submission.reporting_period_id == Upload.reporting_period_id,
        )
        .correlate(Upload)  # only the upload: a query that joins the report keeps its own
        .scalar_subquery()
    )
    return func.coalesce(report_version, FIRST_VERSION) == Upload.base_version


def _record_load(
    session: Session,
    upload: Upload,
    submission: Submission,
    viewer: Viewer,
    changed: int,
    revision_reason: str,
    correction_reason: str,
) -> None:
    """Mark the upload loaded, and its one audit event."""
    base_version = upload.base_version
    upload.submission_id = submission.id
    upload.outcome = "committed"
    upload.committed_at = utcnow()
    upload.committed_by_id = viewer.user_id
    session.add(upload)
    session.flush()
    record_event(
        session,
        "update",
        "upload",
        str(upload.id),
        {"outcome": "previewed", "submission_version": base_version},
        {
            "outcome": "committed",
            "source": upload.source,
            "submission_id": submission.id,
            "submission_version": submission.version,
            "values_changed": changed,
            **{f"rows_{name}": count for name, count in (upload.counts or {}).items()},
            "revisions_reason": revision_reason,
            "correction_reason": correction_reason.strip(),
            "file_sha256": upload.file_sha256,
        },
        label=upload.original_name,
    )


def _check_change(
    viewer: Viewer, upload: Upload, period: ReportingPeriod, status: str | None, reason: str
) -> None:
    refusal = subs.edit_refusal(viewer, upload.member_state_id, period, status)
    refusal = refusal or subs.correction_refusal(viewer, period, status, reason)
    if refusal:
        raise CommitRefused(refusal)


def _report_to_load(
    session: Session, upload: Upload, viewer: Viewer, period: ReportingPeriod
) -> Submission:
    """The state's report, locked until the load commits; opened now if there is none yet."""
    report = _report_of(session, upload.member_state_id, upload.reporting_period_id)
    if report is None:
        report = subs.open_submission(session, upload.member_state_id, period.id, viewer)
    return subs.get_submission(session, report.id, viewer, for_update=True)


def _record(
    session: Session,
    upload: Upload,
    submission: Submission,
    viewer: Viewer,
    period: ReportingPeriod,
    reason: str,
) -> int:
    """Write the rows through the same recording as web entry; returns the values changed."""
    closed_correction = period.status == "closed"
    # One event for the whole load (the caller's); each value's revision is its own history.
    outcomes = record_indicator_values(
        session,
        _value_inputs(upload.rows, period.id, submission.member_state_id),
        source="upload",
        changed_by_id=viewer.user_id,
        reason=reason,
        corrected_after_close=closed_correction,
        submission_id=submission.id,
        audit_each_value=False,
        checked_under=upload.rules_checked,
    )
    changed = sum(1 for outcome in outcomes if outcome.changed)
    del outcomes
    if changed:
        submission.version += 1
        session.add(submission)
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
