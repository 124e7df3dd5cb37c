"""Fixtures: a fresh, migrated database for every test, and small factories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from app import create_app, schema
from app.db import make_engine, unit_of_work
from app.plan import seed as plan_seed

pytest_plugins = ["tests.fixtures_accounts"]


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


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the migrations once; each test then starts from a copy of the migrated file."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    schema.upgrade(engine, url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: Path) -> str:
    path = tmp_path / "rso.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


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
    """The real work plan and demo activities loaded, as the run command does."""
    with app.app_context():
        with unit_of_work() as db_session:
            plan_seed.load_plan(db_session)
        with unit_of_work() as db_session:
            plan_seed.load_demo(db_session)
    return app


def open_session(app: Flask) -> Session:
    """A session for assertions outside a request (caller closes it)."""
    return Session(app.extensions["db_engine"], expire_on_commit=False)
