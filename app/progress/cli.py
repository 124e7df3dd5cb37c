"""`flask totals check|rebuild`: the approved totals the summaries read, checked or recomputed."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app import schema
from app.db import unit_of_work
from app.progress import totals

totals_cli = AppGroup("totals", help="Approved totals kept for the summaries.")


@totals_cli.command("check", help="Compare the kept totals with a fresh computation.")
def check() -> None:
    schema.require_current_for_command()
    with unit_of_work() as session:
        found = totals.differences(session)
        session.rollback()  # a check only: keep what was there
    if found:
        for line in found[:50]:
            click.echo(line)
        raise click.ClickException(
            f"{len(found)} kept total(s) differ from the values: "
            "run `flask --app wsgi totals rebuild`"
        )
    click.echo("the kept totals agree with the approved values")


@totals_cli.command("rebuild", help="Recompute the kept totals from every approved value.")
def rebuild() -> None:
    schema.require_current_for_command()
    with unit_of_work() as session:
        counts = totals.rebuild_all(session)
    click.echo(
        f"rebuilt: {counts.period_totals} indicator-period totals, "
        f"{counts.latest_values} latest values"
    )
