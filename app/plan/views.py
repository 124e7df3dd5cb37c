"""Pages to browse the plan: overview, focus area, strategic goal, initiative, indicator."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlmodel import Session
from werkzeug.wrappers import Response

from app.accounts.auth import current_viewer
from app.accounts.policy import roles_required, signed_in
from app.db import request_session
from app.plan import forms, indicators, services, status
from app.plan import periods as periods_service
from app.plan.models import Indicator, Initiative
from app.security import local_path
from app.validation import InputError

bp = Blueprint("plan", __name__)


def _tree_for(plan):
    return services.load_plan_tree(request_session(), plan)


@bp.get("/")
@signed_in
def overview() -> str:
    session = request_session()
    plan = services.current_work_plan(session)
    if plan is None:
        return render_template("plan/empty.html")
    return render_template("plan/overview.html", tree=_tree_for(plan))


@bp.get("/focus-areas/<int:focus_area_id>")
@signed_in
def focus_area(focus_area_id: int) -> str:
    plan = services.plan_of_focus_area(request_session(), focus_area_id)
    tree = _tree_for(plan)
    return render_template(
        "plan/focus_area.html", tree=tree, node=tree.find_focus_area(focus_area_id)
    )


@bp.get("/goals/<int:goal_id>")
@signed_in
def goal(goal_id: int) -> str:
    plan = services.plan_of_goal(request_session(), goal_id)
    tree = _tree_for(plan)
    fa_node, goal_node = tree.find_goal(goal_id)
    return render_template("plan/goal.html", tree=tree, fa_node=fa_node, node=goal_node)


@bp.get("/initiatives/<int:initiative_id>")
@signed_in
def initiative(initiative_id: int) -> str:
    session = request_session()
    plan = services.plan_of_initiative(session, initiative_id)
    tree = _tree_for(plan)
    fa_node, goal_node, node = tree.find_initiative(initiative_id)
    return render_template(
        "plan/initiative.html",
        tree=tree,
        fa_node=fa_node,
        goal_node=goal_node,
        node=node,
        activities=services.delivered_activities(session, [initiative_id]),
        states={s.id: s for s in services.member_states(session)},
        **_history_context(session, initiative_id),
    )


def _history_context(session: Session, initiative_id: int) -> dict[str, object]:
    history, total = services.status_history(session, initiative_id)
    return {
        "history": history,
        "history_total": total,
        "history_initiative_id": initiative_id,
        "people": services.names_of_people(session, [c.changed_by_id for c in history]),
    }


@bp.get("/indicators/<int:indicator_id>")
@signed_in
def indicator(indicator_id: int) -> str:
    session = request_session()
    viewer = current_viewer()
    detail = services.indicator_detail(
        session,
        indicator_id,
        only_state_id=viewer.member_state_id if viewer.is_focal_point_only else None,
    )
    ind: Indicator = detail.progress.indicator
    initiative_row = session.get(Initiative, ind.initiative_id) if ind.initiative_id else None
    goal_id = initiative_row.strategic_goal_id if initiative_row else ind.strategic_goal_id
    if goal_id is None:
        abort(404)
    plan = services.plan_of_goal(session, goal_id)
    tree = _tree_for(plan)
    fa_node, goal_node = tree.find_goal(goal_id)
    return render_template(
        "plan/indicator.html",
        detail=detail,
        indicator=ind,
        initiative=initiative_row,
        fa_node=fa_node,
        goal_node=goal_node,
        tree=tree,
    )


@bp.get("/member-states")
@signed_in
def member_states() -> str:
    return render_template(
        "plan/member_states.html", states=services.member_states(request_session())
    )


@bp.get("/periods")
@signed_in
def periods() -> str:
    return render_template(
        "plan/periods.html",
        periods=services.reporting_periods(request_session()),
        today=periods_service.office_today(),
    )


@bp.post("/initiatives/<int:initiative_id>/status")
@roles_required("rso_manager")
def update_status(initiative_id: int) -> str | Response | tuple[str, int]:
    """Inline status change: htmx swaps the status cell; without JavaScript, back to the page."""
    session = request_session()
    typed = request.form.to_dict()
    is_htmx = bool(request.headers.get("HX-Request"))
    try:
        change = status.parse_status_form(typed)
        initiative = status.change_status(
            session, initiative_id, change, changed_by_id=current_viewer().user_id
        )
    except InputError as refused:
        initiative = services.get_or_404(session, Initiative, initiative_id)
        return _status_cell(initiative, typed=typed, status_problems=refused.problems), 422
    except status.StatusConflict as conflict:
        return _status_cell(conflict.current, typed=typed, conflict=True), 409
    if is_htmx:
        cell = _status_cell(initiative, saved=True)
        if typed.get("next") == url_for(".initiative", initiative_id=initiative_id):
            # On the initiative page the timeline below changes too: swap it out of band.
            cell += render_template(
                "plan/_status_history.html", oob=True, **_history_context(session, initiative_id)
            )
        return cell
    flash(f"Status of {initiative.code} saved.", "success")
    return redirect(
        local_path(typed.get("next")) or url_for(".initiative", initiative_id=initiative_id), 303
    )


def _status_cell(initiative: Initiative, **context: object) -> str:
    if request.headers.get("HX-Request"):
        return render_template("plan/_status_form.html", initiative=initiative, **context)
    return render_template("plan/status_page.html", initiative=initiative, **context)


@bp.route("/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
@roles_required("rso_manager")
def edit_indicator(indicator_id: int) -> str | Response | tuple[str, int]:
    session = request_session()
    indicator = services.get_or_404(session, Indicator, indicator_id)
    periods = services.reporting_periods(session)
    context = {
        "indicator": indicator,
        "periods": periods,
        "targets": indicators.period_targets(session, indicator_id),
        "values_reported": indicators.values_reported(session, indicator_id),
    }
    if request.method == "GET":
        return render_template("plan/indicator_edit.html", problems={}, typed=None, **context)
    typed = request.form.to_dict()
    try:
        change = forms.read_definition(typed, periods)
        indicators.update_definition(session, indicator_id, change)
    except InputError as refused:
        return render_template(
            "plan/indicator_edit.html", problems=refused.problems, typed=typed, **context
        ), 422
    except indicators.DefinitionConflict:
        return render_template(
            "plan/indicator_edit.html", problems={}, typed=typed, conflict=True, **context
        ), 409
    flash(f"Indicator {indicator.code} saved.", "success")
    return redirect(url_for(".indicator", indicator_id=indicator_id), 303)


@bp.post("/periods/<int:period_id>/close")
@roles_required("rso_manager")
def close_period(period_id: int) -> Response:
    try:
        period = periods_service.close_period(request_session(), period_id)
    except InputError as refused:
        flash(str(refused), "error")
        return redirect(url_for(".periods"), 303)
    flash(
        f"{period.code} is closed. Later changes by managers will be marked as corrections.",
        "success",
    )
    return redirect(url_for(".periods"), 303)
