"""The database half of a backup: a consistent dump, and a restore staged apart from the target.

SQLite: the online backup API copies a consistent snapshot of a live WAL database (a file copy
can catch the WAL half-written); a restore writes into the target through the same API, so the
target is replaced in one transaction or not at all.
PostgreSQL: pg_dump (custom format) inside an exported snapshot, so the row counts written into
the manifest are exactly those of the dump; a restore goes into a scratch database, is checked
there, and only then renamed into place.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from glob import glob
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from app import schema

SQLITE_PART = "database.sqlite3"
POSTGRES_PART = "database.pgdump"
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PG_TOOL_TIMEOUT_S = 3600  # a dump of this app's data takes seconds; an hour means it is stuck
MAINTENANCE_DATABASE = "postgres"
VERSION_TABLE = "alembic_version"


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why, in plain words."""


@dataclass
class DatabaseState:
    backend: str
    revision: str | None
    row_counts: dict[str, int]


def backend_of(url: str) -> str:
    """ "sqlite" or "postgresql"; any other database is refused."""
    backend = make_url(url).get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


def state_of(connection: Connection) -> tuple[str | None, dict[str, int]]:
    """The migration revision and the number of rows in every table, as this connection sees."""
    names = sorted(inspect(connection).get_table_names())
    counts = {
        name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in names
    }
    return MigrationContext.configure(connection).get_current_revision(), counts


def _plain(exc: BaseException) -> str:
    """The first line of a driver error, without SQLAlchemy's background link."""
    message = str(getattr(exc, "orig", None) or exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__


@contextmanager
def _connected(url: str) -> Iterator[Connection]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    except SQLAlchemyError as exc:
        raise BackupError(f"database error: {_plain(exc)}") from exc
    finally:
        engine.dispose()


# -- dumping -----------------------------------------------------------------------------------


def dump(url: str, folder: Path) -> DatabaseState:
    """Write a consistent dump of the database at ``url`` into ``folder``."""
    if backend_of(url) == "sqlite":
        return _dump_sqlite(sqlite_path(url), folder / SQLITE_PART)
    return _dump_postgres(url, folder / POSTGRES_PART)


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("DATABASE_URL names an in-memory SQLite database: nothing to back up")
    return Path(database)


def _dump_sqlite(source_path: Path, target: Path) -> DatabaseState:
    if not source_path.is_file():
        raise BackupError(f"there is no database at {source_path}")
    try:
        source = sqlite3.connect(source_path, timeout=30)
        try:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)  # one step: one consistent snapshot while writers go on
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not back up {source_path}: {exc}") from exc
    with _connected(f"sqlite:///{target}") as connection:
        revision, counts = state_of(connection)
    return DatabaseState("sqlite", revision, counts)


def _dump_postgres(url: str, target: Path) -> DatabaseState:
    pg_dump = find_pg_tool("pg_dump")
    with _connected(url) as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # pg_dump reads the very snapshot the counts are taken in: they match the dump.
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            revision, counts = state_of(connection)
            run_pg_tool(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                ],
                url,
            )
    return DatabaseState("postgresql", revision, counts)


# -- the PostgreSQL client tools ---------------------------------------------------------------


def find_pg_tool(name: str, *, search_path: str | None = None, bin_glob: str | None = None) -> str:
    """pg_dump or pg_restore: on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    bin_glob = bin_glob or PG_BIN_GLOB
    found = shutil.which(name, path=search_path)
    if found:
        return found
    for folder in sorted(glob(bin_glob), key=_major_version, reverse=True):
        candidate = Path(folder) / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
    raise BackupError(
        f"{name} was not found on PATH or under {bin_glob}: install the PostgreSQL client "
        "programs (Debian: apt-get install postgresql-client) of the server's major version "
        "or newer"
    )


def _major_version(folder: str) -> int:
    version = Path(folder).parent.name
    return int(version) if version.isdigit() else 0


def _libpq_environment(url: str) -> dict[str, str]:
    """Connection settings for the client tools, in their environment (never on the command
    line, where other users of the machine could read the password)."""
    parsed = make_url(url)
    environment = dict(os.environ)
    settings = {
        "PGHOST": parsed.host or parsed.query.get("host"),
        "PGPORT": parsed.port,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": parsed.query.get("sslmode"),
    }
    environment.update({key: str(value) for key, value in settings.items() if value})
    return environment


def run_pg_tool(arguments: list[str], url: str) -> None:
    """Run pg_dump or pg_restore against ``url``; a failure becomes a plain BackupError."""
    tool = Path(arguments[0]).name
    try:
        finished = subprocess.run(  # noqa: S603 (a fixed program, arguments built by us)
            arguments,
            env=_libpq_environment(url),
            capture_output=True,
            text=True,
            timeout=PG_TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{tool} could not run: {exc}") from exc
    if finished.returncode != 0:
        detail = " ".join(finished.stderr.strip().splitlines()[-3:]) or "no message"
        raise BackupError(f"{tool} failed (exit {finished.returncode}): {detail}")


# -- checking ----------------------------------------------------------------------------------


def verify(connection: Connection, expected_counts: dict[str, int]) -> None:
    """A restored database must be intact, at this app's head migration, with the manifest's
    row counts."""
    if connection.dialect.name == "sqlite":
        result = connection.exec_driver_sql("PRAGMA integrity_check").scalars().all()
        if result != ["ok"]:
            raise BackupError(f"the restored database fails SQLite's integrity check: {result[0]}")
    revision, counts = state_of(connection)
    head = schema.head_revision()
    if revision != head:
        raise BackupError(f"the restored database is at migration {revision}, not {head}")
    if counts != expected_counts:
        differences = [
            f"{name}: {expected_counts.get(name, 'absent')} in the manifest, "
            f"{counts.get(name, 'absent')} restored"
            for name in sorted(set(counts) | set(expected_counts))
            if counts.get(name) != expected_counts.get(name)
        ]
        raise BackupError("row counts differ from the manifest: " + "; ".join(differences))


def holds_data(url: str) -> bool:
    """Whether the target database has any row (an empty or merely migrated one has none)."""
    if backend_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return False
    elif not _postgres_database_exists(url):
        return False
    with _connected(url) as connection:
        _revision, counts = state_of(connection)
    return any(count for name, count in counts.items() if name != VERSION_TABLE)


# -- restoring: SQLite -------------------------------------------------------------------------


def check_sqlite_copy(path: Path, expected_counts: dict[str, int]) -> None:
    with _connected(f"sqlite:///{path}") as connection:
        verify(connection, expected_counts)


def replace_sqlite(staged: Path, url: str, keep_previous_as: Path | None) -> None:
    """Write the checked copy into the target through SQLite itself: in one transaction, so a
    failure leaves the target as it was, and never under a connection's feet."""
    target = sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if keep_previous_as is not None:
            _sqlite_copy(target, keep_previous_as)
        _sqlite_copy(staged, target)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not write {target}: {exc}") from exc


def _sqlite_copy(source_path: Path, target_path: Path) -> None:
    source = sqlite3.connect(source_path, timeout=30)
    try:
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


# -- restoring: PostgreSQL ---------------------------------------------------------------------


def _maintenance_engine(url: str) -> Engine:
    # CREATE, RENAME and DROP DATABASE run outside any transaction, from another database.
    maintenance = make_url(url).set(database=MAINTENANCE_DATABASE)
    return create_engine(maintenance, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _quoted(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _postgres_database_exists(url: str) -> bool:
    name = make_url(url).database
    engine = _maintenance_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
    except SQLAlchemyError as exc:
        raise BackupError(f"database error: {_plain(exc)}") from exc
    finally:
        engine.dispose()
    return found is not None


def restore_postgres_scratch(
    dump_file: Path, url: str, scratch: str, counts: dict[str, int]
) -> None:
    """pg_restore into a new database ``scratch`` and check it there; dropped on any failure."""
    pg_restore = find_pg_tool("pg_restore")
    engine = _maintenance_engine(url)
    scratch_url = make_url(url).set(database=scratch).render_as_string(hide_password=False)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(
                f"CREATE DATABASE {_quoted(connection, scratch)} TEMPLATE template0"
            )
        try:
            run_pg_tool(
                [
                    pg_restore,
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={scratch}",
                    str(dump_file),
                ],
                scratch_url,
            )
            with _connected(scratch_url) as connection:
                verify(connection, counts)
        except BaseException:
            drop_postgres_database(url, scratch)
            raise
    except SQLAlchemyError as exc:
        raise BackupError(f"database error: {_plain(exc)}") from exc
    finally:
        engine.dispose()


def drop_postgres_database(url: str, name: str) -> None:
    engine = _maintenance_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {_quoted(connection, name)}")
    finally:
        engine.dispose()


def swap_postgres(url: str, scratch: str, previous_name: str, keep_previous: bool) -> str | None:
    """Rename the checked scratch database to the target's name; the target, if any, becomes
    ``previous_name`` (kept when asked, else dropped). Returns the kept name."""
    target = make_url(url).database or ""
    engine = _maintenance_engine(url)
    try:
        with engine.connect() as connection:
            _refuse_open_connections(connection, target)
            existed = _postgres_database_exists(url)
            if existed:
                connection.exec_driver_sql(
                    f"ALTER DATABASE {_quoted(connection, target)} "
                    f"RENAME TO {_quoted(connection, previous_name)}"
                )
            try:
                connection.exec_driver_sql(
                    f"ALTER DATABASE {_quoted(connection, scratch)} "
                    f"RENAME TO {_quoted(connection, target)}"
                )
            except SQLAlchemyError:
                if existed:  # put the target back as it was
                    connection.exec_driver_sql(
                        f"ALTER DATABASE {_quoted(connection, previous_name)} "
                        f"RENAME TO {_quoted(connection, target)}"
                    )
                raise
            if existed and not keep_previous:
                connection.exec_driver_sql(f"DROP DATABASE {_quoted(connection, previous_name)}")
    except SQLAlchemyError as exc:
        raise BackupError(f"database error: {_plain(exc)}") from exc
    finally:
        engine.dispose()
    return previous_name if existed and keep_previous else None


def _refuse_open_connections(connection: Connection, database: str) -> None:
    sessions = connection.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name"), {"name": database}
    ).scalar_one()
    if sessions:
        raise BackupError(
            f"{sessions} connection(s) are open to database {database}: stop the web app and "
            "the scheduler, then restore again"
        )
