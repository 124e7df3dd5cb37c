"""`flask users ...`: bootstrap the first admin and reset a password without touching SQL."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app import schema
from app.accounts import services
from app.audit.services import set_actor
from app.db import get_engine, unit_of_work
from app.validation import InputError

users_cli = AppGroup("users", help="User accounts.")
DEMO_LOGINS_FILE = "demo-logins.txt"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt(
        "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
    )


def _problems(exc: InputError) -> click.ClickException:
    return click.ClickException(
        "; ".join(
            f"{field.replace('_', ' ')}: {message}" if field else message
            for field, message in exc.problems.items()
        )
    )


@users_cli.command("create-admin", help="Create an administrator (the first one, or another).")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin(email: str, full_name: str, password_stdin: bool) -> None:
    try:
        schema.ensure_current(get_engine())
        password = _read_password(password_stdin)
        with unit_of_work() as session:
            set_actor(session, None, "command line: users create-admin")
            user = services.create_user(
                session, email=email, full_name=full_name, roles=["admin"], password=password
            )
    except InputError as exc:
        raise _problems(exc) from exc
    except schema.SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created administrator {user.email}; sign in at /login")


@users_cli.command("reset-password", help="Set a new password for EMAIL and end their sessions.")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def reset_password(email: str, password_stdin: bool) -> None:
    try:
        schema.ensure_current(get_engine())
        password = _read_password(password_stdin)
        with unit_of_work() as session:
            set_actor(session, None, "command line: users reset-password")
            services.set_password_directly(session, email, password)
    except InputError as exc:
        raise _problems(exc) from exc
    except schema.SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"password changed for {email}; their other sessions have ended")


@users_cli.command("list", help="List users with their roles.")
def list_users() -> None:
    with unit_of_work(write=False) as session:
        for user, roles, state in services.list_users(session):
            status = "active" if user.is_active else "disabled"
            where = f" for {state.name}" if state else ""
            click.echo(f"{user.email}\t{user.full_name}\t{','.join(roles)}{where}\t{status}")


def demo_logins_path() -> Path:
    return Path(current_app.instance_path) / DEMO_LOGINS_FILE


@users_cli.command("demo-logins", help="Print the demo users' log-ins (after `seed demo`).")
def demo_logins() -> None:
    path = demo_logins_path()
    if not path.exists():
        click.echo("no demo log-ins: the demo seed has not created users in this instance")
        return
    click.echo(path.read_text(encoding="utf-8").rstrip())
