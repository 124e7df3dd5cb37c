"""Pages to browse the plan: overview, focus area, strategic goal, initiative, indicator."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from app.accounts.auth import current_viewer
from app.accounts.policy import signed_in
from app.db import request_session
from app.plan import services
from app.plan.models import Indicator, Initiative

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
        history=services.status_history(session, initiative_id),
        activities=services.delivered_activities(session, [initiative_id]),
        states={s.id: s for s in services.member_states(session)},
    )


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
        "plan/periods.html", periods=services.reporting_periods(request_session())
    )
