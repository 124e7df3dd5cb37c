"""Who may use which route, declared on the route itself and enforced in one place.

Every view carries an access rule (``@public``, ``@signed_in`` or ``@roles_required(...)``).
A view without one is refused to everyone: a new route cannot be exposed by forgetting.
Scoping of data (a focal point sees only their own state) is done in the services' queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

View = TypeVar("View", bound=Callable)

ANY_ROLE = frozenset({"admin", "rso_manager", "focal_point", "reviewer"})
# Flask's own static route and the vendored front-end files carry nothing private.
_BUILTIN_PUBLIC = {"static"}


@dataclass(frozen=True)
class AccessRule:
    public: bool = False
    roles: frozenset[str] = ANY_ROLE

    def allows(self, roles: frozenset[str] | None) -> bool:
        if self.public:
            return True
        return roles is not None and bool(self.roles & roles)


def _attach(view: View, rule: AccessRule) -> View:
    view.access_rule = rule  # type: ignore[attr-defined]
    return view


def public(view: View) -> View:
    """Anyone, signed in or not (the log-in page, invitation links)."""
    return _attach(view, AccessRule(public=True))


def signed_in(view: View) -> View:
    """Any signed-in user, whatever their role."""
    return _attach(view, AccessRule())


def roles_required(*roles: str) -> Callable[[View], View]:
    unknown = set(roles) - ANY_ROLE
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view: View) -> View:
        return _attach(view, AccessRule(roles=frozenset(roles)))

    return decorate


def rule_for(app: Flask, endpoint: str) -> AccessRule | None:
    if endpoint in _BUILTIN_PUBLIC:
        return AccessRule(public=True)
    view = app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def enforce() -> Response | None:
    """before_request: refuse unless the route's rule admits the current user."""
    if request.endpoint is None:
        return None  # no route matched: the 404 handler answers
    rule = rule_for(current_app, request.endpoint)
    if rule is None:
        current_app.logger.error("route %s declares no access rule: refused", request.endpoint)
        abort(403)
    viewer = g.get("viewer")
    if rule.allows(viewer.roles if viewer else None):
        return None
    if viewer is None:
        target = url_for("accounts.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request"):
            response = Response("", status=401)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
    abort(403)
