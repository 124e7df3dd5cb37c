"""Locks with a heartbeat: a job killed mid-run (kill -9) is taken over, and no mail goes twice."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlmodel import select

from app.db import unit_of_work
from app.plan.models import ReportingPeriod
from app.scheduling.jobs import close_orphaned_runs, run_job
from app.scheduling.locks import ABANDONED_NOTE, JobLockHolder, LockSettings
from app.scheduling.models import JobLock, JobRun, OutboxMessage
from app.timeutil import utcnow
from tests.app_process import start_command, wait_for
from tests.conftest import open_session
from tests.smtp_server import SilentSmtp

BEFORE_DUE = "2025-10-20"  # 2025-Q3 is due soon: every focal point gets a reminder


def _only_2025_q3_open(app: Flask) -> None:
    with app.app_context(), unit_of_work() as session:
        for period in session.exec(select(ReportingPeriod)).all():
            if period.code < "2025-Q3":
                period.status = "closed"
                session.add(period)


def _sending(app: Flask) -> OutboxMessage | None:
    with open_session(app) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.status == "sending")).first()


def _start_cli_job(app: Flask, tmp_path: Path, smtp_port: int) -> subprocess.Popen:
    """`flask jobs run reminders` in a process of its own, its mail server never answering."""
    return start_command(
        app,
        tmp_path / "cli-instance",
        smtp_port,
        ["jobs", "run", "reminders"],
        SMTP_TIMEOUT="300",  # it hangs on the first message until it is killed
        JOB_HEARTBEAT_SECONDS="1",
        JOBS_TODAY=BEFORE_DUE,
    )


def test_a_job_killed_mid_run_is_taken_over_and_no_mail_goes_twice(
    app, people, smtp, tmp_path
) -> None:
    _only_2025_q3_open(app)
    silent = SilentSmtp().start()
    process = _start_cli_job(app, tmp_path, silent.port)
    try:
        stuck = wait_for(lambda: _sending(app), 60, "the CLI job to hand a message over")
        with open_session(app) as session:
            lock = session.get(JobLock, "reminders")
            [dead_run] = session.exec(select(JobRun)).all()
        assert f":{process.pid}:" in lock.holder and lock.run_id == dead_run.id
        assert dead_run.outcome == "running"
        process.send_signal(signal.SIGKILL)  # kill -9, mid-job
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        silent.stop()

    app.config.update(JOB_HEARTBEAT_SECONDS=1, JOBS_TODAY=BEFORE_DUE)
    started = time.monotonic()
    while True:  # what the scheduler would do: run again until the lock is free or stale
        run = run_job(app, "reminders", "schedule")
        if run.outcome != "skipped" or time.monotonic() - started > 60:
            break
        time.sleep(0.5)
    assert run.outcome == "succeeded", run.error
    assert time.monotonic() - started < 60
    assert run.counts["reminders"] == 0  # the killed run had queued them all already

    with open_session(app) as session:
        dead = session.get(JobRun, dead_run.id)
        messages = session.exec(select(OutboxMessage)).all()
        lock = session.get(JobLock, "reminders")
    assert dead.outcome == "abandoned" and dead.error == ABANDONED_NOTE
    assert dead.finished_at is not None
    assert lock.holder is None  # the new run released it
    sent_ids = [m["Message-ID"] for m in smtp.messages]
    assert len(sent_ids) == len(set(sent_ids)) == len(messages) - 1
    assert not any(f"rso-outbox-{stuck.id}@" in sent for sent in sent_ids)
    [left] = [m for m in messages if m.status != "sent"]
    assert left.id == stuck.id and left.status == "sending"  # never handed over again


def test_a_lock_whose_holder_still_beats_is_never_taken(app, people) -> None:
    app.config["JOB_HEARTBEAT_SECONDS"] = 1
    with app.app_context(), unit_of_work() as session:
        running = JobRun(job="imports-scan", trigger="cli")
        session.add(running)
        session.flush()
        running_id = running.id
    holder = JobLockHolder(app.extensions["db_engine"], "imports-scan", running_id, LockSettings(1))
    assert holder.acquire()
    try:
        with holder.heartbeat():
            time.sleep(3.5)  # longer than three beats: only the heartbeat keeps it fresh
            run = run_job(app, "imports-scan", "schedule")
    finally:
        holder.release()
    assert run.outcome == "skipped" and "in progress" in run.error
    with open_session(app) as session:
        assert session.get(JobRun, running_id).outcome == "running"


def test_a_stale_lock_is_taken_over_and_its_run_closed(app, people) -> None:
    with app.app_context(), unit_of_work() as session:
        orphan = JobRun(job="imports-scan", trigger="schedule", started_at=utcnow())
        session.add(orphan)
        session.flush()
        lock = session.get(JobLock, "imports-scan")
        lock.holder, lock.run_id = "gone-host:4242:feedface", orphan.id
        lock.acquired_at = lock.heartbeat_at = utcnow() - timedelta(minutes=5)
        session.add(lock)
        orphan_id = orphan.id
    run = run_job(app, "imports-scan", "schedule")
    assert run.outcome == "succeeded", run.error
    with open_session(app) as session:
        closed = session.get(JobRun, orphan_id)
    assert (closed.outcome, closed.error) == ("abandoned", ABANDONED_NOTE)


def test_a_run_left_running_without_a_lock_is_closed_by_the_scheduler_poll(app) -> None:
    with app.app_context(), unit_of_work() as session:
        old = JobRun(job="reminders", trigger="cli", started_at=utcnow() - timedelta(hours=1))
        fresh = JobRun(job="status-report", trigger="cli")
        session.add_all([old, fresh])
        session.flush()
        old_id, fresh_id = old.id, fresh.id
    assert close_orphaned_runs(app.extensions["db_engine"], timedelta(seconds=30)) == 1
    with open_session(app) as session:
        assert session.get(JobRun, old_id).outcome == "abandoned"
        assert session.get(JobRun, fresh_id).outcome == "running"
