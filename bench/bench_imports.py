"""Imports benchmark: a 20,000-row workbook end to end against a bare python-calamine read.

    .venv/bin/python bench/bench_imports.py [--rows 20000] [--runs 5]

Set-up (not timed): a migrated SQLite database with the seeded plan plus ROWS synthetic number
indicators that Thailand reports, and the Thailand 2025-Q3 template for them, made by the app
and filled in with openpyxl. Each run is a fresh child process on a fresh copy of that database,
so memory is measured per run and every commit really writes ROWS values:

- bare: python-calamine opens the file and reads the Values sheet into Python lists;
- end to end: the app's own path (zip and XML checks, parse, validate, preview, archive, commit
  in one transaction), as the imports inbox runs it.

Peak memory is the child's high-water resident set size (VmHWM in /proc/self/status; not
ru_maxrss, which Linux carries over from the parent across fork and exec, so it would report the
benchmark's own workbook-building peak), and, for comparison, the same
child's resident size just before the import started (the interpreter and the app loaded).
The rows each commit wrote (values, revisions, audit events) are counted after the timed part.
Prints a Markdown table; the median of the runs is what docs/BENCHMARKS.md reports.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATE, PERIOD = "THA", "2025-Q3"


def _app(folder: Path, database: Path):
    from app import create_app

    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "INSTANCE_PATH": str(folder),
            "STORAGE_DIR": str(folder / "imports"),
            "SECRET_KEY": "bench",
        }
    )


def prepare(folder: Path, rows: int) -> tuple[Path, Path]:
    """The database (plan + ROWS indicators for Thailand) and the filled workbook."""
    from openpyxl import load_workbook
    from sqlalchemy import insert
    from sqlmodel import select

    from app import schema
    from app.db import get_engine, unit_of_work
    from app.imports.services import template_for
    from app.imports.template import HEADER_ROW, VALUES_SHEET
    from app.plan import seed
    from app.plan.models import (
        Indicator,
        IndicatorReportingState,
        Initiative,
        MemberState,
        ReportingPeriod,
        WorkPlan,
    )

    database = folder / "template.db"
    app = _app(folder, database)
    with app.app_context():
        schema.upgrade(get_engine(), f"sqlite:///{database}")
        with unit_of_work() as session:
            seed.load_plan(session)
        with unit_of_work() as session:
            state = session.exec(select(MemberState).where(MemberState.code == STATE)).one()
            initiative = session.exec(select(Initiative).order_by(Initiative.id)).first()
            plan = session.exec(select(WorkPlan)).one()
            first_id = 1_000_000
            session.execute(
                insert(Indicator),
                [
                    {
                        "id": first_id + n,
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
                [{"indicator_id": first_id + n, "member_state_id": state.id} for n in range(rows)],
            )
        with unit_of_work() as session:
            state = session.exec(select(MemberState).where(MemberState.code == STATE)).one()
            period = session.exec(
                select(ReportingPeriod).where(ReportingPeriod.code == PERIOD)
            ).one()
            data = template_for(session, state, period)
    get_engine(app).dispose()

    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook[VALUES_SHEET]
    value_column = [c.value for c in sheet[HEADER_ROW]].index("Value") + 1
    code_column = [c.value for c in sheet[HEADER_ROW]].index("Code") + 1
    filled = 0
    for row in range(HEADER_ROW + 1, sheet.max_row + 1):
        code = sheet.cell(row=row, column=code_column).value
        if isinstance(code, str) and code.startswith("BX."):
            sheet.cell(row=row, column=value_column, value=(row * 7) % 1000)
            filled += 1
    if filled != rows:
        raise SystemExit(f"the template holds {filled} synthetic rows, expected {rows}")
    path = folder / "filled.xlsx"
    workbook.save(path)
    return database, path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _rss_now_kb() -> int:
    return _status_kb("VmRSS")


def child_bare(workbook: Path) -> dict:
    from python_calamine import CalamineWorkbook

    from app.imports.template import VALUES_SHEET

    before = _rss_now_kb()
    started = time.perf_counter()
    with workbook.open("rb") as handle:
        book = CalamineWorkbook.from_filelike(handle)
        grid = book.get_sheet_by_name(VALUES_SHEET).to_python()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(grid), "rss_before_kb": before}


def _written(session) -> dict[str, int]:
    """Rows of the tables a commit writes to (counted outside the timed part)."""
    from sqlalchemy import func, select

    from app.audit.models import AuditEvent
    from app.progress.models import IndicatorValue, IndicatorValueRevision

    return {
        name: session.execute(select(func.count()).select_from(model)).scalar_one()
        for name, model in (
            ("values", IndicatorValue),
            ("revisions", IndicatorValueRevision),
            ("audit_events", AuditEvent),
        )
    }


def child_end_to_end(folder: Path, database: Path, workbook: Path) -> dict:
    from app.accounts.services import Viewer
    from app.db import unit_of_work
    from app.imports.ingest import commit, receive
    from app.imports.safety import Limits

    manager = Viewer(None, frozenset({"rso_manager"}), None, "bench")

    app = _app(folder, database)
    data = workbook.read_bytes()
    with app.app_context():
        with unit_of_work() as session:
            counted = _written(session)
        before = _rss_now_kb()
        started = time.perf_counter()
        with unit_of_work() as session:
            upload = receive(
                session,
                data,
                workbook.name,
                manager,
                storage_dir=folder / "imports",
                limits=Limits(),
                source="inbox",
            )
            if upload.outcome != "previewed":
                raise SystemExit(f"upload {upload.outcome}: {(upload.problems or [])[:3]}")
            changed = commit(session, upload, manager)
        seconds = time.perf_counter() - started
        peak = _status_kb("VmHWM")
        with unit_of_work() as session:
            after = _written(session)
    written = {name: after[name] - counted[name] for name in after}
    return {
        "seconds": seconds,
        "changed": changed,
        "rss_before_kb": before,
        "peak_rss_kb": peak,
        "written": written,
    }


def _child(kind: str, folder: Path, database: Path, workbook: Path) -> dict:
    """One measurement in a fresh interpreter, so the peak memory is this run's alone."""
    run_folder = Path(tempfile.mkdtemp(dir=folder))
    run_database = run_folder / "rso.db"
    shutil.copyfile(database, run_database)
    paths = [str(run_folder), str(run_database), str(workbook)]
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, *paths],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    shutil.rmtree(run_folder, ignore_errors=True)
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, folder, database, workbook = args.child
        if kind == "bare":
            result = child_bare(Path(workbook))
        else:
            result = child_end_to_end(Path(folder), Path(database), Path(workbook))
        result.setdefault("peak_rss_kb", _status_kb("VmHWM"))
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        started = time.perf_counter()
        database, workbook = prepare(folder, args.rows)
        size = workbook.stat().st_size
        print(f"set-up: {time.perf_counter() - started:.1f} s; workbook {size:,} bytes")
        bare, full = [], []
        for _ in range(args.runs):
            bare.append(_child("bare", folder, database, workbook))
            full.append(_child("end-to-end", folder, database, workbook))
        report(args, bare, full)


def report(args: argparse.Namespace, bare: list[dict], full: list[dict]) -> None:
    bare_s = statistics.median(r["seconds"] for r in bare)
    full_s = statistics.median(r["seconds"] for r in full)
    peak_mb = statistics.median(r["peak_rss_kb"] for r in full) / 1024
    base_mb = statistics.median(r["rss_before_kb"] for r in full) / 1024
    bare_peak_mb = statistics.median(r["peak_rss_kb"] for r in bare) / 1024
    changed = {r["changed"] for r in full}
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{len(os.sched_getaffinity(0))} cores; rows {args.rows:,}; runs {args.runs}"
    )
    print("| measure | median | runs |")
    print("|---|---|---|")
    print(
        f"| bare python-calamine read of the Values sheet | {bare_s:.2f} s | "
        + ", ".join(f"{r['seconds']:.2f}" for r in bare)
        + " |"
    )
    print(
        f"| end to end: checks, parse, validate, preview, commit | {full_s:.2f} s | "
        + ", ".join(f"{r['seconds']:.2f}" for r in full)
        + " |"
    )
    print(f"| ratio end to end / bare | {full_s / bare_s:.1f}x | target 3x |")
    print(
        f"| peak resident memory, end-to-end process | {peak_mb:.0f} MB | "
        f"{base_mb:.0f} MB before the import began; target 150 MB |"
    )
    print(f"| peak resident memory, bare-read process | {bare_peak_mb:.0f} MB | |")
    print(f"| values written per commit | {', '.join(str(c) for c in sorted(changed))} | |")
    written = {json.dumps(r["written"], sort_keys=True) for r in full}
    print(f"| rows written per commit | {'; '.join(sorted(written))} | |")


if __name__ == "__main__":
    main()
