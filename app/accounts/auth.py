"""Signing in and out of the web app, on top of Flask's signed session cookie.

The cookie carries the user id, the user's ``session_version`` and when they signed in. Log-out,
a password change and disabling a user bump the version in the database, so a cookie captured
earlier stops working even though its signature is still valid. A session ends
``SESSION_LIFETIME_HOURS`` after sign-in however active it is: Flask re-signs the cookie on every
request, so its own expiry alone would let a busy session run for ever.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask, current_app, flash, g, session

from app.accounts.models import User
from app.accounts.services import Viewer, viewer_for
from app.audit.services import set_actor
from app.config import ConfigError
from app.db import request_session
from app.timeutil import utcnow

# Where the session keeps the moment of sign-in, as whole seconds since the epoch (UTC).
SIGNED_IN_AT = "since"


def session_lifetime(app: Flask) -> timedelta:
    return timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])


def load_viewer() -> None:
    """before_request: who is asking, or nobody."""
    g.user = None
    g.viewer = None
    user_id = session.get("uid")
    if user_id is None:
        return
    if _session_expired():
        session.clear()
        flash("Your session has ended. Sign in again to carry on.", "warning")
        return
    db = request_session()
    user = db.get(User, user_id)
    if user is None or not user.is_active or session.get("ver") != user.session_version:
        session.clear()
        return
    viewer = viewer_for(db, user)
    g.user, g.viewer = user, viewer
    set_actor(db, user.id, viewer.label)


def _session_expired() -> bool:
    """A session without a sign-in time predates this rule: it is treated as expired."""
    signed_in_at = session.get(SIGNED_IN_AT)
    if not isinstance(signed_in_at, int):
        return True
    age = utcnow().timestamp() - signed_in_at
    return age >= session_lifetime(current_app).total_seconds()


def start_session(user: User) -> None:
    """A fresh session (new identifier, new CSRF token) for a user who just proved who they are."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["ver"] = user.session_version
    session["sid"] = secrets.token_urlsafe(16)
    session[SIGNED_IN_AT] = int(utcnow().timestamp())


def current_viewer() -> Viewer:
    viewer = g.get("viewer")
    if viewer is None:
        raise RuntimeError("current_viewer() on a route that admits anonymous users")
    return viewer


def configure_cookie(app: Flask) -> None:
    hours = app.config.get("SESSION_LIFETIME_HOURS")
    if not isinstance(hours, int) or hours <= 0:
        raise ConfigError(f"SESSION_LIFETIME_HOURS must be a whole number above zero, got {hours}")
    # Assigned, not setdefault: Flask's own default (31 days) is always present already. The
    # cookie's expiry and Flask's check of its signed timestamp both follow it.
    app.config["PERMANENT_SESSION_LIFETIME"] = session_lifetime(app)
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    # __Host- makes the browser refuse the cookie unless it is Secure, host-only and Path=/.
    app.config["SESSION_COOKIE_NAME"] = "__Host-rso_session" if secure else "rso_session"
    app.config["SESSION_COOKIE_PATH"] = "/"
    app.config["SESSION_COOKIE_DOMAIN"] = None
