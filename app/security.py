"""CSRF protection for every state-changing request, the security headers of every response,
and the one check that a redirect target given by the client stays on this site.

The CSRF token lives in the (signed, HttpOnly) session and must come back with every POST,
PUT, PATCH or DELETE, either as the ``csrf_token`` form field or, for htmx, as the
``X-CSRF-Token`` header that base.html sets with ``hx-headers``. A cross-site ``Origin`` is
refused as well.
"""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import unquote, urlsplit

from flask import Flask, abort, request, session
from werkzeug.wrappers import Response

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


# Control characters (C0, DEL, C1) and the backslash: see local_path.
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None: an open redirect would make
    phishing links look like ours. Used for every redirect to an address the client sent.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, and a proxy
    or a second decoding may turn %09 or %2F into one: "/<tab>/evil.example", "/\\evil.example"
    and "/%2F/evil.example" all can become "//evil.example", another host. A target with any
    of these is refused, never cleaned up (a cleaning rule would have to match every browser).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    path = unquote(urlsplit(target).path)
    if _UNSAFE_IN_PATH.search(target) or _UNSAFE_IN_PATH.search(path) or path.startswith("//"):
        return None
    return target


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _check_csrf() -> None:
    if request.method in _SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        abort(400, description="This request came from another site and was refused.")
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        abort(
            400,
            description="The form had expired or was not sent from this site. "
            "Reload the page and try again; nothing was changed.",
        )


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    is_html = "text/html" in (response.content_type or "")
    if is_html:
        # Any HTML route may answer an htmx request with a fragment of the same page.
        response.vary.add("HX-Request")
    if is_html and session.get("uid"):
        # Pages with personal data are not kept in shared caches or the back-forward cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.before_request(_check_csrf)
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
