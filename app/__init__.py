"""RSO Work Plan Tracker: the application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from app import db  # sets the metadata naming convention before any model is imported
from app.config import PROJECT_ROOT, load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application. Creating it never touches the schema: migrating is explicit."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(load_config(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)

    from app import models  # noqa: F401  (all tables registered before the first query)

    db.init_app(app)

    from app import assets, cli, errors, templating
    from app.plan.views import bp as plan_bp

    templating.init_app(app)
    errors.init_app(app)
    assets.init_app(app)
    cli.init_app(app)
    app.register_blueprint(plan_bp)
    app.before_request(_require_current_schema)
    return app


def _require_current_schema() -> None:
    """Refuse to serve from a database that is not at this version's schema (checked once)."""
    from flask import current_app

    from app.schema import ensure_current

    if current_app.extensions.get("schema_checked"):
        return
    ensure_current(db.get_engine())
    current_app.extensions["schema_checked"] = True
