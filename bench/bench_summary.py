"""Benchmark of the co-chairs' summary and the scheduled status report (not a test).

In one run, on a throwaway database:
  1. the seeded plan: the summary page's server time (Flask test client) and the time of the
     bare SQL it relies on (the same statements, replayed on the raw DB-API cursor);
  2. the same after bench/generate_large_plan.py has added the large synthetic plan;
  3. the status report .xlsx for the large plan, against openpyxl writing the same cells in
     write-only mode.
Each figure is the median of RUNS runs, after one warm-up run; what is compared runs in turn.

    python bench/bench_summary.py                         # SQLite in a temporary folder
    python bench/bench_summary.py postgresql+psycopg://...  # an empty PostgreSQL database
"""

from __future__ import annotations

import gc
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook, load_workbook
from sqlalchemy import event

from bench.generate_large_plan import generate

RUNS = 9
PASSWORD = "benchmark password 123"
PAGES = {
    "default (last quarter, plan to date)": "/summary",
    "whole plan (2024-Q1 to 2026-Q3)": "/summary?from=2024-Q1&to=2026-Q3",
}


class Timing(float):
    """The median of the runs, carrying every run and the fastest: on a shared machine the
    fastest run is the one least disturbed by other work."""

    runs: list[float]
    fastest: float


def _timing(runs: list[float]) -> Timing:
    timing = Timing(statistics.median(runs))
    timing.runs, timing.fastest = runs, min(runs)
    return timing


def interleaved(actions: dict[str, Callable[[], object]], runs: int = RUNS) -> dict[str, Timing]:
    """Each action once per round, in turn (after one warm-up round): a slow spell on a shared
    machine slows every action of that round alike, so the ratios between them stay fair."""
    for action in actions.values():
        action()
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            timings[name].append(time.perf_counter() - started)
    return {name: _timing(values) for name, values in timings.items()}


def paired_ratio(a: Timing, b: Timing) -> float:
    """The median of the round-by-round ratios of two interleaved measurements."""
    return statistics.median(x / y for x, y in zip(a.runs, b.runs, strict=True))


def _signed_in_client(app):
    from app.accounts.services import create_user
    from app.db import unit_of_work

    with app.app_context(), unit_of_work() as session:
        create_user(
            session,
            email="reviewer@bench.example",
            full_name="Bench Reviewer",
            roles=["reviewer"],
            member_state_id=None,
            password=PASSWORD,
        )
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    token = page[page.index(marker) + len(marker) :].split('"', 1)[0]
    signed = client.post(
        "/login",
        data={"email": "reviewer@bench.example", "password": PASSWORD, "csrf_token": token},
    )
    assert signed.status_code == 302, signed.status_code
    return client


def _get(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    response.close()


def _statements_of(app, client, url: str) -> list[tuple[str, object]]:
    """Every SQL statement the page runs, with its parameters, as the driver received them."""
    engine = app.extensions["db_engine"]
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        _get(client, url)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def _bare(app, statements: list[tuple[str, object]]) -> Callable[[], None]:
    """Replay the statements on a raw DB-API connection: the database's share of the page."""
    engine = app.extensions["db_engine"]

    def run() -> None:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                cursor.fetchall()
            cursor.close()
            connection.rollback()
        finally:
            connection.close()

    return run


def measure_pages(app, client) -> dict[str, dict]:
    results = {}
    for name, url in PAGES.items():
        statements = _statements_of(app, client, url)
        timed = interleaved(
            {"page": lambda url=url: _get(client, url), "bare": _bare(app, statements)}
        )
        results[name] = {**timed, "queries": len(statements)}
    return results


def measure_status_report(app) -> dict:
    from app.db import unit_of_work
    from app.reports.exports import summary_workbook
    from app.reports.summary import SummaryFilters, build_summary
    from app.scheduling.status_report import REPORT_READER, build_report, latest_period

    today = date.today()
    with app.app_context(), unit_of_work(write=False) as session:
        period = latest_period(session, today)
        summary = build_summary(
            session,
            REPORT_READER,
            SummaryFilters(period_from=period.code, period_to=period.code),
            today=today,
            narratives_limit=None,
        )
        data = summary_workbook(summary)
        sheets = _cells_by_sheet(data)
        timed = interleaved(
            {
                "report": lambda: build_report(session, period, today=today),
                "workbook": lambda: summary_workbook(summary),
                "raw": lambda: _write_only(sheets),
            }
        )
    return {
        "period": period.code,
        "cells": sum(len(row) for rows in sheets.values() for row in rows),
        "bytes": len(data),
        **timed,
    }


def _cells_by_sheet(data: bytes) -> dict[str, list[tuple]]:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    sheets = {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in workbook}
    workbook.close()
    return sheets


def _write_only(sheets: dict[str, list[tuple]]) -> bytes:
    """The same cells, as plain values, in openpyxl's write-only mode: no styles, no checks."""
    workbook = Workbook(write_only=True)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def report(url: str, seed: dict, large: dict, counts: dict, status: dict) -> str:
    lines = [
        f"Database: {url.split(':', 1)[0]}; {counts}",
        "",
        f"Median of {RUNS} runs (fastest run in brackets); page and bare SQL run in turn, "
        "and page / bare is the median of the round-by-round ratios.",
        "",
        "| page | size | queries | page time | bare SQL | page / bare | large / seed |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in PAGES:
        for size, results in (("seed", seed), ("large", large)):
            r = results[name]
            page, bare = r["page"], r["bare"]
            growth = ""
            if size == "large":
                small = seed[name]["page"]
                growth = f"{page / small:.1f}x ({page.fastest / small.fastest:.1f}x)"
            lines.append(
                f"| {name} | {size} | {r['queries']} | {_ms(page)} ({_ms(page.fastest)}) "
                f"| {_ms(bare)} ({_ms(bare.fastest)}) | {paired_ratio(page, bare):.2f}x "
                f"| {growth} |"
            )
    lines += [
        "",
        f"Status report for {status['period']} (large plan): {status['cells']:,} cells, "
        f"{status['bytes']:,} bytes.",
        "",
        "| step | time | vs openpyxl write-only |",
        "|---|---|---|",
        f"| build_report (summary queries + workbook) | {_ms(status['report'])} "
        f"| {paired_ratio(status['report'], status['raw']):.2f}x |",
        f"| summary_workbook alone | {_ms(status['workbook'])} "
        f"| {paired_ratio(status['workbook'], status['raw']):.2f}x |",
        f"| openpyxl write-only, same cells | {_ms(status['raw'])} | 1.00x |",
    ]
    return "\n".join(lines)


def main() -> None:
    from app import create_app, schema
    from app.db import get_engine, unit_of_work
    from app.plan import seed as plan_seed

    folder = Path(tempfile.mkdtemp(prefix="rso-bench-"))
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{folder / 'bench.db'}"
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder / "instance")}
    )
    with app.app_context():
        schema.upgrade(get_engine(), url)
        with unit_of_work() as session:
            plan_seed.load_plan(session)
        with unit_of_work() as session:
            plan_seed.load_demo(session)
    client = _signed_in_client(app)
    gc.freeze()  # as wsgi.py does in every server process once the app is loaded
    seed = measure_pages(app, client)
    started = time.perf_counter()
    counts = generate(app.extensions["db_engine"])
    counts["generated_in_s"] = round(time.perf_counter() - started, 1)
    gc.collect()  # the generator's garbage, then the process as a server would hold it
    gc.freeze()
    large = measure_pages(app, client)
    status = measure_status_report(app)
    print(f"{date.today()} · Python {platform.python_version()} · {os.cpu_count()} cores")
    print(report(url, seed, large, counts, status))


if __name__ == "__main__":
    main()
