"""Engine, metadata conventions and the one-session-per-unit-of-work rule.

Services receive a ``Session`` and only flush; the boundary (a request, a CLI command, a job)
commits or rolls back in exactly one place: ``request_session`` for requests and
``unit_of_work`` for everything else.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, abort, current_app, g, request
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlmodel import Session, SQLModel

# Set before any model is declared so that every constraint has a stable, predictable name:
# Alembic can only drop or alter a constraint it can name, on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

WRITE_OPTION = "rso_write_transaction"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# SQLSTATEs PostgreSQL gives when another transaction is in the way: lock_not_available (a lock
# or statement timeout), deadlock_detected and serialization_failure. Retrying later succeeds.
_BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})
_SQLITE_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
BUSY_MESSAGE = "The system is busy: nothing was saved. Please try again in a moment."


def is_busy_error(exc: BaseException | None) -> bool:
    """Whether an error means "another writer holds the database", not a fault: SQLite's
    "database is locked" after the busy timeout, or PostgreSQL's lock and serialisation
    failures. ``exc`` may be SQLAlchemy's wrapper or the driver's own exception."""
    driver_error = getattr(exc, "orig", None) or exc
    if isinstance(driver_error, sqlite3.OperationalError):
        # The primary result code is the low byte of an extended one (SQLITE_BUSY_SNAPSHOT...).
        code = getattr(driver_error, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_BUSY_CODES
        return "database is locked" in str(driver_error)
    return getattr(driver_error, "sqlstate", None) in _BUSY_SQLSTATES


class StopWork(RuntimeError):
    """A unit-of-work factory may open no more units (a job that lost its lock): whatever loop
    is handing out work must stop, never count it as one item's failure."""


# JSON columns are written without the spaces json.dumps puts after "," and ":": a workbook's
# preview keeps 20,000 rows, a sixth smaller and quicker to write and to read back this way.
_COMPACT_JSON = functools.partial(json.dumps, separators=(",", ":"))


def make_engine(
    url: str, *, sqlite_busy_timeout_ms: int = 15000, lock_timeout_ms: int | None = None
) -> Engine:
    """Create an engine; on SQLite, make it behave like a real multi-writer database.

    On PostgreSQL, ``lock_timeout_ms`` bounds how long a statement waits for a lock another
    transaction holds (lock_timeout): a request then gets the busy page instead of waiting
    until gunicorn kills its worker. None (migrations, tests' own engines) waits as long as
    it takes."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": sqlite_busy_timeout_ms / 1000, "check_same_thread": False},
            json_serializer=_COMPACT_JSON,
        )
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
        return engine
    if lock_timeout_ms is None:
        return create_engine(url, pool_pre_ping=True, json_serializer=_COMPACT_JSON)
    # Set at connection start (libpq options), so it holds in every transaction and survives
    # the rollback the pool does when a connection is returned.
    return create_engine(
        url,
        pool_pre_ping=True,
        json_serializer=_COMPACT_JSON,
        connect_args={"options": f"-c lock_timeout={int(lock_timeout_ms)}"},
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock up front, so a concurrent writer waits on the busy
        # timeout instead of failing half-way with "database is locked"; readers stay deferred.
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        sqlite_busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        lock_timeout_ms=app.config["DATABASE_LOCK_TIMEOUT_MS"],
    )
    app.extensions["db_engine"] = engine
    app.after_request(_commit_request_session)
    app.teardown_appcontext(_close_request_session)


def refuse_nul_characters() -> None:
    """PostgreSQL cannot store or even compare text holding a NUL character (SQLite can).

    No person types one, so a request carrying one is refused as malformed, on every database,
    before any query sees it (otherwise PostgreSQL fails with a DataError: a 500 page).
    Registered by create_app after the viewer is loaded, so the 400 page shows who is signed in.
    """
    values = [value for _key, value in request.args.items(multi=True)]
    values += (request.view_args or {}).values()
    if request.method not in _SAFE_METHODS:
        values += [value for _key, value in request.form.items(multi=True)]
    if any(isinstance(value, str) and "\x00" in value for value in values):
        abort(400)


def get_engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["db_engine"]


def _new_session(engine: Engine, *, write: bool) -> Session:
    bind = engine.execution_options(**{WRITE_OPTION: True}) if write else engine
    return Session(bind=bind, expire_on_commit=False)


def request_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        write = request.method not in _SAFE_METHODS
        g.db_session = _new_session(get_engine(), write=write)
    return g.db_session


def abandon_request_session() -> None:
    """Roll back and close the request's session at once, for an error page that must not
    touch the database again (it is busy): the next query would wait on the same lock."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def _commit_request_session(response: Any) -> Any:
    session: Session | None = g.get("db_session")
    if session is not None:
        # A view may ask to keep what it wrote even when refusing (a failed log-in is counted).
        if response.status_code < 400 or g.get("commit_refusal"):
            session.commit()
        else:
            session.rollback()
    return response


def _close_request_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


@contextmanager
def unit_of_work(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """One session for a CLI command or a job: commit on success, roll back on any error."""
    session = _new_session(engine or get_engine(), write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
