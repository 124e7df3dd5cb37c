"""The inbox: workbooks dropped into STORAGE_DIR/inbox are checked and filed, never loaded.

A file there has no signed-in sender, so nobody vouches for the state its metadata names. The
scan takes each file through the same ``ingest.receive`` as a web upload (source "inbox", no
sender) and files it under that state, with its preview or its problems; a focal point of that
state or an RSO manager then loads it on /uploads with the web's rules (``ingest.commit``).

Every file leaves the inbox once handled, whatever happened to it, so nothing is retried for
ever: to inbox/received/, inbox/refused/ or inbox/duplicate/, its name prefixed with the time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlmodel import Session, col, select

from app.audit.services import set_actor
from app.db import StopWork
from app.imports import annotated, ingest
from app.imports.models import Upload
from app.imports.safety import Limits
from app.plan.models import MemberState, ReportingPeriod
from app.timeutil import utcnow

log = logging.getLogger(__name__)
_FAILED = "could not be checked because of an error on our side (logged)"

SessionFactory = Callable[[], AbstractContextManager[Session]]
ACTOR = "imports inbox scan"
UNEXPECTED = (
    "This file could not be checked because of an error on our side (it has been logged). "
    "Nothing was loaded; send it again or upload it on the Uploads page."
)


# Where a scan moves a file before reading it: the rename succeeds for one scan only, so two
# scans at once (the job and `flask imports scan`) never file the same file twice.
CLAIMED = ".claimed"
# A claimed file left behind by a scan that died is given back to the inbox after this long.
ABANDONED_CLAIM_SECONDS = 3600


def scan_inbox(
    session_factory: SessionFactory,
    inbox: Path,
    storage_dir: str | Path,
    limits: Limits,
    *,
    settle_seconds: float = 0,
) -> list[str]:
    """Check and file every workbook in the inbox, each in its own short unit of work, then
    build the annotated problems workbooks still pending. Returns a plain line per file.

    A file changed in the last ``settle_seconds`` may still be being copied in: it waits for
    the next scan rather than being read half-written and refused."""
    _give_back_abandoned_claims(inbox)
    lines = []
    now = time.time()
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")):
        if _changed_since(path, now - settle_seconds):
            lines.append(f"{path.name}: still being written; left for the next scan")
            continue
        claimed = _claim(path, inbox)
        if claimed is None:
            continue  # another scan took it a moment ago
        lines.append(_handle(session_factory, claimed, inbox, storage_dir, limits))
        _release(claimed)
    lines += annotated.build_pending(
        session_factory, storage_dir, lambda sha: ingest.archive_path(storage_dir, sha)
    )
    return lines


def _handle(
    session_factory: SessionFactory,
    path: Path,
    inbox: Path,
    storage_dir: str | Path,
    limits: Limits,
) -> str:
    """File one workbook; returns what happened to it, in plain words."""
    try:
        data = path.read_bytes()
        with session_factory() as session:
            set_actor(session, None, ACTOR)
            folder, said = _file(session, data, path.name, storage_dir, limits)
    except StopWork:
        raise  # the job lost its lock: the file stays claimed, given back later
    except Exception:  # whatever it was, the file must not come back every run
        log.exception("inbox file %s could not be checked", path.name)
        folder, said = "refused", _file_unchecked(session_factory, path, storage_dir)
    try:
        moved = _move(path, inbox / folder)
    except OSError as exc:
        log.exception("inbox file %s could not be moved", path.name)
        return f"{path.name}: {said}; it could not be moved out of the inbox ({exc.strerror})"
    return f"{path.name}: {said}; moved to {folder}/{moved.name}"


def _file(
    session: Session, data: bytes, name: str, storage_dir: str | Path, limits: Limits
) -> tuple[str, str]:
    """The folder the file goes to, and what was done with it."""
    earlier = _already_received(session, data)
    if earlier is not None:
        upload_id, outcome = earlier
        state = "loaded" if outcome == "committed" else "waiting to be loaded"
        return "duplicate", f"the same file as upload {upload_id} ({state}); not filed again"
    upload = ingest.receive(
        session, data, name, None, storage_dir=storage_dir, limits=limits, source="inbox"
    )
    return _described(session, upload)


def _already_received(session: Session, data: bytes) -> tuple[int, str] | None:
    """An upload of exactly this file that is loaded, or waiting with a preview that can still
    be loaded (a refused or overtaken one is checked again: the report may have changed since)."""
    file_sha256 = ingest.file_hash(data)
    row = session.exec(
        select(Upload.id, Upload.outcome)
        .where(
            Upload.file_sha256 == file_sha256,
            (Upload.outcome == "committed")
            | ((Upload.outcome == "previewed") & ingest.preview_is_current()),
        )
        .order_by(col(Upload.id))
    ).first()
    return (row[0], row[1]) if row else None


def _described(session: Session, upload: Upload) -> tuple[str, str]:
    if upload.outcome == "refused":
        first = upload.problems[0]["message"] if upload.problems else ""
        count = upload.problem_count
        return "refused", (
            f"refused as upload {upload.id}, {count} problem{'s' if count != 1 else ''}"
            f" (first: {first})"
        )
    state = session.get(MemberState, upload.member_state_id)
    period = session.get(ReportingPeriod, upload.reporting_period_id)
    where = f"{state.name} {period.code}"
    if upload.outcome == "unchanged":
        return "received", (
            f"received as upload {upload.id} for {where}: the report already holds exactly "
            "these values, nothing to load"
        )
    counts = upload.counts or {}
    return "received", (
        f"received as upload {upload.id} for {where}: {counts.get('new', 0)} new and "
        f"{counts.get('changed', 0)} changed values wait for a focal point of {state.name} "
        "or an RSO manager to load them"
    )


def _file_unchecked(session_factory: SessionFactory, path: Path, storage_dir: str | Path) -> str:
    """After an unexpected error, the file is still filed (as refused, saying so) if it can be."""
    try:
        data = path.read_bytes()
        with session_factory() as session:
            set_actor(session, None, ACTOR)
            upload = ingest.file_refused(
                session, data, path.name, UNEXPECTED, storage_dir=storage_dir, source="inbox"
            )
            upload_id = upload.id
    except Exception:
        log.exception("inbox file %s could not be filed either", path.name)
        return f"{_FAILED}; not filed"
    return f"{_FAILED}; refused as upload {upload_id}"


def _changed_since(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime > moment
    except FileNotFoundError:
        return False


def _claim(path: Path, inbox: Path) -> Path | None:
    """Move the file into a folder of this scan's own, or None if another scan moved it first."""
    folder = inbox / CLAIMED / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        os.replace(path, folder / path.name)
    except FileNotFoundError:
        folder.rmdir()
        return None
    return folder / path.name


def _release(claimed: Path) -> None:
    """Remove the claim's folder once its file has been moved on (left if the move failed)."""
    with contextlib.suppress(OSError):
        claimed.parent.rmdir()
        claimed.parent.parent.rmdir()  # .claimed itself, when no other scan is at work


def _give_back_abandoned_claims(inbox: Path) -> None:
    claims = inbox / CLAIMED
    if not claims.is_dir():
        return
    cutoff = time.time() - ABANDONED_CLAIM_SECONDS
    for path in claims.glob("*/*"):
        if path.is_file() and path.stat().st_mtime < cutoff and not (inbox / path.name).exists():
            log.warning("inbox file %s was left by a scan that stopped: checked again", path.name)
            os.replace(path, inbox / path.name)
            _release(path)


def _move(path: Path, folder: Path) -> Path:
    """Out of the inbox, under a name that says when and never overwrites another."""
    folder.mkdir(exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{stamp}-{path.name}"
    number = 1
    while target.exists():
        number += 1
        target = folder / f"{stamp}-{number}-{path.name}"
    os.replace(path, target)
    return target
