"""A job's lock: one row per job, the same on SQLite and PostgreSQL, kept alive by a heartbeat.

Taking it is one atomic UPDATE ... WHERE the lock is free or stale. The holder names itself
(host:pid:token) and a background thread refreshes ``heartbeat_at`` every
JOB_HEARTBEAT_SECONDS while the job runs, each beat moving ``stale_at`` to ``stale_after``
later; a lock past its ``stale_at`` is taken over, and the run the holder left "running" is
closed as abandoned.

Why this is safe while the holder still lives:
- Every heartbeat and every staleness check reads the database's clock, never a process's
  own, so two servers whose clocks differ agree on what "stale" means; and the holder writes
  its own threshold (``stale_at``), so a taker with other settings cannot cut it short.
- ``stale_after`` is three beats plus the longest one beat may wait on a busy database (the
  SQLite busy timeout or the PostgreSQL lock timeout): a holder is not called dead for a beat
  that only waited its turn.
- A holder that learns it lost the lock (a beat finds another holder, or its beats failed for
  ``stale_after``) raises the ``lost`` flag, and each of the job's own units of work checks,
  inside its transaction and just before committing, that the lock is still its own
  (``confirm``): a run that lost its lock commits nothing more and ends "lock lost".
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, Engine, func, literal, or_, update
from sqlmodel import Session, col, select

from app.db import StopWork, unit_of_work
from app.scheduling.models import JobLock, JobRun

log = logging.getLogger(__name__)
MISSED_BEATS = 3

ABANDONED_NOTE = (
    "The process running this job stopped without finishing it (it was killed or the server "
    "restarted). What it had saved stays; the next run does the rest, and no e-mail is sent "
    "twice."
)
LOCK_LOST_NOTE = (
    "Lock lost: this run could not keep its lock (the database was too busy for its "
    "heartbeat) and another run took over, so it stopped and saved nothing more. What it had "
    "saved before stays; the other run does the rest."
)


class LockLost(StopWork):
    """The run no longer holds its job's lock: it must stop and commit nothing more."""


@dataclass(frozen=True)
class LockSettings:
    heartbeat_seconds: float = 10.0
    # The longest one statement may wait for a lock: SQLITE_BUSY_TIMEOUT_MS or
    # DATABASE_LOCK_TIMEOUT_MS, whichever is longer.
    busy_timeout_ms: int = 15000

    @classmethod
    def from_config(cls, config: dict) -> LockSettings:
        return cls(
            heartbeat_seconds=float(config.get("JOB_HEARTBEAT_SECONDS") or 10),
            busy_timeout_ms=max(
                int(config.get("SQLITE_BUSY_TIMEOUT_MS") or 15000),
                int(config.get("DATABASE_LOCK_TIMEOUT_MS") or 15000),
            ),
        )

    @property
    def stale_after(self) -> timedelta:
        """The one staleness rule: three missed beats plus the longest a beat may wait."""
        beats = self.heartbeat_seconds * MISSED_BEATS
        return timedelta(seconds=beats + self.busy_timeout_ms / 1000)


def database_now(engine: Engine, offset: timedelta | None = None) -> ColumnElement:
    """The database's clock as the timestamp columns store it, shifted by ``offset``.

    On PostgreSQL the columns are timestamptz, so now() compares as it is. On SQLite they are
    text in SQLAlchemy's form, UTC without an offset ('YYYY-MM-DD HH:MM:SS.ffffff'), so the
    clock is written in exactly that form and compares as text."""
    if engine.dialect.name == "sqlite":
        modifiers = [f"{offset.total_seconds():+.6f} seconds"] if offset else []
        return func.strftime("%Y-%m-%d %H:%M:%f", "now", *modifiers).concat(literal("000"))
    return func.now() + offset if offset else func.now()


def holder_name() -> str:
    """host:pid plus a random token, so two runs in one process never share a name."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(8)}"


class JobLockHolder:
    """Acquire, keep alive and release one job's lock for one run."""

    def __init__(self, engine: Engine, job: str, run_id: int, settings: LockSettings) -> None:
        self.engine, self.job, self.run_id, self.settings = engine, job, run_id, settings
        self.holder = holder_name()
        self.held = False
        self.lost = threading.Event()

    def acquire(self) -> bool:
        with unit_of_work(self.engine) as session:
            row = session.get(JobLock, self.job)
            if row is None:  # a job registered after the migration that seeded the rows
                session.add(JobLock(job=self.job))
                session.flush()
                row = session.get(JobLock, self.job)
            previous_holder, previous_run = row.holder, row.run_id
            now = database_now(self.engine)
            taken = session.exec(
                update(JobLock)
                .where(
                    col(JobLock.job) == self.job,
                    or_(
                        col(JobLock.holder).is_(None),
                        col(JobLock.stale_at).is_(None),  # held by code that set no threshold
                        col(JobLock.stale_at) < now,
                    ),
                )
                .values(
                    holder=self.holder,
                    acquired_at=now,
                    heartbeat_at=now,
                    stale_at=self._stale_at(),
                    run_id=self.run_id,
                )
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
                    _abandon(session, self.engine, previous_run)
        return self.held

    def beat(self) -> bool:
        """Refresh the heartbeat; False if the lock is no longer ours."""
        with unit_of_work(self.engine) as session:
            beaten = session.exec(
                update(JobLock)
                .where(col(JobLock.job) == self.job, col(JobLock.holder) == self.holder)
                .values(heartbeat_at=database_now(self.engine), stale_at=self._stale_at())
                .execution_options(synchronize_session=False)
            )
            return beaten.rowcount == 1

    def _stale_at(self) -> ColumnElement:
        return database_now(self.engine, self.settings.stale_after)

    def confirm(self, session: Session) -> None:
        """Raise LockLost unless the lock is still ours, inside the caller's transaction.

        Called just before a job's unit of work commits: on SQLite the unit holds the write
        lock, and on PostgreSQL the lock row is read FOR SHARE, so no takeover can come
        between this check and the commit."""
        if self.lost.is_set():
            raise LockLost(LOCK_LOST_NOTE)
        holder = session.exec(
            select(JobLock.holder).where(col(JobLock.job) == self.job).with_for_update(read=True)
        ).first()
        if holder != self.holder:
            self.lost.set()
            raise LockLost(LOCK_LOST_NOTE)

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
            thread.join(timeout=self.settings.stale_after.total_seconds())

    def _beat_until(self, stop: threading.Event) -> None:
        # Measured from the start of the last beat that succeeded, which is no later than the
        # database time it wrote: this process gives up no later than a taker could take over.
        last_good = time.monotonic()
        stale = self.settings.stale_after.total_seconds()
        while not stop.wait(self.settings.heartbeat_seconds):
            started = time.monotonic()
            try:
                if not self.beat():
                    log.error("job %s: the lock was taken over; this run stops", self.job)
                    self.lost.set()
                    return
                last_good = started
            except Exception:  # a busy database this beat; the next one tries again
                log.exception("job %s: heartbeat failed", self.job)
                if time.monotonic() - last_good >= stale:
                    log.error("job %s: no heartbeat for %.0f s; this run stops", self.job, stale)
                    self.lost.set()
                    return

    def release(self) -> None:
        if not self.held:
            return
        with unit_of_work(self.engine) as session:
            session.exec(
                update(JobLock)
                .where(col(JobLock.job) == self.job, col(JobLock.holder) == self.holder)
                .values(
                    holder=None, acquired_at=None, heartbeat_at=None, stale_at=None, run_id=None
                )
                .execution_options(synchronize_session=False)
            )
        self.held = False


def _abandon(session: Session, engine: Engine, run_id: int) -> None:
    session.exec(
        update(JobRun)
        .where(col(JobRun.id) == run_id, JobRun.outcome == "running")
        .values(outcome="abandoned", finished_at=database_now(engine), error=ABANDONED_NOTE)
        .execution_options(synchronize_session=False)
    )
