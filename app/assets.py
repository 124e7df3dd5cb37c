"""Serves front-end libraries from the packages installed at install time (never a CDN)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, send_from_directory

from app.accounts.policy import public

# Public name -> path inside the installed packages folder (node_modules).
VENDORED = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
}


def init_app(app: Flask) -> None:
    root = Path(app.config["ASSETS_DIR"])
    if not (root / VENDORED["htmx.min.js"]).is_file():
        app.logger.warning(
            "htmx is not installed under %s (run `npm ci`); pages still work without it", root
        )

    @app.get("/assets/vendor/<path:name>")
    @public
    def vendor_asset(name: str):
        relative = VENDORED.get(name)
        if relative is None or not (root / relative).is_file():
            abort(404)
        return send_from_directory(root, relative, max_age=86400)
