"""`flask jobs run KIND` and `flask scheduler run`."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from app import schema
from app.config import ConfigError, require_public_url_for_mail
from app.scheduling.jobs import run_job
from app.scheduling.models import JOB_KINDS
from app.scheduling.scheduler import run_forever

jobs_cli = AppGroup("jobs", help="Run a scheduled job now.")
scheduler_cli = AppGroup("scheduler", help="The scheduler process.")


@jobs_cli.command("run", help=f"Run a job now: {', '.join(JOB_KINDS)}.")
@click.argument("job", type=click.Choice(JOB_KINDS))
def run(job: str) -> None:
    schema.require_current_for_command()
    result = run_job(current_app._get_current_object(), job, "cli")  # type: ignore[attr-defined]
    click.echo(f"{job}: {result.outcome} {result.counts or {}}")
    for note in result.notes or []:
        click.echo(f"  note: {note}")
    if result.outcome == "failed":
        raise click.ClickException(result.error)


@scheduler_cli.command("run", help="Start the scheduler (run exactly one of these).")
def run_scheduler() -> None:
    schema.require_current_for_command()
    try:  # the scheduler sends the mail, so its links must point at the real address
        require_public_url_for_mail(current_app.config)
    except ConfigError as refused:
        raise click.ClickException(str(refused)) from refused
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(message)s")
    # APScheduler logs every job it adds and every minute's schedule reload; our own lines
    # (schedules loaded, catch-up runs, job outcomes) say what matters.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    click.echo("scheduler started; schedules are read from the database (Ctrl+C to stop)")
    run_forever(current_app._get_current_object())  # type: ignore[attr-defined]
