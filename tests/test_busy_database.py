"""A busy database (another process holding the lock) is a 503 that says nothing was saved."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select

from app import create_app
from app.accounts.models import AccountToken, User
from app.db import is_busy_error
from tests.conftest import open_session
from tests.fixtures_accounts import People, csrf_of, sign_in

BUSY_TEXT = "The system is busy: nothing was saved. Please try again in a moment."
# How long the app waits for a lock in these tests (SQLite's busy timeout, PostgreSQL's
# lock_timeout): short, so that the refusal comes at once.
WAIT_MS = 300


@pytest.fixture
def busy_app(database_url: str, tmp_path: Path, people: People) -> Iterator[Flask]:
    """The app on the test's database, waiting only WAIT_MS for a lock."""
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLITE_BUSY_TIMEOUT_MS": WAIT_MS,
            "DATABASE_LOCK_TIMEOUT_MS": WAIT_MS,  # the app's own setting, nothing added here
        }
    )
    yield application
    application.extensions["db_engine"].dispose()


def test_postgresql_waits_for_a_lock_only_as_long_as_configured(app, busy_app) -> None:
    """Without lock_timeout a request blocked on a row lock waits until gunicorn kills it."""
    if app.extensions["db_engine"].dialect.name != "postgresql":
        pytest.skip("SQLite's busy timeout is checked by the other tests here")

    def lock_timeout(application: Flask) -> str:
        with application.extensions["db_engine"].connect() as connection:
            return connection.exec_driver_sql("SHOW lock_timeout").scalar_one()

    assert lock_timeout(app) == "15s"  # DATABASE_LOCK_TIMEOUT_MS's default
    assert lock_timeout(busy_app) == f"{WAIT_MS}ms"


@contextmanager
def another_process_holds_the_lock(database_url: str, table: str) -> Iterator[None]:
    """SQLite: another connection holds the write lock (BEGIN IMMEDIATE). PostgreSQL: another
    transaction holds ``table`` locked against everyone."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as holder:
        holder.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()
    engine.dispose()


def _invite(client, email: str, headers: dict[str, str] | None = None):
    return client.post(
        "/admin/users",
        headers=headers or {},
        data={
            "email": email,
            "full_name": "New Person",
            "roles": ["reviewer"],
            "csrf_token": csrf_of(client),
        },
    )


def _user_exists(app: Flask, email: str) -> bool:
    with open_session(app) as session:
        return session.exec(select(User).where(User.email == email)).first() is not None


def _tokens(app: Flask) -> int:
    with open_session(app) as session:
        return len(session.exec(select(AccountToken)).all())


def test_a_post_while_the_database_is_held_is_a_503_and_saves_nothing(
    busy_app: Flask, database_url: str, people: People
) -> None:
    admin = sign_in(busy_app.test_client(), people.admin)
    # On PostgreSQL the invitation's user row is written before the token's insert waits:
    # that row must go too.
    with another_process_holds_the_lock(database_url, "account_token"):
        started = time.monotonic()
        response = _invite(admin, "new.person@example.org")
        assert time.monotonic() - started < 2
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "The system is busy" in body and BUSY_TEXT in body
    assert "fault is on our side" not in body
    assert response.headers["Retry-After"] == "5"
    assert not _user_exists(busy_app, "new.person@example.org")
    assert _tokens(busy_app) == 0
    # Once the other process lets go, the same request goes through.
    again = _invite(admin, "new.person@example.org")
    assert again.status_code == 200
    assert _user_exists(busy_app, "new.person@example.org") and _tokens(busy_app) == 1


def test_an_htmx_request_gets_the_busy_message_as_a_fragment(
    busy_app: Flask, database_url: str, people: People
) -> None:
    admin = sign_in(busy_app.test_client(), people.admin)
    with another_process_holds_the_lock(database_url, "account_token"):
        response = _invite(admin, "htmx.person@example.org", headers={"HX-Request": "true"})
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="error-box" role="alert">')
    assert BUSY_TEXT in body and "<html" not in body
    assert not _user_exists(busy_app, "htmx.person@example.org")


def _busy_driver_error(app: Flask) -> Exception:
    if app.extensions["db_engine"].dialect.name == "sqlite":
        return sqlite3.OperationalError("database is locked")
    return psycopg.errors.SerializationFailure("could not serialize access")


def test_a_busy_database_at_the_commit_after_the_view_is_a_503(
    busy_app: Flask, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = sign_in(busy_app.test_client(), people.admin)
    # What production runs with (TESTING would re-raise an error from after_request).
    busy_app.config["PROPAGATE_EXCEPTIONS"] = False
    error = _busy_driver_error(busy_app)

    def commit_fails(self: Session) -> None:
        raise OperationalError("COMMIT", None, error)

    monkeypatch.setattr(Session, "commit", commit_fails)
    response = _invite(admin, "late.person@example.org")
    monkeypatch.undo()
    assert response.status_code == 503
    assert BUSY_TEXT in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"]  # the page keeps its security headers
    assert not _user_exists(busy_app, "late.person@example.org")


def test_any_other_database_error_is_still_the_500_page(
    busy_app: Flask, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = sign_in(busy_app.test_client(), people.admin)
    busy_app.config["PROPAGATE_EXCEPTIONS"] = False

    def commit_fails(self: Session) -> None:
        raise OperationalError("COMMIT", None, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(Session, "commit", commit_fails)
    response = _invite(admin, "late.person@example.org")
    monkeypatch.undo()
    assert response.status_code == 500
    assert "fault is on our side" in response.get_data(as_text=True)


def _assert_plain_busy_refusal(result: Any) -> None:
    assert result.exit_code == 1
    assert "Error: The system is busy: nothing was saved" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click's own exit, not the error


def test_a_command_on_a_busy_database_says_so_plainly(
    busy_app: Flask, database_url: str, people: People
) -> None:
    runner = busy_app.test_cli_runner()
    with another_process_holds_the_lock(database_url, "user_account"):
        result = runner.invoke(
            args=["users", "reset-password", people.reviewer.email, "--password-stdin"],
            input="a brand new passphrase\n",
        )
    _assert_plain_busy_refusal(result)
    refused_login = busy_app.test_client()
    refused_login.get("/login")
    response = refused_login.post(
        "/login",
        data={
            "email": people.reviewer.email,
            "password": "a brand new passphrase",
            "csrf_token": csrf_of(refused_login),
        },
    )
    assert response.status_code == 401  # the password was not changed


def test_every_feature_s_commands_refuse_plainly_when_busy(
    busy_app: Flask, database_url: str, people: People
) -> None:
    runner = busy_app.test_cli_runner()
    # The seed (app/cli.py) and the totals rebuild (progress) read and write other tables.
    for args, table in (
        (["seed", "plan"], "work_plan"),
        (["totals", "rebuild"], "approved_period_total"),
    ):
        with another_process_holds_the_lock(database_url, table):
            _assert_plain_busy_refusal(runner.invoke(args=args))


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.SerializationFailure("could not serialize access"),
    ],
    ids=["sqlite-locked", "pg-lock-timeout", "pg-deadlock", "pg-serialization"],
)
def test_busy_errors_are_recognised_bare_or_wrapped(error: Exception) -> None:
    assert is_busy_error(error)
    assert is_busy_error(OperationalError("SELECT 1", None, error))


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", None, sqlite3.OperationalError("no such table: x")),
        IntegrityError("INSERT", None, psycopg.errors.UniqueViolation("duplicate key")),
        OperationalError("SELECT 1", None, psycopg.errors.QueryCanceled("statement timeout")),
        ValueError("database is locked"),
        None,
    ],
    ids=["sqlite-no-table", "pg-unique", "pg-cancelled", "not-a-database-error", "none"],
)
def test_other_errors_are_not_busy(error: Exception | None) -> None:
    assert not is_busy_error(error)
