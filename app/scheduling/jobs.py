"""Runs a job once, under a lock, recording the run; the scheduler process and the CLI call it.

Where transactions begin and end: the run row is opened, and later closed, in short
transactions of the runner's own; the lock is taken and released in others; the job body opens
its own units of work through its ``JobContext``. No transaction is held open across a job, so
a job that writes (the inbox scan) never waits on its own runner's lock.

The web never runs a job: "Run now" queues a run (``queue_run``), which the scheduler process
starts within seconds (``run_queued``). Each job works out what is due from the database, so
the time its trigger fired does not matter, and a rerun does nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import Engine, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, col, select

from app.db import get_engine, unit_of_work
from app.scheduling import mail
from app.scheduling.locks import (
    ABANDONED_NOTE,
    LOCK_LOST_NOTE,
    JobLockHolder,
    LockLost,
    LockSettings,
    database_now,
)
from app.scheduling.models import JOB_KINDS, JobLock, JobRun
from app.scheduling.registry import JobContext, JobFunction, job_definition, register_job
from app.scheduling.reminders import Cadence, run_reminders
from app.scheduling.status_report import run_status_report
from app.timeutil import utcnow
from app.validation import InputError

log = logging.getLogger(__name__)


class UnknownJob(ValueError):
    pass


def _job_reminders(context: JobContext) -> dict[str, Any]:
    # One transaction: each reminder's claim and its outbox message are written together.
    with context.unit_of_work() as session:
        summary = run_reminders(
            session,
            today=context.today,
            cadence=Cadence.from_config(context.app.config),
            base_url=mail.link_base(context.app.config),
            job_run_id=context.run_id,
        )
    context.notes.extend(summary.notes)
    return {
        "due_items": summary.items,
        "reminders": summary.focal_point_messages,
        "escalations": summary.escalation_messages,
    }


register_job("reminders", "Reminders to focal points", _job_reminders)
register_job("status-report", "Status report to co-chairs and managers", run_status_report)


def office_today(app: Flask) -> date:
    """The office's calendar day; JOBS_TODAY fixes it for tests and demos."""
    override = app.config.get("JOBS_TODAY")
    if override:
        return date.fromisoformat(override) if isinstance(override, str) else override
    return utcnow().astimezone(ZoneInfo(app.config["OFFICE_TIMEZONE"])).date()


def run_job(app: Flask, job: str, trigger: str, *, run_id: int | None = None) -> JobRun:
    """Run ``job`` now and return its recorded run (skipped if another run holds the lock).

    ``run_id`` is a queued run the caller has already marked running (see ``run_queued``):
    if another run holds the lock, it goes back to the queue instead of being skipped.
    """
    definition = job_definition(job)
    if definition is None:
        raise UnknownJob(f"unknown job {job!r}; the jobs are: {', '.join(JOB_KINDS)}")
    engine = get_engine(app)
    with app.app_context():
        queued = run_id is not None
        if run_id is None:
            run_id = _open_run(engine, job, trigger)
        lock = JobLockHolder(engine, job, run_id, LockSettings.from_config(app.config))
        try:
            acquired = lock.acquire()
        except Exception as exc:  # a busy database: the run ends failed, not left "running"
            log.exception("job %s (run %s): taking the lock failed", job, run_id)
            return _close(engine, run_id, "failed", {}, plain_failure(exc))
        if not acquired:
            if queued and _requeue(engine, run_id):
                return _stored_run(engine, run_id)
            return _close(engine, run_id, "skipped", {}, "another run of this job was in progress")
        try:
            with lock.heartbeat():
                return _run_locked(app, engine, definition.run, job, run_id, lock)
        finally:
            _release(lock)


def _run_locked(
    app: Flask, engine: Engine, body: JobFunction, job: str, run_id: int, lock: JobLockHolder
) -> JobRun:
    context = JobContext(
        app=app, engine=engine, job=job, run_id=run_id, today=office_today(app), lock=lock
    )
    try:
        counts = body(context)
    except LockLost:
        log.error("job %s (run %s) lost its lock and stopped", job, run_id)
        return _close(engine, run_id, "failed", {}, LOCK_LOST_NOTE, context.notes, lost=True)
    except Exception as exc:  # a job must never take the scheduler down
        log.exception("job %s (run %s) failed", job, run_id)
        return _close(engine, run_id, "failed", {}, plain_failure(exc), context.notes)
    try:
        delivered = deliver_outbox(app)
    except Exception:  # the job's work is saved; its mail waits for the next delivery poll
        log.exception("job %s (run %s): delivering the outbox failed", job, run_id)
        context.note("Its mail was not sent after the run; the scheduler sends it shortly.")
        delivered = mail.DeliveryResult()
    counts.update(
        {
            "mail_sent": delivered.sent,
            "mail_failed": delivered.failed,
            "mail_deferred": delivered.deferred,
        }
    )
    return _close(engine, run_id, "succeeded", counts, "", context.notes)


def _release(lock: JobLockHolder) -> None:
    try:
        lock.release()
    except Exception:  # a busy database: the lock goes stale and the next run takes it over
        log.exception("job %s: releasing the lock failed", lock.job)


def plain_failure(exc: Exception) -> str:
    """What admins read about a failed run; the driver's own words go to the log only."""
    if isinstance(exc, InputError):
        return f"The job refused its data: {exc}"
    if isinstance(exc, OperationalError):
        return (
            "The database was busy or could not be reached, so the job stopped; what it was "
            "writing at that moment was not saved. It runs again at its next time (the "
            "scheduler's log has the details)."
        )
    if isinstance(exc, SQLAlchemyError):
        return (
            "The database refused what the job was writing, so that step was not saved "
            "(the scheduler's log has the details)."
        )
    return (
        f"The job stopped on an unexpected error ({type(exc).__name__}); what it was writing "
        "at that moment was not saved (the scheduler's log has the details)."
    )


def deliver_outbox(app: Flask) -> mail.DeliveryResult:
    """Send what is due from the outbox (nothing when SMTP is not configured)."""
    engine = get_engine(app)
    return mail.deliver_pending(
        lambda: unit_of_work(engine), mail.SmtpSettings.from_config(app.config)
    )


def _open_run(engine: Engine, job: str, trigger: str) -> int:
    with unit_of_work(engine) as session:
        # The database's clock, as the orphan check that compares it with heartbeats uses.
        run = JobRun(job=job, trigger=trigger, started_at=database_now(engine))
        session.add(run)
        session.flush()
        return run.id


def _close(
    engine: Engine,
    run_id: int,
    outcome: str,
    counts: dict[str, Any],
    error: str,
    notes: list[Any] | None = None,
    *,
    lost: bool = False,
) -> JobRun:
    """Close the run; if the database refuses even that, try once more to close it "failed"
    with the plain reason, so it is not left "running" until it is called abandoned."""
    try:
        return _finish(engine, run_id, outcome, counts, error, notes, lost=lost)
    except Exception as exc:
        log.exception("run %s: recording its end (%s) failed", run_id, outcome)
        return _finish(engine, run_id, "failed", counts, plain_failure(exc), notes, lost=lost)


def _finish(
    engine: Engine,
    run_id: int,
    outcome: str,
    counts: dict[str, Any],
    error: str,
    notes: list[Any] | None = None,
    *,
    lost: bool = False,
) -> JobRun:
    """Close a run still "running" (or, for a run that lost its lock, one the run that took
    over has called abandoned: it did not die, it stopped). A run already closed by someone
    else keeps its outcome."""
    closable = ("running", "abandoned") if lost else ("running",)
    values: dict[str, Any] = {
        "outcome": outcome,
        "counts": counts,
        "error": error,
        "finished_at": utcnow(),
    }
    if notes:
        values["notes"] = list(notes)
    with unit_of_work(engine) as session:
        closed = session.exec(
            update(JobRun)
            .where(col(JobRun.id) == run_id, col(JobRun.outcome).in_(closable))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        run = session.get(JobRun, run_id)
    if closed.rowcount != 1:
        log.warning(
            "run %s was already closed as %s; its own end (%s) is not recorded",
            run_id,
            run.outcome,
            outcome,
        )
        return run
    log.info(
        "%s (%s): %s %s%s",
        run.job,
        run.trigger,
        outcome,
        counts or "",
        f" {error}" if error else "",
    )
    return run


def _stored_run(engine: Engine, run_id: int) -> JobRun:
    with unit_of_work(engine, write=False) as session:
        return session.get(JobRun, run_id)


def _requeue(engine: Engine, run_id: int) -> bool:
    """A "Run now" that met a run in progress waits in the queue for it to end."""
    with unit_of_work(engine) as session:
        requeued = session.exec(
            update(JobRun)
            .where(col(JobRun.id) == run_id, JobRun.outcome == "running")
            .values(outcome="queued")
            .execution_options(synchronize_session=False)
        )
        return requeued.rowcount == 1


@dataclass(frozen=True)
class Queued:
    run: JobRun
    already: bool  # True when a queued run of this job was waiting: no second one was made


def queue_run(session: Session, job: str, trigger: str = "page") -> Queued:
    """Queue a run for the scheduler process, in the caller's transaction; one at a time."""
    if job_definition(job) is None:
        raise UnknownJob(f"unknown job {job!r}")
    # The job's lock row serialises two presses at once, on PostgreSQL as on SQLite.
    session.get(JobLock, job, with_for_update=True)
    waiting = session.exec(
        select(JobRun).where(JobRun.job == job, JobRun.outcome == "queued")
    ).first()
    if waiting is not None:
        return Queued(waiting, already=True)
    run = JobRun(job=job, trigger=trigger, outcome="queued")
    session.add(run)
    session.flush()
    return Queued(run, already=False)


def run_queued(app: Flask) -> list[JobRun]:
    """Start every queued run (the scheduler process calls this every few seconds)."""
    engine = get_engine(app)
    settings = LockSettings.from_config(app.config)
    close_orphaned_runs(engine, settings.stale_after)
    with unit_of_work(engine, write=False) as session:
        waiting = session.exec(
            select(JobRun.id, JobRun.job).where(JobRun.outcome == "queued").order_by(col(JobRun.id))
        ).all()
    finished = []
    for run_id, job in waiting:
        if job_in_progress(engine, job, settings):
            continue  # it starts once that run has ended
        if _start_queued(engine, run_id):
            finished.append(run_job(app, job, "page", run_id=run_id))
    return finished


def job_in_progress(engine: Engine, job: str, settings: LockSettings) -> bool:
    """Whether a live run holds the job's lock (by the database's clock)."""
    with unit_of_work(engine, write=False) as session:
        live = session.exec(
            select(JobLock.job).where(
                col(JobLock.job) == job,
                col(JobLock.holder).is_not(None),
                col(JobLock.stale_at) >= database_now(engine),
            )
        ).first()
    return live is not None


def _start_queued(engine: Engine, run_id: int) -> bool:
    """Mark a queued run running; False if another scheduler process took it first."""
    with unit_of_work(engine) as session:
        started = session.exec(
            update(JobRun)
            .where(col(JobRun.id) == run_id, JobRun.outcome == "queued")
            .values(outcome="running", started_at=database_now(engine))
        )
        return started.rowcount == 1


def close_orphaned_runs(engine: Engine, stale_after: timedelta) -> int:
    """Close as abandoned the runs still "running" that no live lock holds (their process
    stopped without closing them); a lock takeover closes its own orphan the same way."""
    cutoff = database_now(engine, -stale_after)
    with unit_of_work(engine) as session:
        alive = select(JobLock.run_id).where(
            col(JobLock.run_id).is_not(None), col(JobLock.stale_at) >= database_now(engine)
        )
        orphans = session.exec(
            select(JobRun).where(
                JobRun.outcome == "running",
                col(JobRun.started_at) < cutoff,
                col(JobRun.id).not_in(alive),
            )
        ).all()
        for run in orphans:
            run.outcome, run.finished_at = "abandoned", utcnow()
            run.error = ABANDONED_NOTE
            session.add(run)
        return len(orphans)


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
            .where(col(JobRun.outcome).in_(("failed", "abandoned")))
            .order_by(col(JobRun.started_at).desc())
            .limit(limit)
        ).all()
    )
