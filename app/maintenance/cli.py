"""`flask backup create|verify|restore`: the database and the stored files, in one archive."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import get_engine
from app.maintenance import services

backup_cli = AppGroup("backup", help="Back up and restore the database and the stored files.")


@backup_cli.command("create", help="Write a backup archive (.tar.gz) while the app keeps running.")
@click.option(
    "--to",
    "to_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the archive (default: INSTANCE_PATH/backups).",
)
def create(to_dir: Path | None) -> None:
    folder = to_dir or services.default_backup_dir(current_app.instance_path)
    try:
        backup = services.create_backup(services.Places.from_config(current_app.config), folder)
    except (services.BackupError, OSError) as exc:
        raise click.ClickException(f"no backup written: {exc}") from exc
    click.echo(f"backup written: {backup.path}")
    click.echo(f"  {backup.summary()}")


@backup_cli.command("verify", help="Check an archive against its manifest; restores nothing.")
@click.argument("archive", type=click.Path(path_type=Path))
def verify(archive: Path) -> None:
    try:
        manifest = services.verify_archive(archive)
    except (services.BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{archive}: intact, made {manifest['created_at']}")
    click.echo(f"  {services.Backup(archive, manifest).summary()}")


@backup_cli.command(
    "restore",
    help="Restore an archive into DATABASE_URL, STORAGE_DIR and REPORTS_DIR. "
    "Stop the web app and the scheduler first.",
)
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a target that holds data (kept aside).")
def restore(archive: Path, force: bool) -> None:
    # This process's own pooled connections would keep the old database open.
    get_engine().dispose()
    try:
        restored = services.restore_backup(
            services.Places.from_config(current_app.config), archive, force=force
        )
    except (services.BackupError, OSError) as exc:
        raise click.ClickException(f"nothing restored: {exc}") from exc
    click.echo(f"restored {archive}: {restored.summary()}")
    for place in restored.kept:
        click.echo(f"  the data it replaced is kept at {place}; delete it once satisfied")
