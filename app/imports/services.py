"""Uploads as people see them: the template to fill, the history, one upload, those waiting.

Receiving and loading a workbook are ``app.imports.ingest``; the preview's lines are
``preview``; the annotated problems workbook is ``annotated``; the inbox is ``inbox``
(``scan_inbox`` is named here too, as the scheduled job and the CLI call it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from app.accounts.services import Viewer
from app.imports.inbox import scan_inbox
from app.imports.ingest import preview_is_current
from app.imports.models import Upload
from app.imports.template import TemplateRow, build_template
from app.plan.models import MemberState, ReportingPeriod
from app.progress import submissions as subs
from app.progress.models import IndicatorValue, Submission
from app.timeutil import utcnow
from app.validation import NotFound

__all__ = ["get_upload", "history", "scan_inbox", "template_for", "waiting_uploads"]


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


def _visible(query, viewer: Viewer):
    """Focal points see only their own state's uploads and the ones they sent themselves."""
    if viewer.is_focal_point_only:
        return query.where(
            (Upload.member_state_id == viewer.member_state_id)
            | (Upload.uploaded_by_id == viewer.user_id)
        )
    return query


def _listed(query):
    """A list shows no upload's rows or problems: each may be megabytes of JSON."""
    return query.options(defer(Upload.rows), defer(Upload.problems))  # type: ignore[arg-type]


def get_upload(session: Session, upload_id: int, viewer: Viewer) -> Upload:
    upload = session.exec(_visible(select(Upload).where(Upload.id == upload_id), viewer)).first()
    if upload is None:
        raise NotFound("upload")
    return upload


def history(session: Session, viewer: Viewer, *, limit: int = 200) -> list[tuple[Upload, str, str]]:
    query = (
        select(Upload, MemberState.name, ReportingPeriod.code)
        .outerjoin(MemberState, col(MemberState.id) == Upload.member_state_id)
        .outerjoin(ReportingPeriod, col(ReportingPeriod.id) == Upload.reporting_period_id)
        .order_by(col(Upload.received_at).desc(), col(Upload.id).desc())
        .limit(limit)
    )
    rows = session.exec(_listed(_visible(query, viewer))).all()
    return [(u, name or "—", code or "—") for u, name, code in rows]


@dataclass
class WaitingUpload:
    """A checked workbook nobody has loaded yet, for "workbooks waiting to be loaded"."""

    upload: Upload
    state: MemberState
    period: ReportingPeriod


def waiting_uploads(session: Session, viewer: Viewer, *, limit: int = 50) -> list[WaitingUpload]:
    """Inbox workbooks waiting for this person to load them: those of a focal point's own state
    that they may still load (not one for a report only a manager can correct now), or every
    state's for a manager. (A web upload's preview is its sender's own page, not a task.)"""
    if not viewer.has("focal_point", "rso_manager"):
        return []
    query = (
        select(Upload, MemberState, ReportingPeriod, Submission.status)
        .join(MemberState, col(MemberState.id) == Upload.member_state_id)
        .join(ReportingPeriod, col(ReportingPeriod.id) == Upload.reporting_period_id)
        .outerjoin(
            Submission,
            (col(Submission.member_state_id) == Upload.member_state_id)
            & (col(Submission.reporting_period_id) == Upload.reporting_period_id),
        )
        .where(Upload.outcome == "previewed", Upload.source == "inbox")
        # One overtaken by a later change to the report can no longer be loaded: not a task.
        .where(preview_is_current())
        .order_by(col(Upload.received_at), col(Upload.id))
        .limit(limit)
    )
    if not viewer.has("rso_manager"):
        query = query.where(Upload.member_state_id == viewer.member_state_id)
    return [
        WaitingUpload(upload, state, period)
        for upload, state, period, status in session.exec(_listed(query)).all()
        if subs.edit_refusal(viewer, state.id, period, status) is None
    ]
