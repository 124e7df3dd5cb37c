"""Command-line interface: `flask --app wsgi <group> <command>`.

Every command is a thin shell over a service and one unit of work; a refusal is printed as a
plain message with a non-zero exit, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from app import schema
from app.accounts.cli import demo_logins_path, users_cli
from app.accounts.demo import ensure_demo_users
from app.audit.services import set_actor
from app.db import BUSY_MESSAGE, get_engine, is_busy_error, unit_of_work
from app.imports.cli import imports_cli
from app.maintenance.cli import backup_cli
from app.plan import seed as plan_seed
from app.plan.models import WorkPlan
from app.progress import totals
from app.progress.cli import totals_cli
from app.scheduling.cli import jobs_cli, scheduler_cli


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("db", cls=AppGroup, help="Database migrations (Alembic).")
def db_cli() -> None:
    pass


@db_cli.command("upgrade", help="Migrate the database to the latest schema (or --to REVISION).")
@click.option("--to", "target", default="head", show_default=True)
def db_upgrade(target: str) -> None:
    try:
        schema.upgrade(get_engine(), current_app.config["DATABASE_URL"], target)
    except schema.SchemaError as exc:
        raise _fail(exc) from exc
    click.echo(f"database at migration {schema.current_revision(get_engine())}")
    if target == "head":
        _recompute_totals_if_stale()


def _recompute_totals_if_stale() -> None:
    """A migration that cleans stored figures (0013: inf and NaN to NULL) leaves the approved
    totals derived from them behind; they are recomputed, never adjusted, whenever they differ."""
    with unit_of_work() as session:
        if not totals.differences(session):
            return
        counts = totals.rebuild_all(session)
    click.echo(
        f"approved totals recomputed from the values: {counts.period_totals} indicator-period "
        f"totals, {counts.latest_values} latest values"
    )


@db_cli.command("downgrade", help="Migrate the database down to REVISION ('base' empties it).")
@click.argument("target")
def db_downgrade(target: str) -> None:
    try:
        schema.downgrade(get_engine(), current_app.config["DATABASE_URL"], target)
    except schema.SchemaError as exc:
        raise _fail(exc) from exc
    click.echo(f"database at migration {schema.current_revision(get_engine()) or 'base'}")


@db_cli.command("current", help="Show the database's migration and whether it is the latest.")
def db_current() -> None:
    current = schema.current_revision(get_engine())
    head = schema.head_revision()
    state = "up to date" if current == head else f"needs upgrade to {head}"
    click.echo(f"{current or 'empty database'} ({state})")


@click.group(
    "seed", cls=AppGroup, help="Load the work plan and demo data from app/plan/seed/*.toml."
)
def seed_cli() -> None:
    pass


def _run_seed(loader, path: Path | None, what: str) -> None:
    try:
        schema.ensure_current(get_engine())
        with unit_of_work() as session:
            set_actor(session, None, f"command line: {what}")
            result = loader(session, path) if path else loader(session)
    except (schema.SchemaError, plan_seed.SeedError) as exc:
        raise _fail(exc) from exc
    click.echo(f"{what}: {result.summary()}")


@seed_cli.command("plan", help="Add the work plan, membership and reporting periods.")
@click.option("--file", "path", type=click.Path(path_type=Path), default=None)
def seed_plan(path: Path | None) -> None:
    _run_seed(plan_seed.load_plan, path, "work plan seed")


@seed_cli.command("demo", help="Add the demo activities and figures, and one user per role.")
@click.option("--file", "path", type=click.Path(path_type=Path), default=None)
def seed_demo(path: Path | None) -> None:
    _run_seed(plan_seed.load_demo, path, "demo seed")
    _seed_demo_users()


def _seed_demo_users() -> None:
    with unit_of_work() as session:
        set_actor(session, None, "command line: seed demo")
        created = ensure_demo_users(session, demo_logins_path())
    click.echo(f"demo users: {created} created" if created else "demo users: already present")


@seed_cli.command("if-empty", help="Seed plan and demo data only when the database has no plan.")
def seed_if_empty() -> None:
    try:
        schema.ensure_current(get_engine())
    except schema.SchemaError as exc:
        raise _fail(exc) from exc
    with unit_of_work(write=False) as session:
        has_plan = session.exec(select(WorkPlan.id)).first() is not None
    if has_plan:
        click.echo("database already holds a work plan: not seeding")
        return
    _run_seed(plan_seed.load_plan, None, "work plan seed")
    _run_seed(plan_seed.load_demo, None, "demo seed")
    _seed_demo_users()


_WRAPPED = "refuses_plainly_when_busy"


def _refuse_plainly_when_busy(callback: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except DBAPIError as exc:
            if is_busy_error(exc):
                raise click.ClickException(BUSY_MESSAGE) from exc
            raise

    setattr(run, _WRAPPED, True)
    return run


def _busy_database_is_a_plain_refusal(group: click.Group) -> None:
    """Every command, whatever feature declares it: another process holding the database is
    a message and exit status 1, not a traceback (each command's unit of work rolls back)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _busy_database_is_a_plain_refusal(command)
        # The command objects are module-level, shared by every app made in one process.
        elif command.callback is not None and not hasattr(command.callback, _WRAPPED):
            command.callback = _refuse_plainly_when_busy(command.callback)


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(imports_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(totals_cli)
    _busy_database_is_a_plain_refusal(app.cli)
