"""Error pages: a person sees a plain message, never a traceback."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

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


def _render(code: int, title: str, message: str) -> tuple[str, int]:
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(SchemaError)
    def _schema_not_current(exc: SchemaError) -> tuple[str, int]:
        app.logger.error("database schema problem: %s", exc)
        return _render(503, "Database needs attention", str(exc))

    @app.errorhandler(NotFoundError)
    def _lookup_failed(_exc: NotFoundError) -> tuple[str, int]:
        return _render(404, "Not found", MESSAGES[404])

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        # A message written for this refusal beats the generic one for its status code.
        custom = exc.description if exc.description != type(exc).description else None
        message = custom or MESSAGES.get(code) or exc.description or "Something went wrong."
        return _render(code, exc.name, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        # Not InternalServerError.name: it is a property, so read on the class it renders as
        # "<property object at 0x...>". A plain heading, like "Not found" above.
        return _render(
            500,
            "Something went wrong",
            "The fault is on our side and the error has been logged. Please try again.",
        )
