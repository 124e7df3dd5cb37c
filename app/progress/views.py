"""Reports by member states for a period, the review by RSO managers, and "my work"."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import Forbidden as HttpForbidden
from werkzeug.wrappers import Response

from app.accounts.auth import current_viewer
from app.accounts.policy import roles_required, signed_in
from app.db import request_session
from app.progress import submissions as subs
from app.progress.models import SUBMISSION_STATUSES
from app.progress.work import my_work
from app.validation import InputError, parse_id

bp = Blueprint("progress", __name__)
REPORTERS = ("focal_point", "rso_manager")


@bp.get("/my-work")
@signed_in
def work() -> str:
    viewer = current_viewer()
    return render_template(
        "progress/my_work.html",
        work=my_work(
            request_session(),
            viewer,
            today=date.today(),
            stale_after_days=current_app.config["STALE_STATUS_DAYS"],
        ),
        today=date.today(),
    )


@bp.get("/submissions")
@roles_required(*REPORTERS)
def index() -> str:
    wanted = request.args.get("status") or None
    if wanted not in (None, *SUBMISSION_STATUSES):
        wanted = None
    return render_template(
        "progress/submissions.html",
        status=wanted,
        rows=subs.list_submissions(request_session(), current_viewer(), status=wanted),
    )


def _int_field(name: str) -> int:
    number = parse_id(request.form.get(name))
    if number is None:
        raise InputError({name: "missing or not a number"})
    return number


@bp.post("/submissions/open")
@roles_required(*REPORTERS)
def open_report() -> Response:
    viewer = current_viewer()
    try:
        state_id = (
            viewer.member_state_id if viewer.is_focal_point_only else _int_field("member_state_id")
        )
        submission = subs.open_submission(
            request_session(), state_id, _int_field("period_id"), viewer
        )
    except InputError as refused:
        flash(str(refused), "error")
        return redirect(url_for(".work"), 303)
    except subs.Forbidden as refused:
        raise HttpForbidden(str(refused)) from refused
    return redirect(url_for(".show", submission_id=submission.id), 303)


def _render(submission, *, problems=None, typed=None, conflict=False, status=200):
    view, viewer = subs.submission_view(request_session(), submission), current_viewer()
    return render_template(
        "progress/submission.html",
        view=view,
        problems=problems or {},
        typed=typed,
        conflict=conflict,
        viewer=viewer,
        correction=subs.is_correction(viewer, view.period, submission.status),
        reason_field=subs.CORRECTION_REASON_FIELD,
        max_reason_chars=subs.MAX_CORRECTION_REASON_CHARS,
    ), status


@bp.get("/submissions/<int:submission_id>")
@roles_required(*REPORTERS)
def show(submission_id: int) -> tuple[str, int]:
    return _render(subs.get_submission(request_session(), submission_id, current_viewer()))


def _version() -> int:
    raw = request.form.get("version", "")
    version = parse_id(raw)
    return -1 if version is None else version


@bp.post("/submissions/<int:submission_id>/values")
@roles_required(*REPORTERS)
def save(submission_id: int) -> Response | tuple[str, int]:
    session, viewer = request_session(), current_viewer()
    submission = subs.get_submission(session, submission_id, viewer, for_update=True)
    typed = request.form.to_dict()
    try:
        changed = subs.save_values(
            session,
            submission,
            typed,
            viewer,
            expected_version=_version(),
            reason=typed.get(subs.CORRECTION_REASON_FIELD, ""),
        )
    except InputError as refused:
        return _render(submission, problems=refused.problems, typed=typed, status=422)
    except subs.Conflict:
        return _render(submission, typed=subs.edits_only(typed), conflict=True, status=409)
    except subs.Forbidden as refused:
        raise HttpForbidden(str(refused)) from refused
    message = (
        f"Saved: {changed} value{'s' if changed != 1 else ''} changed."
        if changed
        else "Saved: nothing had changed."
    )
    if typed.get("then") == "submit":
        try:
            subs.submit(session, submission, viewer, expected_version=submission.version)
        except InputError as refused:
            # The values just saved stay saved; only the submission is refused.
            return _render(submission, problems=refused.problems, status=200)
        message += " Submitted for review. Thank you."
    flash(message, "success")
    return redirect(url_for(".show", submission_id=submission.id), 303)


def _transition(submission_id: int, action, success: str, **kwargs) -> Response | tuple[str, int]:
    session, viewer = request_session(), current_viewer()
    submission = subs.get_submission(session, submission_id, viewer, for_update=True)
    try:
        action(session, submission, viewer, expected_version=_version(), **kwargs)
    except InputError as refused:
        return _render(submission, problems=refused.problems, status=422)
    except subs.Conflict:
        return _render(submission, conflict=True, status=409)
    except subs.Forbidden as refused:
        raise HttpForbidden(str(refused)) from refused
    flash(success, "success")
    return redirect(url_for(".show", submission_id=submission.id), 303)


@bp.post("/submissions/<int:submission_id>/approve")
@roles_required("rso_manager")
def approve(submission_id: int) -> Response | tuple[str, int]:
    return _transition(
        submission_id, subs.approve, "Approved: these values now count in the summaries."
    )


@bp.post("/submissions/<int:submission_id>/return")
@roles_required("rso_manager")
def send_back(submission_id: int) -> Response | tuple[str, int]:
    return _transition(
        submission_id,
        subs.return_for_changes,
        "Returned to the focal point with your comment.",
        comment=request.form.get("comment", ""),
    )
