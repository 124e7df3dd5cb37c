"""Runs a job once, under a lock, recording the run; the scheduler, the pages and the CLI call it.

Each job works out what is due from the database, so the time its trigger fired does not
matter, and a rerun does nothing twice.
"""

from __future__ import annotations

import logging
import os
import socket
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Engine, text, update
from sqlmodel import Session, col, select

from app.db import get_engine, unit_of_work
from app.scheduling import mail
from app.scheduling.models import JOB_KINDS, JobLock, JobRun
from app.timeutil import utcnow

log = logging.getLogger(__name__)
LOCK_STALE_AFTER = timedelta(hours=2)


class UnknownJob(ValueError):
    pass


@contextmanager
def job_lock(engine: Engine, job: str) -> Iterator[bool]:
    """True while this process holds the job's lock; False if another run holds it."""
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"rso-job:{job}".encode())
        with engine.connect() as connection:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            connection.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
        return
    holder = f"{socket.gethostname()}:{os.getpid()}:{id(object())}"
    with unit_of_work(engine) as session:  # BEGIN IMMEDIATE: one writer decides at a time
        result = session.exec(
            update(JobLock)
            .where(
                JobLock.job == job,
                (col(JobLock.holder).is_(None))
                | (col(JobLock.acquired_at) < utcnow() - LOCK_STALE_AFTER),
            )
            .values(holder=holder, acquired_at=utcnow())
        )
        got = result.rowcount == 1
    try:
        yield got
    finally:
        if got:
            with unit_of_work(engine) as session:
                session.exec(
                    update(JobLock)
                    .where(JobLock.job == job, JobLock.holder == holder)
                    .values(holder=None, acquired_at=None)
                )


def _job_reminders(app: Flask, session: Session, run: JobRun) -> dict[str, Any]:
    from app.scheduling.reminders import Cadence, run_reminders

    summary = run_reminders(
        session,
        today=_today(app),
        cadence=Cadence.from_config(app.config),
        base_url=app.config["PUBLIC_URL"] or "http://127.0.0.1:5000",
        job_run_id=run.id,
    )
    run.notes = summary.notes
    return {
        "due_items": summary.items,
        "reminders": summary.focal_point_messages,
        "escalations": summary.escalation_messages,
    }


def _job_status_report(app: Flask, session: Session, run: JobRun) -> dict[str, Any]:
    from app.scheduling.status_report import run_status_report

    return run_status_report(app, session, run, today=_today(app))


def _job_imports_scan(app: Flask, session: Session, run: JobRun) -> dict[str, Any]:
    from app.imports.cli import run_scan

    outcomes = run_scan()
    run.notes = outcomes
    return {"files": len(outcomes)}


JOBS: dict[str, Callable[[Flask, Session, JobRun], dict[str, Any]]] = {
    "reminders": _job_reminders,
    "status-report": _job_status_report,
    "imports-scan": _job_imports_scan,
}


def _today(app: Flask) -> date:
    from zoneinfo import ZoneInfo

    override = app.config.get("JOBS_TODAY")  # tests and demos fix "today"
    if override:
        return date.fromisoformat(override) if isinstance(override, str) else override
    return utcnow().astimezone(ZoneInfo(app.config["OFFICE_TIMEZONE"])).date()


def run_job(app: Flask, job: str, trigger: str) -> JobRun:
    """Run ``job`` now. Returns the recorded run (skipped if another run holds the lock)."""
    if job not in JOB_KINDS:
        raise UnknownJob(f"unknown job {job!r}; the jobs are: {', '.join(JOB_KINDS)}")
    engine = get_engine(app)
    with app.app_context():
        with unit_of_work(engine) as session:
            run = JobRun(job=job, trigger=trigger)
            session.add(run)
        with job_lock(engine, job) as acquired:
            if not acquired:
                return _finish(
                    engine, run.id, "skipped", {}, "another run of this job was in progress"
                )
            try:
                with unit_of_work(engine) as session:
                    from app.audit.services import set_actor

                    set_actor(session, None, f"job: {job}")
                    live = session.get(JobRun, run.id)
                    counts = JOBS[job](app, session, live)
                    notes = live.notes
            except Exception as exc:  # a job must never take the scheduler down
                log.exception("job %s failed", job)
                return _finish(engine, run.id, "failed", {}, f"{type(exc).__name__}: {exc}")
        delivered = mail.deliver_pending(
            lambda: unit_of_work(engine), mail.SmtpSettings.from_config(app.config)
        )
        counts.update(
            {
                "mail_sent": delivered.sent,
                "mail_failed": delivered.failed,
                "mail_deferred": delivered.deferred,
            }
        )
        return _finish(engine, run.id, "succeeded", counts, "", notes)


def _finish(
    engine: Engine,
    run_id: int,
    outcome: str,
    counts: dict[str, Any],
    error: str,
    notes: list[Any] | None = None,
) -> JobRun:
    with unit_of_work(engine) as session:
        run = session.get(JobRun, run_id)
        run.outcome, run.counts, run.error = outcome, counts, error
        if notes is not None:
            run.notes = notes
        run.finished_at = utcnow()
        session.add(run)
    log.info(
        "%s (%s): %s %s%s",
        run.job,
        run.trigger,
        outcome,
        counts or "",
        f" {error}" if error else "",
    )
    return run


def latest_runs(session: Session, limit: int = 100) -> list[JobRun]:
    return list(
        session.exec(
            select(JobRun)
            .order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc())
            .limit(limit)
        ).all()
    )


def recent_failures(session: Session, limit: int = 10) -> list[JobRun]:
    return list(
        session.exec(
            select(JobRun)
            .where(JobRun.outcome == "failed")
            .order_by(col(JobRun.started_at).desc())
            .limit(limit)
        ).all()
    )
