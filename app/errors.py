"""Error pages: a person sees a plain message, never a traceback."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.db import BUSY_MESSAGE, abandon_request_session, is_busy_error
from app.schema import SchemaError
from app.validation import NotFound as NotFoundError

MESSAGES = {
    400: "The request could not be understood. Check the form and try again.",
    403: "You do not have permission to do that.",
    404: "There is nothing at this address. It may have been moved, or the link is mistyped.",
    405: "That action is not available at this address.",
    409: "Someone else changed this at the same time. Reload to see the newer version.",
    413: "The file is larger than the upload limit.",
}
# Seconds a browser or script is asked to wait before trying a busy database again.
BUSY_RETRY_AFTER = 5

Page = tuple[str, int] | tuple[str, int, dict[str, str]]


def _render(code: int, title: str, message: str) -> tuple[str, int]:
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, code=code, title=title, message=message), code


def _busy() -> Page:
    """Another writer held the database past the wait. The request's transaction is rolled
    back now, so the page can say truthfully that nothing was saved, and the page is made
    without a query: its menu would read the signed-in user again, so it goes without one."""
    abandon_request_session()
    g.user = g.viewer = None
    body, code = _render(503, "The system is busy", BUSY_MESSAGE)
    return body, code, {"Retry-After": str(BUSY_RETRY_AFTER)}


def _fault() -> tuple[str, int]:
    # Not InternalServerError.name: it is a property, so read on the class it renders as
    # "<property object at 0x...>". A plain heading, like "Not found" above.
    return _render(
        500,
        "Something went wrong",
        "The fault is on our side and the error has been logged. Please try again.",
    )


def init_app(app: Flask) -> None:
    def fault(exc: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _fault()

    @app.errorhandler(SchemaError)
    def _schema_not_current(exc: SchemaError) -> tuple[str, int]:
        app.logger.error("database schema problem: %s", exc)
        return _render(503, "Database needs attention", str(exc))

    @app.errorhandler(NotFoundError)
    def _lookup_failed(_exc: NotFoundError) -> tuple[str, int]:
        return _render(404, "Not found", MESSAGES[404])

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError) -> Page:
        if is_busy_error(exc):
            app.logger.warning("database busy on %s %s: %s", request.method, request.path, exc)
            return _busy()
        return fault(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Page:
        # An error raised after the view (by the commit in after_request) reaches Flask's
        # last-resort handler as a 500 wrapping the original exception. Flask has logged it.
        if isinstance(exc, InternalServerError) and exc.original_exception is not None:
            return _busy() if is_busy_error(exc.original_exception) else _fault()
        code = exc.code or 500
        # A message written for this refusal beats the generic one for its status code.
        custom = exc.description if exc.description != type(exc).description else None
        message = custom or MESSAGES.get(code) or exc.description or "Something went wrong."
        return _render(code, exc.name, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Page:
        return fault(exc)
