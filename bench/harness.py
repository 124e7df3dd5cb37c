"""What the benchmarks share: a migrated, seeded database with people, gunicorn, the machine.

A benchmark measures; it never asserts. Everything runs on 127.0.0.1, bounded in count and time,
and whatever is started is stopped. PostgreSQL comes from TEST_POSTGRES_URL, which
scripts/pg-test-cluster.sh sets for a throwaway cluster.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from app import create_app
from app.db import unit_of_work
from app.plan import seed as plan_seed
from app.plan.models import MemberState
from tests import factories
from tests.databases import POSTGRES_URL_VARIABLE, PostgresDatabases, SqliteDatabases

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = PROJECT_ROOT / "docs" / "BENCHMARKS.md"
PASSWORD = factories.DEFAULT_PASSWORD


@dataclass
class Setting:
    database_url: str
    root: Path
    backend: str
    server_version: str


@contextmanager
def seeded_database(backend: str) -> Iterator[Setting]:
    """A fresh database of the real work plan and demo data, dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="rso-bench-") as folder:
        root = Path(folder)
        if backend == "postgres":
            admin_url = os.environ.get(POSTGRES_URL_VARIABLE)
            if not admin_url:
                raise SystemExit(
                    f"{POSTGRES_URL_VARIABLE} is not set: run under "
                    "bash scripts/pg-test-cluster.sh, or use --database sqlite"
                )
            databases: SqliteDatabases | PostgresDatabases = PostgresDatabases(admin_url)
            version = f"PostgreSQL {databases.server_version()}"
        else:
            databases = SqliteDatabases(root)
            version = "SQLite (WAL)"
        try:
            databases.migrate_template()
            url = databases.copy_of_template()
            _seed(url, root)
            yield Setting(url, root / "server", backend, version)
        finally:
            databases.close()


def _app(url: str, root: Path):
    return create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-key",
            "INSTANCE_PATH": str(root / "seed-instance"),
            "STORAGE_DIR": str(root / "server" / "imports"),
            "REPORTS_DIR": str(root / "server" / "reports"),
        }
    )


def _seed(url: str, root: Path) -> None:
    app = _app(url, root)
    with app.app_context():
        with unit_of_work() as session:
            plan_seed.load_plan(session)
        with unit_of_work() as session:
            plan_seed.load_demo(session)
    app.extensions["db_engine"].dispose()


def add_people(setting: Setting, roles: list[str], state_codes: list[str | None]) -> list[str]:
    """One user per entry (with that member state, if any); returns their e-mail addresses."""
    app = _app(setting.database_url, setting.root.parent)
    emails = []
    with app.app_context(), unit_of_work() as session:
        for number, code in enumerate(state_codes):
            state = None
            if code:
                state = session.exec(select(MemberState).where(MemberState.code == code)).one()
            email = f"bench.{'-'.join(roles)}.{code or number}@example.org".lower()
            factories.make_user(session, roles, state, email=email)
            emails.append(email)
    app.extensions["db_engine"].dispose()
    return emails


def machine() -> str:
    """The line that says where figures were measured."""
    return (
        f"{os.cpu_count()} cores (`nproc`), Python {platform.python_version()} (`python -V`), "
        f"{platform.system()} {platform.release()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def write_section(heading: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replace (or add) the section ``## heading`` of docs/BENCHMARKS.md."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")
