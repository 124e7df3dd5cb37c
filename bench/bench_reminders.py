"""Reminder run for 50 member states against a local SMTP server, with the time per message.

    .venv/bin/python bench/bench_reminders.py [--runs 5]

Set-up (not timed): the seeded plan plus one more member so there are 50; every member reports
one indicator and has one focal point; "today" is 2025-10-20, ten days before 2025-Q3 is due,
so every state gets a due-soon reminder. Each run works on a fresh copy of that database (a
reminder already claimed is never sent again) and sends through aiosmtpd on 127.0.0.1.

Baseline, measured in the same run against the same server: smtplib sending the same number
of ready-made messages over one connection per message, which is what the outbox does (each
message is delivered on its own, so one failure cannot hold back the rest).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import smtplib
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TODAY = "2025-10-20"


def prepare(folder: Path) -> Path:
    from sqlmodel import select

    from app import create_app, schema
    from app.accounts.services import create_user
    from app.db import get_engine, unit_of_work
    from app.plan import seed
    from app.plan.models import Indicator, IndicatorReportingState, MemberState

    database = folder / "template.db"
    url = f"sqlite:///{database}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench"})
    with app.app_context():
        schema.upgrade(get_engine(), url)
        with unit_of_work() as session:
            seed.load_plan(session)
        with unit_of_work() as session:
            states = list(session.exec(select(MemberState).order_by(MemberState.id)).all())
            while len(states) < 50:
                extra = MemberState(code=f"X{len(states)}", name=f"Bench member {len(states)}")
                session.add(extra)
                session.flush()
                states.append(extra)
            indicator = session.exec(
                select(Indicator).where(Indicator.computed_from.is_(None)).order_by(Indicator.id)  # type: ignore[union-attr]
            ).first()
            reporting = set(
                session.exec(
                    select(IndicatorReportingState.member_state_id).where(
                        IndicatorReportingState.indicator_id == indicator.id
                    )
                ).all()
            )
            for state in states:
                if state.id not in reporting:
                    session.add(
                        IndicatorReportingState(indicator_id=indicator.id, member_state_id=state.id)
                    )
                create_user(
                    session,
                    email=f"focal.{state.code.lower()}@example.org",
                    full_name=f"Focal point for {state.name}",
                    roles=["focal_point"],
                    member_state_id=state.id,
                )
    from app.db import get_engine as engine_of

    engine_of(app).dispose()
    return database


def reminder_run(folder: Path, database: Path, port: int) -> tuple[float, int]:
    from app import create_app
    from app.db import get_engine
    from app.scheduling.jobs import run_job

    copy = folder / f"run-{time.monotonic_ns()}.db"
    shutil.copyfile(database, copy)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{copy}",
            "INSTANCE_PATH": str(folder),
            "SECRET_KEY": "bench",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "JOBS_TODAY": TODAY,
            "PUBLIC_URL": "http://127.0.0.1:5000",
        }
    )
    started = time.perf_counter()
    run = run_job(app, "reminders", "bench")
    seconds = time.perf_counter() - started
    get_engine(app).dispose()
    copy.unlink()
    if run.outcome != "succeeded":
        raise SystemExit(f"reminder run {run.outcome}: {run.error}")
    return seconds, run.counts["mail_sent"]


def bare_sends(port: int, count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "rso@example.org", f"focal{n}@example.org"
        message["Subject"] = "Report for 2025-Q3 due on 30 October 2025"
        message.set_content("A reminder body of about the same size. " * 20)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from tests.smtp_server import LocalSmtp

    server = LocalSmtp().start()
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            database = prepare(folder)
            runs, bare = [], []
            for _ in range(args.runs):
                seconds, sent = reminder_run(folder, database, server.port)
                runs.append((seconds, sent))
                bare.append(bare_sends(server.port, sent))
    finally:
        server.stop()
    sent = runs[0][1]
    job_s = statistics.median(s for s, _ in runs)
    bare_s = statistics.median(bare)
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{len(os.sched_getaffinity(0))} cores; runs {args.runs}"
    )
    print("| measure | median | per message | runs |")
    print("|---|---|---|---|")
    print(
        f"| reminder run, 50 states: work out what is due, claim, queue, send ({sent} messages) "
        f"| {job_s:.2f} s | {job_s / sent * 1000:.1f} ms | "
        + ", ".join(f"{s:.2f}" for s, _ in runs)
        + " |"
    )
    print(
        f"| baseline: smtplib sends {sent} ready-made messages, one connection each "
        f"| {bare_s:.2f} s | {bare_s / sent * 1000:.1f} ms | "
        + ", ".join(f"{s:.2f}" for s in bare)
        + " |"
    )
    print(f"| ratio run / bare sending | {job_s / bare_s:.1f}x | | |")


if __name__ == "__main__":
    main()
