"""Imports benchmark: a 20,000-row workbook end to end against the floor of an import.

    .venv/bin/python bench/bench_imports.py [--rows 20000] [--runs 5] [--database sqlite]
    bash scripts/pg-test-cluster.sh .venv/bin/python bench/bench_imports.py --database postgres

Set-up (not timed): a migrated database with the seeded plan plus ROWS synthetic number
indicators that Thailand reports, a Thailand focal point, and the Thailand 2025-Q3 template for
those indicators, made by the app and filled in with openpyxl. Each round runs the floor and
the end-to-end import, each in a fresh child process on a fresh copy of that database, so memory
is measured per run and every run really writes ROWS values and ROWS revisions:

- floor: what any import of this file must do at the least. python-calamine reads the Values
  sheet into Python lists; one query matches the codes to indicator ids; then, in one
  transaction through the driver's own cursor (sqlite3 or psycopg, no SQLAlchemy), the report
  is opened (a draft submission row), the values are inserted with ``executemany`` and their
  revisions copied with one ``INSERT ... SELECT``, and the transaction commits. No checks, no
  preview, no archive, no audit event.
- end to end: the app's own path as the web upload runs it for the focal point (archive, zip
  and XML checks, parse, validate, preview, then the commit in one transaction).

The ratio end to end / floor is taken per round (the two runs of a round are next to each other
in time, so a busy machine slows both), and the median of those ratios is reported, with the
median of each measure. Peak memory is each child's high-water resident set size (VmHWM in
/proc/self/status; not ru_maxrss, which Linux carries over from the parent across fork and
exec), with its resident size just before the timed part began (interpreter and app loaded).
The rows each run wrote are counted after the timed part: both must have written the same.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATE, PERIOD = "THA", "2025-Q3"
FOCAL_POINT = "bench.focal.tha@example.org"
FIRST_SYNTHETIC_ID = 1_000_000
RATIO_TARGET = 1.5
MEMORY_TARGET_MB = 150


def _app(folder: Path, url: str):
    from app import create_app

    return create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder),
            "STORAGE_DIR": str(folder / "imports"),
            "SECRET_KEY": "bench",
        }
    )


def seed(folder: Path, url: str, rows: int) -> bytes:
    """Plan, ROWS synthetic indicators for Thailand and its focal point; returns the template."""
    from sqlalchemy import insert
    from sqlmodel import select

    from app.db import get_engine, unit_of_work
    from app.imports.services import template_for
    from app.plan import seed as plan_seed
    from app.plan.models import (
        Indicator,
        IndicatorReportingState,
        Initiative,
        MemberState,
        ReportingPeriod,
        WorkPlan,
    )
    from tests import factories

    app = _app(folder, url)
    with app.app_context():
        with unit_of_work() as session:
            plan_seed.load_plan(session)
        with unit_of_work() as session:
            state = session.exec(select(MemberState).where(MemberState.code == STATE)).one()
            initiative = session.exec(select(Initiative).order_by(Initiative.id)).first()
            plan = session.exec(select(WorkPlan)).one()
            session.execute(
                insert(Indicator),
                [
                    {
                        "id": FIRST_SYNTHETIC_ID + n,
                        "work_plan_id": plan.id,
                        "code": f"BX.{n:05d}",
                        "title": f"Synthetic output indicator {n}",
                        "level": "output",
                        "initiative_id": initiative.id,
                        "unit": "number",
                        "direction": "increase",
                        "aggregation": "per_period",
                        "frequency": "quarterly",
                        "target_value": 100.0,
                        "is_proposed": True,
                        "version": 1,
                    }
                    for n in range(rows)
                ],
            )
            session.execute(
                insert(IndicatorReportingState),
                [
                    {"indicator_id": FIRST_SYNTHETIC_ID + n, "member_state_id": state.id}
                    for n in range(rows)
                ],
            )
            factories.make_user(session, ["focal_point"], state, email=FOCAL_POINT)
        with unit_of_work() as session:
            state = session.exec(select(MemberState).where(MemberState.code == STATE)).one()
            period = session.exec(
                select(ReportingPeriod).where(ReportingPeriod.code == PERIOD)
            ).one()
            data = template_for(session, state, period)
    get_engine(app).dispose()
    return data


def fill(template: bytes, rows: int, path: Path) -> None:
    """The focal point's figures typed into the template (openpyxl, as Excel would save it)."""
    from openpyxl import load_workbook

    from app.imports.template import HEADER_ROW, VALUES_SHEET

    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook[VALUES_SHEET]
    headers = [c.value for c in sheet[HEADER_ROW]]
    value_column, code_column = headers.index("Value") + 1, headers.index("Code") + 1
    filled = 0
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        code = sheet.cell(row=row, column=code_column).value
        if isinstance(code, str) and code.startswith("BX."):
            sheet.cell(row=row, column=value_column, value=(row * 7) % 1000)
            filled += 1
    if filled != rows:
        raise SystemExit(f"the template holds {filled} synthetic rows, expected {rows}")
    workbook.save(path)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _written(url: str) -> dict[str, int]:
    """Rows of the tables an import writes to (counted outside the timed part)."""
    connection = _connect(url)
    cursor = connection.cursor()
    counts = {}
    for name, table in (
        ("values", "indicator_value"),
        ("revisions", "indicator_value_revision"),
        ("audit_events", "audit_event"),
    ):
        cursor.execute(f"SELECT count(*) FROM {table}")
        counts[name] = cursor.fetchone()[0]
    connection.close()
    return counts


# --- the floor: the driver's own cursor, no SQLAlchemy ---------------------------------------


def _connect(url: str) -> Any:
    """A DB-API connection: sqlite3 set up as the app's engine sets it up (WAL, foreign keys,
    synchronous=NORMAL), or psycopg."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database or "", isolation_level=None)
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        return connection
    import psycopg

    return psycopg.connect(parsed.set(drivername="postgresql").render_as_string(False))


def _read_values(workbook: Path) -> list[tuple[str, float]]:
    """(code, value) of every row with a value: the bare python-calamine read."""
    from python_calamine import CalamineWorkbook

    from app.imports.template import VALUES_SHEET

    with workbook.open("rb") as handle:
        grid = CalamineWorkbook.from_filelike(handle).get_sheet_by_name(VALUES_SHEET).to_python()
    header = next(i for i, row in enumerate(grid) if "Code" in row and "Value" in row)
    code_at, value_at = grid[header].index("Code"), grid[header].index("Value")
    return [
        (row[code_at], float(row[value_at]))
        for row in grid[header + 1 :]
        if len(row) > value_at and row[value_at] not in ("", None)
    ]


def _write_floor(url: str, values: list[tuple[str, float]]) -> int:
    """The same values and revisions as the import, written through a raw cursor in one
    transaction; returns the number of values written."""
    connection = _connect(url)
    postgres = not isinstance(connection, sqlite3.Connection)

    def sql(text: str) -> str:
        return text.replace("?", "%s") if postgres else text

    cursor = connection.cursor()
    now = datetime.now(UTC)
    # SQLAlchemy writes an aware datetime to SQLite as text in this form.
    stamp: Any = now if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    if not postgres:
        cursor.execute("BEGIN IMMEDIATE")
    cursor.execute(sql("SELECT id FROM member_state WHERE code = ?"), (STATE,))
    state_id = cursor.fetchone()[0]
    cursor.execute(sql("SELECT id FROM reporting_period WHERE code = ?"), (PERIOD,))
    period_id = cursor.fetchone()[0]
    cursor.execute(sql("SELECT id FROM user_account WHERE email = ?"), (FOCAL_POINT,))
    user_id = cursor.fetchone()[0]
    cursor.execute("SELECT code, id FROM indicator")
    indicator_ids = dict(cursor.fetchall())
    cursor.execute(
        sql(
            "INSERT INTO submission (member_state_id, reporting_period_id, status, created_at,"
            " review_comment, version) VALUES (?, ?, 'draft', ?, '', 1) RETURNING id"
        ),
        (state_id, period_id, stamp),
    )
    submission_id = cursor.fetchone()[0]
    cursor.executemany(
        sql(
            "INSERT INTO indicator_value (indicator_id, reporting_period_id, member_state_id,"
            " value, narrative, evidence_url, source, submission_id, corrected_after_close,"
            " updated_at, updated_by_id, version)"
            " VALUES (?, ?, ?, ?, '', '', 'upload', ?, ?, ?, ?, 1)"
        ),
        [
            (indicator_ids[code], period_id, state_id, value, submission_id, False, stamp, user_id)
            for code, value in values
        ],
    )
    cursor.execute(
        sql(
            "INSERT INTO indicator_value_revision (indicator_value_id, version, value, numerator,"
            " denominator, text_value, female, male, narrative, evidence_url, source,"
            " corrected_after_close, changed_at, changed_by_id, reason)"
            " SELECT id, version, value, numerator, denominator, text_value, female, male,"
            " narrative, evidence_url, source, corrected_after_close, updated_at,"
            " updated_by_id, ? FROM indicator_value WHERE submission_id = ?"
        ),
        ("workbook upload (floor)", submission_id),
    )
    if postgres:
        connection.commit()
    else:
        cursor.execute("COMMIT")
    connection.close()
    return len(values)


def child_floor(url: str, workbook: Path) -> dict:
    # Loaded before the clock starts, as the end-to-end process has the app loaded.
    import python_calamine  # noqa: F401

    import app.imports.template  # noqa: F401

    if not url.startswith("sqlite"):
        import psycopg  # noqa: F401

    counted = _written(url)
    before = _status_kb("VmRSS")
    started = time.perf_counter()
    values = _read_values(workbook)
    read = time.perf_counter()
    changed = _write_floor(url, values)
    seconds = time.perf_counter() - started
    peak = _status_kb("VmHWM")
    after = _written(url)
    return {
        "seconds": seconds,
        "read_seconds": read - started,
        "write_seconds": seconds - (read - started),
        "changed": changed,
        "rss_before_kb": before,
        "peak_rss_kb": peak,
        "written": {name: after[name] - counted[name] for name in after},
    }


# --- end to end: the app's own path ------------------------------------------------------------


def child_end_to_end(folder: Path, url: str, workbook: Path) -> dict:
    from sqlmodel import select

    from app.accounts.models import User
    from app.accounts.services import viewer_for
    from app.db import get_engine, unit_of_work
    from app.imports.ingest import commit, receive
    from app.imports.models import Upload
    from app.imports.safety import Limits

    app = _app(folder, url)
    data = workbook.read_bytes()
    counted = _written(url)
    with app.app_context():
        with unit_of_work(write=False) as session:
            viewer = viewer_for(
                session, session.exec(select(User).where(User.email == FOCAL_POINT)).one()
            )
        before = _status_kb("VmRSS")
        started = time.perf_counter()
        with unit_of_work() as session:
            upload = receive(
                session,
                data,
                workbook.name,
                viewer,
                storage_dir=folder / "imports",
                limits=Limits(),
                source="web",
            )
            if upload.outcome != "previewed":
                raise SystemExit(f"upload {upload.outcome}: {(upload.problems or [])[:3]}")
            upload_id = upload.id
        # Nothing of the first request outlives it (its upload holds the previewed rows).
        del upload
        # A second transaction, as the web loads a preview in a request of its own.
        with unit_of_work() as session:
            changed = commit(session, session.get(Upload, upload_id), viewer)
        seconds = time.perf_counter() - started
        peak = _status_kb("VmHWM")
        get_engine(app).dispose()
    after = _written(url)
    return {
        "seconds": seconds,
        "changed": changed,
        "rss_before_kb": before,
        "peak_rss_kb": peak,
        "written": {name: after[name] - counted[name] for name in after},
    }


# --- the parent: set-up, rounds, report ------------------------------------------------------


def _child(kind: str, folder: Path, url: str, workbook: Path) -> dict:
    """One measurement in a fresh interpreter, so the peak memory is this run's alone."""
    run_folder = Path(tempfile.mkdtemp(dir=folder))
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(run_folder), url, str(workbook)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _databases(backend: str, folder: Path):
    from tests.databases import POSTGRES_URL_VARIABLE, PostgresDatabases, SqliteDatabases

    if backend == "sqlite":
        return SqliteDatabases(folder / "databases"), f"SQLite {sqlite3.sqlite_version} (WAL)"
    admin_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not admin_url:
        raise SystemExit(
            f"{POSTGRES_URL_VARIABLE} is not set: run under bash scripts/pg-test-cluster.sh"
        )
    databases = PostgresDatabases(admin_url)
    return databases, f"PostgreSQL {databases.server_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5, help="rounds (floor + end to end each)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, folder, url, workbook = args.child
        if kind == "floor":
            result = child_floor(url, Path(workbook))
        else:
            result = child_end_to_end(Path(folder), url, Path(workbook))
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="rso-bench-") as name:
        folder = Path(name)
        started = time.perf_counter()
        (folder / "databases").mkdir()
        databases, version = _databases(args.database, folder)
        try:
            databases.migrate_template()
            template: list[bytes] = []
            databases.seed_template(lambda url: template.append(seed(folder, url, args.rows)))
            workbook = folder / "filled.xlsx"
            fill(template[0], args.rows, workbook)
            size = workbook.stat().st_size
            print(f"set-up: {time.perf_counter() - started:.1f} s; workbook {size:,} bytes")
            rounds = []
            for _ in range(args.runs):
                measured = {}
                for kind in ("floor", "end-to-end"):
                    url = databases.copy_of_template(seeded=True)
                    measured[kind] = _child(kind, folder, url, workbook)
                    databases.drop(url)
                rounds.append(measured)
        finally:
            databases.close()
        report(args, version, rounds)


def _mb(kb: float) -> str:
    return f"{kb / 1024:.0f} MB"


def report(args: argparse.Namespace, version: str, rounds: list[dict]) -> None:
    from bench.harness import machine

    floor = [r["floor"] for r in rounds]
    full = [r["end-to-end"] for r in rounds]
    if {r["changed"] for r in floor} != {r["changed"] for r in full}:
        raise SystemExit("the floor and the import wrote different numbers of values")
    ratios = [f["seconds"] / b["seconds"] for f, b in zip(full, floor, strict=True)]
    ratio = statistics.median(ratios)
    peak = statistics.median(r["peak_rss_kb"] for r in full)

    def line(label: str, runs: list[dict], key: str) -> str:
        values = [r[key] for r in runs]
        each = ", ".join(f"{v:.2f}" for v in values)
        return f"| {label} | {statistics.median(values):.2f} s | {each} |"

    def verdict(met: bool) -> str:
        return "**met**" if met else "**missed**"

    print(f"{machine()}; {version}; rows {args.rows:,}; rounds {args.runs}")
    print("| measure | median | each round |")
    print("|---|---|---|")
    print(line("floor: python-calamine read of the Values sheet", floor, "read_seconds"))
    print(
        line("floor: raw-cursor writes in one transaction, commit included", floor, "write_seconds")
    )
    print(line("floor, in all", floor, "seconds"))
    print(line("end to end: archive, checks, parse, validate, preview, commit", full, "seconds"))
    print(
        f"| ratio end to end / floor (per round, then the median) | **{ratio:.2f}x** | "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f"; target {RATIO_TARGET}x: {verdict(ratio <= RATIO_TARGET)} |"
    )
    before = statistics.median(r["rss_before_kb"] for r in full)
    print(
        f"| peak resident memory (VmHWM), end-to-end process | {_mb(peak)} | "
        f"{_mb(before)} before the import began; target {MEMORY_TARGET_MB} MB: "
        f"{verdict(peak / 1024 <= MEMORY_TARGET_MB)} |"
    )
    floor_peak = statistics.median(r["peak_rss_kb"] for r in floor)
    floor_before = statistics.median(r["rss_before_kb"] for r in floor)
    print(
        f"| peak resident memory (VmHWM), floor process | {_mb(floor_peak)} | "
        f"{_mb(floor_before)} before the read began |"
    )
    for label, runs in (("end to end", full), ("floor", floor)):
        written = sorted({json.dumps(r["written"], sort_keys=True) for r in runs})
        print(f"| rows written per run, {label} | {'; '.join(written)} | |")


if __name__ == "__main__":
    main()
