"""Fixtures: a fresh, migrated database for every test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from app import create_app
from app.db import unit_of_work
from app.plan import seed as plan_seed
from tests.databases import POSTGRES_URL_VARIABLE, PostgresDatabases, SqliteDatabases

pytest_plugins = ["tests.fixtures_accounts", "tests.fixtures_uploads", "tests.smtp_server"]


@pytest.fixture(scope="session", autouse=True)
def _instance_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test writes into the developer's own instance folder (database, keys, log-ins)."""
    previous = os.environ.get("INSTANCE_PATH")
    os.environ["INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    yield
    if previous is None:
        os.environ.pop("INSTANCE_PATH", None)
    else:
        os.environ["INSTANCE_PATH"] = previous


BACKENDS = ["sqlite", "postgres"]
_NO_POSTGRES = (
    f"PostgreSQL: {POSTGRES_URL_VARIABLE} is not set "
    "(bash scripts/test starts a throwaway cluster and sets it)"
)


_PARTS = pytest.StashKey[dict[str, str]]()


def _part_of(item: pytest.Item) -> str:
    """Where a test runs: "browser", "sqlite", "postgres", or "none" (needs no database)."""
    if item.get_closest_marker("browser"):
        return "browser"
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("database_backend", "none") if callspec else "none"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tag each test with the database it runs on, so `-m "not postgres"` picks one backend."""
    config.stash[_PARTS] = {item.nodeid: _part_of(item) for item in items}
    for item in items:
        if _part_of(item) != "postgres":
            continue
        item.add_marker(pytest.mark.postgres)
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite-specific test"))
        elif not os.environ.get(POSTGRES_URL_VARIABLE):
            item.add_marker(pytest.mark.skip(reason=_NO_POSTGRES))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Count outcomes per part (SQLite, PostgreSQL, browser), so a skipped part is never missed.

    With RSO_TEST_SUMMARY set, the counts are also written there for scripts/test's last line.
    """
    parts = config.stash.get(_PARTS, {})
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        seen: set[str] = set()
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", None)
            if nodeid is None or nodeid in seen:
                continue
            seen.add(nodeid)
            part = counts.setdefault(parts.get(nodeid, "none"), {})
            part[outcome] = part.get(outcome, 0) + 1
    lines = [
        f"{part} " + " ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
        for part, outcomes in sorted(counts.items())
    ]
    terminalreporter.write_sep("-", "tests per part")
    for line in lines:
        terminalreporter.write_line(line)
    if target := os.environ.get("RSO_TEST_SUMMARY"):
        Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session", params=BACKENDS)
def database_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqliteDatabases | PostgresDatabases]:
    """Every test that uses a database runs once on SQLite and once on PostgreSQL."""
    if request.param == "postgres":
        url = os.environ.get(POSTGRES_URL_VARIABLE)
        if not url:
            pytest.skip(_NO_POSTGRES)
        databases: SqliteDatabases | PostgresDatabases = PostgresDatabases(url)
    else:
        databases = SqliteDatabases(tmp_path_factory.mktemp("sqlite"))
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def migrated_template(database_backend: SqliteDatabases | PostgresDatabases) -> str:
    """Run the migrations once per backend; each test then starts from a copy (its URL)."""
    return database_backend.migrate_template()


def _load_plan_and_demo(url: str) -> None:
    application = create_app({"DATABASE_URL": url, "SECRET_KEY": "seed", "TESTING": True})
    with application.app_context():
        with unit_of_work() as db_session:
            plan_seed.load_plan(db_session)
        with unit_of_work() as db_session:
            plan_seed.load_demo(db_session)
    application.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def seeded_template(
    database_backend: SqliteDatabases | PostgresDatabases, migrated_template: str
) -> str:
    """The work plan and demo activities seeded once per backend, as the run command does."""
    return database_backend.seed_template(_load_plan_and_demo)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest,
    database_backend: SqliteDatabases | PostgresDatabases,
    migrated_template: str,
) -> Iterator[str]:
    """A fresh, migrated database of this test's own, dropped afterwards; already seeded when
    the test asks for the seeded plan (seeding each test's database took a second a test)."""
    seeded = "seeded" in request.fixturenames
    if seeded:
        request.getfixturevalue("seeded_template")
    url = database_backend.copy_of_template(seeded=seeded)
    yield url
    database_backend.drop(url)


@pytest.fixture
def empty_database_url(database_backend: SqliteDatabases | PostgresDatabases) -> Iterator[str]:
    """A fresh database with no table at all (not migrated)."""
    url = database_backend.empty()
    yield url
    database_backend.drop(url)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "STORAGE_DIR": str(tmp_path / "imports"),
            "REPORTS_DIR": str(tmp_path / "reports"),
            # Tests write a workbook into the inbox and scan at once.
            "IMPORT_INBOX_SETTLE_SECONDS": 0,
        }
    )
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session for service-level tests; rolled back at the end (nothing is committed)."""
    with app.app_context():
        db_session = Session(app.extensions["db_engine"], expire_on_commit=False)
        try:
            yield db_session
        finally:
            db_session.rollback()
            db_session.close()


@pytest.fixture
def seeded(app: Flask) -> Flask:
    """The real work plan and demo activities loaded, as the run command does (the app's
    database is a copy of the seeded template: see ``database_url``)."""
    return app


def open_session(app: Flask) -> Session:
    """A session for assertions outside a request (caller closes it)."""
    return Session(app.extensions["db_engine"], expire_on_commit=False)
