"""Signing in and out of the web app, on top of Flask's signed session cookie.

The cookie carries the user id and the user's ``session_version``. Log-out, a password change
and disabling a user bump the version in the database, so a cookie captured earlier stops
working even though its signature is still valid.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask, g, session

from app.accounts.models import User
from app.accounts.services import Viewer, viewer_for
from app.audit.services import set_actor
from app.db import request_session

SESSION_LIFETIME = timedelta(hours=12)


def load_viewer() -> None:
    """before_request: who is asking, or nobody."""
    g.user = None
    g.viewer = None
    user_id = session.get("uid")
    if user_id is None:
        return
    db = request_session()
    user = db.get(User, user_id)
    if user is None or not user.is_active or session.get("ver") != user.session_version:
        session.clear()
        return
    viewer = viewer_for(db, user)
    g.user, g.viewer = user, viewer
    set_actor(db, user.id, viewer.label)


def start_session(user: User) -> None:
    """A fresh session (new identifier, new CSRF token) for a user who just proved who they are."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["ver"] = user.session_version
    session["sid"] = secrets.token_urlsafe(16)


def current_viewer() -> Viewer:
    viewer = g.get("viewer")
    if viewer is None:
        raise RuntimeError("current_viewer() on a route that admits anonymous users")
    return viewer


def configure_cookie(app: Flask) -> None:
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", SESSION_LIFETIME)
    # __Host- makes the browser refuse the cookie unless it is Secure, host-only and Path=/.
    app.config["SESSION_COOKIE_NAME"] = "__Host-rso_session" if secure else "rso_session"
    app.config["SESSION_COOKIE_PATH"] = "/"
    app.config["SESSION_COOKIE_DOMAIN"] = None
