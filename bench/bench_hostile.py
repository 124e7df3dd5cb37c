"""Hostile files: how long the app takes to refuse each one, and the memory it uses meanwhile.

    .venv/bin/python bench/bench_hostile.py [--runs 5]

Each case (the same list the tests use, tests/hostile_files.py) goes through the app's own
upload path (`imports.ingest.receive`: archive, zip and XML checks, parse, validate) against
a seeded SQLite database, and must be refused. In the same run, the valid Thailand 2025-Q3
workbook goes through the same path as the baseline. Reports the median time of the runs and
the peak Python heap (tracemalloc) of one run per case; the issue's bar is a refusal within two
seconds with bounded memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from sqlmodel import select

    from app import create_app, schema
    from app.accounts.services import Viewer
    from app.db import get_engine, unit_of_work
    from app.imports.ingest import receive
    from app.imports.safety import Limits
    from app.imports.services import template_for
    from app.plan import seed
    from app.plan.models import MemberState, ReportingPeriod
    from tests.hostile_files import HOSTILE_CASES
    from tests.workbooks import fill, valid_answers

    manager = Viewer(None, frozenset({"rso_manager"}), None, "bench")

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = f"sqlite:///{folder}/rso.db"
        app = create_app(
            {
                "DATABASE_URL": url,
                "INSTANCE_PATH": str(folder),
                "STORAGE_DIR": str(folder / "imports"),
                "SECRET_KEY": "bench",
            }
        )
        with app.app_context():
            schema.upgrade(get_engine(), url)
            with unit_of_work() as session:
                seed.load_plan(session)
            with unit_of_work() as session:
                state = session.exec(select(MemberState).where(MemberState.code == "THA")).one()
                period = session.exec(
                    select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
                ).one()
                template = template_for(session, state, period)
            good = fill(template, valid_answers(template))

            def upload(data: bytes) -> tuple[float, str]:
                started = time.perf_counter()
                with unit_of_work() as session:
                    outcome = receive(
                        session,
                        data,
                        "report.xlsx",
                        manager,
                        storage_dir=folder / "imports",
                        limits=Limits(),
                        source="inbox",
                    ).outcome
                    session.rollback()  # a benchmark leaves no uploads behind
                return time.perf_counter() - started, outcome

            def measure(data: bytes) -> tuple[float, float, str]:
                times, outcome = [], ""
                for _ in range(args.runs):
                    seconds, outcome = upload(data)
                    times.append(seconds)
                tracemalloc.start()
                upload(data)
                _now, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                return statistics.median(times), peak / 2**20, outcome

            base_s, base_mb, base_outcome = measure(good)
            rows = []
            for label, make, _expected in HOSTILE_CASES:
                data = make(good)
                seconds, peak, outcome = measure(data)
                rows.append((label, len(data), seconds, peak, outcome))
        get_engine(app).dispose()

    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{len(os.sched_getaffinity(0))} cores; runs {args.runs}"
    )
    print("| file | size | outcome | median time | vs valid workbook | peak Python heap |")
    print("|---|---|---|---|---|---|")
    print(
        f"| valid workbook (baseline) | {len(good):,} B | {base_outcome} | "
        f"{base_s * 1000:.0f} ms | 1.0x | {base_mb:.1f} MB |"
    )
    for label, size, seconds, peak, outcome in rows:
        print(
            f"| {label} | {size:,} B | {outcome} | {seconds * 1000:.0f} ms | "
            f"{seconds / base_s:.1f}x | {peak:.1f} MB |"
        )
    slowest = max(rows, key=lambda row: row[2])
    print(f"slowest refusal: {slowest[0]}, {slowest[2] * 1000:.0f} ms (bar: 2,000 ms)")


if __name__ == "__main__":
    main()
