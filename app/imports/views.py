"""Upload pages: download a template, upload a workbook, see the preview or the problems, commit."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import NotFound

from app.accounts.auth import current_viewer
from app.accounts.policy import roles_required
from app.db import request_session
from app.imports import annotated, ingest, preview, services
from app.imports.models import Upload
from app.imports.safety import Limits
from app.plan.models import MemberState, ReportingPeriod
from app.plan.services import member_states, reporting_periods
from app.progress import submissions as subs
from app.progress import work
from app.validation import parse_id

bp = Blueprint("imports", __name__)
REPORTERS = ("focal_point", "rso_manager")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# "My work" lists the inbox workbooks waiting for this person to load them.
work.register_section("waiting_uploads", services.waiting_uploads)


def limits() -> Limits:
    config = current_app.config
    return Limits(
        max_rows=config["IMPORT_MAX_ROWS"],
        max_columns=config["IMPORT_MAX_COLUMNS"],
        max_uncompressed_bytes=config["IMPORT_MAX_UNCOMPRESSED_BYTES"],
        max_ratio=config["IMPORT_MAX_RATIO"],
    )


def _page(**context: object) -> str:
    session, viewer = request_session(), current_viewer()
    return render_template(
        "imports/uploads.html",
        periods=reporting_periods(session),
        states=[] if viewer.is_focal_point_only else member_states(session),
        own_state=session.get(MemberState, viewer.member_state_id)
        if viewer.member_state_id
        else None,
        uploads=services.history(session, viewer),
        waiting=services.waiting_uploads(session, viewer),
        limit_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
        **context,
    )


@bp.get("/uploads")
@roles_required(*REPORTERS)
def index() -> str:
    return _page()


@bp.get("/uploads/template")
@roles_required(*REPORTERS)
def template() -> Response:
    session, viewer = request_session(), current_viewer()
    period = session.get(ReportingPeriod, parse_id(request.args.get("period_id")) or 0)
    state_id = (
        viewer.member_state_id
        if viewer.is_focal_point_only
        else parse_id(request.args.get("state_id"))
    )
    state = session.get(MemberState, state_id or 0)
    if period is None or state is None:
        raise NotFound("Choose a reporting period and a member state.")
    data = services.template_for(session, state, period)
    return Response(
        data,
        mimetype=XLSX,
        headers={
            "Content-Disposition": (
                f'attachment; filename="RSO-report-{state.code}-{period.code}.xlsx"'
            )
        },
    )


@bp.post("/uploads")
@roles_required(*REPORTERS)
def upload() -> tuple[str, int]:
    file = request.files.get("workbook")
    if file is None or not file.filename:
        return _result(None, message="Choose a workbook to upload."), 400
    upload = ingest.receive(
        request_session(),
        file.read(),
        file.filename,
        current_viewer(),
        storage_dir=current_app.config["STORAGE_DIR"],
        limits=limits(),
    )
    g.commit_refusal = True  # a refused file is kept, with its problems, for support
    return _result(upload), 422 if upload.outcome == "refused" else 200


def _result(upload: Upload | None, message: str | None = None, reason: str = "") -> str:
    """The upload's page (its fragment for htmx), with one notice: the refusal just met, or why
    a preview can no longer be loaded; the Load button only while loading can succeed, with a
    box for the reason when loading would be a manager's correction."""
    session, viewer = request_session(), current_viewer()
    refusal = ingest.load_refusal(session, upload, viewer) if upload else None
    notice = message or refusal
    # A correction refused for want of a reason stays loadable: the form asks for it again.
    loadable = upload is not None and upload.outcome == "previewed" and refusal is None
    return render_template(
        "imports/_result.html" if request.headers.get("HX-Request") else "imports/upload.html",
        upload=upload,
        notice=notice,
        loadable=loadable,
        correction=loadable and ingest.load_is_correction(session, upload, viewer),
        reason=reason,
        reason_field=subs.CORRECTION_REASON_FIELD,
        max_reason_chars=subs.MAX_CORRECTION_REASON_CHARS,
        changes=preview.preview_changes(session, upload) if loadable else [],
        annotated_ready=upload is not None and annotated.is_ready(upload),
    )


@bp.get("/uploads/<int:upload_id>")
@roles_required(*REPORTERS)
def show(upload_id: int) -> str:
    return _result(services.get_upload(request_session(), upload_id, current_viewer()))


@bp.post("/uploads/<int:upload_id>/commit")
@roles_required(*REPORTERS)
def commit(upload_id: int) -> Response | tuple[str, int]:
    session, viewer = request_session(), current_viewer()
    upload = services.get_upload(session, upload_id, viewer)
    reason = request.form.get(subs.CORRECTION_REASON_FIELD, "")
    try:
        changed = ingest.commit(session, upload, viewer, reason=reason)
    except ingest.CommitRefused as refused:
        g.commit_refusal = True  # a preview found stale is marked so
        return _result(upload, message=str(refused), reason=reason), 409
    flash(f"Loaded: {changed} value{'s' if changed != 1 else ''} saved in the report.", "success")
    return redirect(url_for("progress.show", submission_id=upload.submission_id), 303)


@bp.get("/uploads/<int:upload_id>/annotated.xlsx", endpoint="annotated")
@roles_required(*REPORTERS)
def annotated_copy(upload_id: int) -> Response:
    """The annotated problems workbook built when the upload was checked: a file read."""
    upload = services.get_upload(request_session(), upload_id, current_viewer())
    path = annotated.annotated_path(current_app.config["STORAGE_DIR"], upload.id)
    if not annotated.is_ready(upload) or not path.exists():
        raise NotFound()
    return Response(
        path.read_bytes(),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="upload-{upload.id}-problems.xlsx"'},
    )


@bp.get("/uploads/<int:upload_id>/original")
@roles_required("rso_manager", "admin")
def original(upload_id: int) -> Response:
    """The file exactly as received, for support; named by its id, never by the sender."""
    upload = services.get_upload(request_session(), upload_id, current_viewer())
    path = ingest.archive_path(current_app.config["STORAGE_DIR"], upload.file_sha256)
    if not path.exists():
        raise NotFound()
    return Response(
        path.read_bytes(),
        mimetype="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="upload-{upload.id}.bin"'},
    )
