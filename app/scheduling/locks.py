"""A job's lock: one row per job, the same on SQLite and PostgreSQL, kept alive by a heartbeat.

Taking it is one atomic UPDATE ... WHERE the lock is free or its holder stopped beating. The
holder names itself (host:pid:token) and a background thread refreshes ``heartbeat_at`` every
JOB_HEARTBEAT_SECONDS while the job runs; after three missed beats the lock is stale, the next
run takes it over, and the run the dead holder left "running" is closed as abandoned.
Every process that runs jobs must share JOB_HEARTBEAT_SECONDS (one environment file), since
the taker judges staleness by its own setting.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, or_, update
from sqlmodel import col

from app.db import unit_of_work
from app.scheduling.models import JobLock, JobRun
from app.timeutil import utcnow

log = logging.getLogger(__name__)
MISSED_BEATS = 3

ABANDONED_NOTE = (
    "The process running this job stopped without finishing it (it was killed or the server "
    "restarted). What it had saved stays; the next run does the rest, and no e-mail is sent "
    "twice."
)


@dataclass(frozen=True)
class LockSettings:
    heartbeat_seconds: float = 10.0

    @classmethod
    def from_config(cls, config: dict) -> LockSettings:
        return cls(heartbeat_seconds=float(config.get("JOB_HEARTBEAT_SECONDS") or 10))

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.heartbeat_seconds * MISSED_BEATS)


def holder_name() -> str:
    """host:pid plus a random token, so two runs in one process never share a name."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(8)}"


class JobLockHolder:
    """Acquire, keep alive and release one job's lock for one run."""

    def __init__(self, engine: Engine, job: str, run_id: int, settings: LockSettings) -> None:
        self.engine, self.job, self.run_id, self.settings = engine, job, run_id, settings
        self.holder = holder_name()
        self.held = False

    def acquire(self) -> bool:
        now = utcnow()
        with unit_of_work(self.engine) as session:
            row = session.get(JobLock, self.job)
            if row is None:  # a job registered after the migration that seeded the rows
                session.add(JobLock(job=self.job))
                session.flush()
                row = session.get(JobLock, self.job)
            previous_holder, previous_run = row.holder, row.run_id
            taken = session.exec(
                update(JobLock)
                .where(
                    col(JobLock.job) == self.job,
                    or_(
                        col(JobLock.holder).is_(None),
                        col(JobLock.heartbeat_at).is_(None),
                        col(JobLock.heartbeat_at) < now - self.settings.stale_after,
                    ),
                )
                .values(holder=self.holder, acquired_at=now, heartbeat_at=now, run_id=self.run_id)
                .execution_options(synchronize_session=False)
            )
            self.held = taken.rowcount == 1
            if self.held and previous_holder is not None:
                log.warning(
                    "job %s: took over the lock of %s, which stopped beating",
                    self.job,
                    previous_holder,
                )
                if previous_run is not None:
                    _abandon(session, previous_run)
        return self.held

    def beat(self) -> bool:
        """Refresh the heartbeat; False if the lock is no longer ours."""
        with unit_of_work(self.engine) as session:
            beaten = session.exec(
                update(JobLock)
                .where(col(JobLock.job) == self.job, col(JobLock.holder) == self.holder)
                .values(heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return beaten.rowcount == 1

    @contextmanager
    def heartbeat(self) -> Iterator[None]:
        """Beat in a background thread while the body runs."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self._beat_until, args=(stop,), name=f"heartbeat {self.job}", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=self.settings.heartbeat_seconds + 5)

    def _beat_until(self, stop: threading.Event) -> None:
        while not stop.wait(self.settings.heartbeat_seconds):
            try:
                if not self.beat():
                    log.error("job %s: the lock was taken over while this run went on", self.job)
                    return
            except Exception:  # a busy database this beat; the next one tries again
                log.exception("job %s: heartbeat failed", self.job)

    def release(self) -> None:
        if not self.held:
            return
        with unit_of_work(self.engine) as session:
            session.exec(
                update(JobLock)
                .where(col(JobLock.job) == self.job, col(JobLock.holder) == self.holder)
                .values(holder=None, acquired_at=None, heartbeat_at=None, run_id=None)
                .execution_options(synchronize_session=False)
            )
        self.held = False


def _abandon(session, run_id: int) -> None:
    session.exec(
        update(JobRun)
        .where(col(JobRun.id) == run_id, JobRun.outcome == "running")
        .values(outcome="abandoned", finished_at=utcnow(), error=ABANDONED_NOTE)
        .execution_options(synchronize_session=False)
    )
