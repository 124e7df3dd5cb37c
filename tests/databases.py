"""Test databases on each backend: migrated once per session, then a fresh copy for every test.

SQLite copies the migrated file; PostgreSQL creates each test's database from a migrated template
database (``CREATE DATABASE ... TEMPLATE``), which takes milliseconds.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from itertools import count
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app import schema
from app.db import make_engine

POSTGRES_URL_VARIABLE = "TEST_POSTGRES_URL"


class SqliteDatabases:
    name = "sqlite"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._numbers = count(1)
        self._template: Path | None = None
        self._seeded: Path | None = None

    def _new_path(self, stem: str) -> Path:
        folder = self.root / f"{stem}-{next(self._numbers)}"
        folder.mkdir()
        return folder / "rso.db"

    def migrate_template(self) -> str:
        path = self.root / "template.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        schema.upgrade(engine, url)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        self._template = path
        return url

    def seed_template(self, seed: Callable[[str], None]) -> str:
        """A second template: the migrated one with ``seed(url)`` applied."""
        assert self._template is not None, "migrate_template() first"
        path = self.root / "seeded.db"
        shutil.copyfile(self._template, path)
        url = f"sqlite:///{path}"
        seed(url)
        engine = make_engine(url)
        with engine.connect() as connection:  # everything into the main file, which is copied
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        self._seeded = path
        return url

    def copy_of_template(self, seeded: bool = False) -> str:
        source = self._seeded if seeded else self._template
        assert source is not None, "migrate_template() (and seed_template()) first"
        path = self._new_path("test")
        shutil.copyfile(source, path)
        return f"sqlite:///{path}"

    def empty(self) -> str:
        return f"sqlite:///{self._new_path('empty')}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        shutil.rmtree(path.parent, ignore_errors=True)

    def close(self) -> None:
        pass


class PostgresDatabases:
    """Databases in the server ``TEST_POSTGRES_URL`` names (a throwaway cluster: see scripts/)."""

    name = "postgres"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        # CREATE/DROP DATABASE cannot run inside a transaction.
        self._admin = create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        self._prefix = f"rso_{os.getpid()}"
        self._numbers = count(1)
        self._template: str | None = None
        self._seeded: str | None = None
        self._created: set[str] = set()

    def _url_of(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def _create(self, database: str, template: str = "template0") -> str:
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        self._created.add(database)
        return self._url_of(database)

    def migrate_template(self) -> str:
        database = f"{self._prefix}_template"
        url = self._create(database)
        engine = make_engine(url)
        schema.upgrade(engine, url)
        engine.dispose()  # a template database must have no open connection when it is copied
        self._template = database
        return url

    def seed_template(self, seed: Callable[[str], None]) -> str:
        """A second template: the migrated one with ``seed(url)`` applied."""
        assert self._template is not None, "migrate_template() first"
        database = f"{self._prefix}_seeded"
        url = self._create(database, self._template)
        seed(url)  # must dispose of its engine: a template cannot have open connections
        self._seeded = database
        return url

    def copy_of_template(self, seeded: bool = False) -> str:
        source = self._seeded if seeded else self._template
        assert source is not None, "migrate_template() (and seed_template()) first"
        return self._create(f"{self._prefix}_test_{next(self._numbers)}", source)

    def empty(self) -> str:
        return self._create(f"{self._prefix}_empty_{next(self._numbers)}")

    def drop(self, url: str) -> None:
        database = make_url(url).database
        assert database in self._created, f"not a test database: {database}"
        with self._admin.connect() as connection:
            # FORCE ends a connection a test left open; a leak still shows as a ResourceWarning.
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._created.discard(database)

    def close(self) -> None:
        for database in sorted(self._created):
            self.drop(self._url_of(database))
        self._admin.dispose()

    def server_version(self) -> str:
        with self._admin.connect() as connection:
            return str(connection.exec_driver_sql("SHOW server_version").scalar())
