"""Alembic environment: one code path for the CLI, the tests and `alembic` run by hand."""

from __future__ import annotations

import os
from logging.config import fileConfig
from pathlib import Path

from alembic import context

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db import make_engine, metadata

config = context.config
if config.config_file_name and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if url:
        return url
    instance = Path(__file__).resolve().parent.parent / "instance"
    instance.mkdir(exist_ok=True)
    return f"sqlite:///{instance / 'rso.db'}"


def _skip_empty_autogenerate(context_, revision, directives) -> None:
    # An autogenerate run that finds no change should not leave an empty revision behind.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []


def run_migrations_offline() -> None:
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _database_url()
    is_sqlite = url.startswith("sqlite")
    engine = make_engine(url)
    with engine.connect() as connection:
        if is_sqlite:
            # Batch mode rebuilds tables; with foreign keys on, dropping the old copy would
            # cascade or fail. Switch them off for the migration and check them afterwards.
            # Through the driver, outside any transaction: inside one SQLite ignores the pragma.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
            render_as_batch=is_sqlite,
            process_revision_directives=_skip_empty_autogenerate,
        )
        with context.begin_transaction():
            context.run_migrations()
            if is_sqlite:
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"foreign key check failed after migration: {problems}")
        if is_sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
