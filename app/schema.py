"""Schema migrations as a service: the CLI, the run script and the tests all call these."""

from __future__ import annotations

import click
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from app.config import PROJECT_ROOT
from app.db import get_engine


class SchemaError(RuntimeError):
    """The database is at a migration this version of the app does not know, or not migrated."""


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logging"] = False
    return cfg


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    if len(heads) != 1:
        raise SchemaError(f"the migrations have {len(heads)} heads; expected exactly one")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _check_known(engine: Engine) -> None:
    current = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise SchemaError(
            f"the database is at migration {current!r}, which this version of the app does not "
            "know. It was probably migrated by a newer version: run that version, or restore a "
            "backup made with this one."
        )


def upgrade(engine: Engine, database_url: str, target: str = "head") -> None:
    """Migrate the database up to ``target`` (head by default)."""
    _check_known(engine)
    try:
        command.upgrade(alembic_config(database_url), target)
    except CommandError as exc:
        raise SchemaError(str(exc)) from exc


def downgrade(engine: Engine, database_url: str, target: str) -> None:
    _check_known(engine)
    try:
        command.downgrade(alembic_config(database_url), target)
    except CommandError as exc:
        raise SchemaError(str(exc)) from exc


def require_current_for_command() -> None:
    """For a command-line command: stop with the plain message (not a traceback) when the
    app's database is not at this app's head migration."""
    try:
        ensure_current(get_engine())
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc


def ensure_current(engine: Engine) -> None:
    """Refuse to serve a database that is not at this app's head migration."""
    _check_known(engine)
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        raise SchemaError(
            f"the database is at migration {current or 'none (empty database)'}, but this app "
            f"needs {head}. Run: flask --app wsgi db upgrade"
        )
