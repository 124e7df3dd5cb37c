"""RSO Work Plan Tracker: the application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from app import db  # sets the metadata naming convention before any model is imported
from app.config import PROJECT_ROOT, load_config
from app.validation import DatabaseIdConverter


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application. Creating it never touches the schema: migrating is explicit."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "INSTANCE_PATH", str(PROJECT_ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(load_config(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)

    from app import models  # noqa: F401  (all tables registered before the first query)

    _require_defused_xml()
    _trust_reverse_proxy(app)

    db.init_app(app)

    from app import assets, cli, errors, security, templating
    from app.accounts import auth, policy
    from app.accounts.views import bp as accounts_bp
    from app.audit.views import bp as audit_bp
    from app.imports import jobs as _imports_jobs  # noqa: F401  (registers imports-scan)
    from app.imports.views import bp as imports_bp
    from app.plan.activity_views import bp as activities_bp
    from app.plan.views import bp as plan_bp
    from app.progress import receivers as _progress_receivers  # noqa: F401  (plan's signals)
    from app.progress.views import bp as progress_bp
    from app.reports import snapshots as _snapshots  # noqa: F401  (freezes a closed period)
    from app.reports.views import bp as reports_bp
    from app.scheduling import work_sections as _work_sections  # noqa: F401  (admin's lists)
    from app.scheduling.views import bp as scheduling_bp

    auth.configure_cookie(app)
    # Order matters: schema first, then who is asking, whether they may, and CSRF. A NUL
    # character is refused once the viewer is known (their 400 page keeps their menu): loading
    # the viewer reads only the signed cookie's user id, never text the request carries.
    app.before_request(_require_current_schema)
    app.before_request(auth.load_viewer)
    app.before_request(db.refuse_nul_characters)
    app.before_request(policy.enforce)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    assets.init_app(app)
    cli.init_app(app)
    # Before any route is added: ids in addresses are ASCII digits within a database integer.
    app.url_map.converters["int"] = DatabaseIdConverter
    for blueprint in (
        plan_bp,
        accounts_bp,
        audit_bp,
        progress_bp,
        imports_bp,
        activities_bp,
        scheduling_bp,
        reports_bp,
    ):
        app.register_blueprint(blueprint)
    return app


_NO_DATABASE = {"static", "vendor_asset"}


def _require_current_schema() -> None:
    """Refuse to serve from a database that is not at this version's schema (checked once)."""
    from flask import current_app, request

    from app.schema import ensure_current

    if current_app.extensions.get("schema_checked") or request.endpoint in _NO_DATABASE:
        return
    ensure_current(db.get_engine())
    current_app.extensions["schema_checked"] = True


def _trust_reverse_proxy(app: Flask) -> None:
    """Behind a proxy every request comes from the proxy's address unless its headers are read;
    they are read only when PROXY_HOPS says a proxy is there (a client could forge them)."""
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _require_defused_xml() -> None:
    """openpyxl guards against XML entity attacks only when defusedxml is installed."""
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:
        raise RuntimeError("defusedxml is not in use by openpyxl: install defusedxml")
