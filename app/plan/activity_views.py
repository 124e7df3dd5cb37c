"""Pages where RSO managers record, correct and remove the activities the RSO delivered.

Thin on purpose: the rules are in ``app.plan.activities``. A refused form comes back with a
message next to each field and everything typed kept; the request then rolls back, so nothing
is half-saved.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.accounts.policy import roles_required
from app.db import request_session
from app.plan import activities
from app.plan.models import Initiative
from app.plan.services import DeliveredActivity
from app.validation import InputError

bp = Blueprint("activities", __name__)

Page = str | Response | tuple[str, int]


@bp.route("/initiatives/<int:initiative_id>/activities/new", methods=["GET", "POST"])
@roles_required("rso_manager")
def new_activity(initiative_id: int) -> Page:
    session = request_session()
    initiative = activities.initiative_of(session, initiative_id)
    if request.method == "GET":
        return _form_page(initiative, None, activities.blank_form())
    form = activities.read_form(request.form)
    if "add_row" in request.form:
        return _form_page(initiative, None, form.with_another_row())
    try:
        activity = activities.create_activity(session, initiative_id, form)
    except InputError as refused:
        return _form_page(initiative, None, form, problems=refused.problems), 422
    flash(f"Recorded the activity “{activity.title}”.", "success")
    return _back_to(initiative)


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@roles_required("rso_manager")
def edit_activity(activity_id: int) -> Page:
    session = request_session()
    current = activities.load_activity(session, activity_id)
    initiative = activities.initiative_of(session, current.activity.initiative_id)
    if request.method == "GET":
        return _form_page(initiative, current, activities.form_for(current))
    form = activities.read_form(request.form)
    if "add_row" in request.form:
        return _form_page(initiative, current, form.with_another_row())
    try:
        activity = activities.update_activity(session, activity_id, form)
    except InputError as refused:
        return _form_page(initiative, current, form, problems=refused.problems), 422
    except activities.ActivityConflict as conflict:
        # What was typed stays; saving again now deliberately replaces the newer version.
        form.loaded_signature = conflict.signature
        return _form_page(initiative, conflict.current, form, conflict=True), 409
    flash(f"Saved the activity “{activity.title}”.", "success")
    return _back_to(initiative)


@bp.post("/activities/<int:activity_id>/delete")
@roles_required("rso_manager")
def delete_activity(activity_id: int) -> Page:
    """First post asks for confirmation; the confirming post (``confirm=yes``) deletes."""
    session = request_session()
    current = activities.load_activity(session, activity_id)
    initiative = activities.initiative_of(session, current.activity.initiative_id)
    if request.form.get("confirm") != "yes":
        return render_template(
            "plan/activity_delete.html",
            initiative=initiative,
            delivered=current,
            choices=activities.participant_choices(session),
        )
    activity = activities.delete_activity(session, activity_id)
    flash(f"Deleted the activity “{activity.title}”.", "success")
    return _back_to(initiative)


@bp.post("/activities/participant-row")
@roles_required("rso_manager")
def participant_row() -> str:
    """One more blank participants row for htmx to append; numbered after the rows sent."""
    form = activities.read_form(request.form)
    return render_template(
        "plan/_participants_rows.html",
        rows=[activities.ParticipantRow()],
        first=len(form.rows) + 1,
        choices=activities.participant_choices(request_session()),
        problems={},
    )


def _form_page(
    initiative: Initiative,
    current: DeliveredActivity | None,
    form: activities.ActivityForm,
    *,
    problems: dict[str, str] | None = None,
    conflict: bool = False,
) -> str:
    return render_template(
        "plan/activity_form.html",
        initiative=initiative,
        current=current,
        form=form,
        problems=problems or {},
        conflict=conflict,
        choices=activities.participant_choices(request_session()),
        kinds=activities.ACTIVITY_KINDS,
    )


def _back_to(initiative: Initiative) -> Response:
    target = url_for("plan.initiative", initiative_id=initiative.id, _anchor="activities-heading")
    return redirect(target, 303)
