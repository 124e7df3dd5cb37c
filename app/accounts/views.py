"""Log-in, log-out, password change, invitation links, and user management for admins."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from app.accounts import services
from app.accounts.auth import current_viewer, start_session
from app.accounts.link_mail import link_for, queue_link
from app.accounts.models import ROLES, User
from app.accounts.policy import public, roles_required, signed_in
from app.db import request_session
from app.plan.services import member_states
from app.security import local_path
from app.validation import InputError, NotFound, parse_id

bp = Blueprint("accounts", __name__)


def _home(roles: frozenset[str] | set[str]) -> str:
    """Where a person lands after signing in: reviewers (the co-chairs) on the summary."""
    if "reviewer" in roles and not roles & {"admin", "rso_manager", "focal_point"}:
        return url_for("reports.summary")
    return url_for("plan.overview")


def _safe_next(target: str | None, roles: frozenset[str] | set[str] = frozenset()) -> str:
    return local_path(target) or _home(roles)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> str | Response:
    if request.method == "GET":
        if g.get("viewer"):
            return redirect(_safe_next(request.args.get("next"), g.viewer.roles))
        return render_template("accounts/login.html", email="", error=None)
    email = request.form.get("email", "")[:254]
    password = request.form.get("password", "")[:2048]
    try:
        user = services.authenticate(request_session(), email, password, request.remote_addr or "")
    except services.LoginRefused as refused:
        g.commit_refusal = True  # the failure must be counted by the throttle
        return render_template("accounts/login.html", email=email, error=str(refused)), 401
    start_session(user)
    roles = set(services.roles_of(request_session(), user.id))
    return redirect(_safe_next(request.args.get("next"), roles))


@bp.post("/logout")
@signed_in
def logout() -> Response:
    services.end_all_sessions(request_session(), g.user)
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password() -> str | Response:
    if request.method == "GET":
        return render_template("accounts/password.html", problems={})
    try:
        services.change_password(
            request_session(),
            g.user,
            request.form.get("current_password", ""),
            request.form.get("new_password", ""),
            request.form.get("repeat_password", ""),
            request.remote_addr or "",
        )
    except services.LoginRefused as throttled:
        problems = {"current_password": str(throttled)}
        return render_template("accounts/password.html", problems=problems), 429
    except InputError as refused:
        g.commit_refusal = True  # a wrong current password must be counted by the throttle
        return render_template("accounts/password.html", problems=refused.problems), 422
    start_session(g.user)  # this browser stays signed in; every other session has ended
    flash("Your password has been changed. Other sessions have been signed out.", "success")
    return redirect(url_for("plan.overview"))


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@public
def set_password(token: str) -> str | Response:
    db = request_session()
    try:
        _row, user = services.token_user(db, token)
    except InputError as refused:
        return render_template("accounts/token_invalid.html", message=str(refused)), 400
    if request.method == "GET":
        return render_template("accounts/set_password.html", user=user, problems={})
    try:
        user = services.redeem_token(
            db, token, request.form.get("new_password", ""), request.form.get("repeat_password", "")
        )
    except InputError as refused:
        return render_template(
            "accounts/set_password.html", user=user, problems=refused.problems
        ), 422
    start_session(user)
    flash("Your password is set. Welcome.", "success")
    return redirect(url_for("plan.overview"))


def _form_roles() -> list[str]:
    return [r for r in request.form.getlist("roles") if r in ROLES]


def _form_state_id() -> int | None:
    return parse_id(request.form.get("member_state_id"))


@bp.get("/admin/users")
@roles_required("admin")
def users() -> str:
    db = request_session()
    return render_template(
        "accounts/users.html",
        users=services.list_users(db),
        states=member_states(db),
        form={},
        problems={},
        roles=ROLES,
    )


@bp.post("/admin/users")
@roles_required("admin")
def invite_user() -> str | Response:
    db = request_session()
    form = {
        "email": request.form.get("email", ""),
        "full_name": request.form.get("full_name", ""),
        "roles": _form_roles(),
        "member_state_id": _form_state_id(),
    }
    try:
        user = services.create_user(db, **form)
        token = services.issue_token(db, user.id, "invite", current_viewer().user_id)
    except InputError as refused:
        return render_template(
            "accounts/users.html",
            users=services.list_users(db),
            states=member_states(db),
            form=form,
            problems=refused.problems,
            roles=ROLES,
        ), 422
    return _link_issued(user, "invitation", token)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id: int) -> str | Response:
    db = request_session()
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("user")
    if request.method == "GET":
        return render_template(
            "accounts/user_edit.html",
            user=user,
            states=member_states(db),
            user_roles=services.roles_of(db, user.id),
            problems={},
            roles=ROLES,
        )
    roles = _form_roles()
    try:
        services.update_user(
            db,
            user_id,
            full_name=request.form.get("full_name", ""),
            roles=roles,
            member_state_id=_form_state_id(),
            is_active=request.form.get("is_active") == "on",
            acting_user_id=current_viewer().user_id,
        )
    except InputError as refused:
        return render_template(
            "accounts/user_edit.html",
            user=user,
            states=member_states(db),
            user_roles=roles,
            problems=refused.problems,
            roles=ROLES,
        ), 422
    flash(f"Saved {user.full_name}.", "success")
    return redirect(url_for("accounts.users"))


@bp.post("/admin/users/<int:user_id>/reset-link")
@roles_required("admin")
def reset_link(user_id: int) -> str:
    db = request_session()
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("user")
    token = services.issue_token(db, user.id, "reset", current_viewer().user_id)
    return _link_issued(user, "password reset", token)


def _link_issued(user: User, purpose: str, token: str) -> str:
    """Show the link once; queue it for e-mail too when mail is configured (the scheduler
    process sends it, so this page never waits on a mail server)."""
    link = link_for(current_app.config, token)
    queued = queue_link(request_session(), current_app.config, user, purpose, link)
    return render_template(
        "accounts/link_issued.html", user=user, purpose=purpose, link=link, queued=queued
    )
