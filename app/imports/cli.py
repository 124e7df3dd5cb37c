"""`flask imports scan`: check and file the workbooks dropped into the inbox folder."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app import schema
from app.db import unit_of_work
from app.imports import services
from app.imports.inbox import SessionFactory
from app.imports.views import limits

imports_cli = AppGroup("imports", help="Member-state workbooks.")


def inbox_dir() -> Path:
    return Path(current_app.config["STORAGE_DIR"]) / "inbox"


def run_scan(session_factory: SessionFactory = unit_of_work) -> list[str]:
    """Process the inbox; used by this command and by the scheduled job (which passes its own
    units of work, so a run that lost its lock stops)."""
    inbox = inbox_dir()
    inbox.mkdir(parents=True, exist_ok=True)

    config = current_app.config
    return services.scan_inbox(
        session_factory,
        inbox,
        config["STORAGE_DIR"],
        limits(),
        settle_seconds=config["IMPORT_INBOX_SETTLE_SECONDS"],
    )


@imports_cli.command(
    "scan",
    help=(
        "Check every workbook in STORAGE_DIR/inbox and file it for a person to load "
        "(then move it to inbox/received, refused or duplicate)."
    ),
)
def scan() -> None:
    schema.require_current_for_command()
    outcomes = run_scan()
    if not outcomes:
        click.echo(f"inbox {inbox_dir()} is empty")
    for line in outcomes:
        click.echo(line)
