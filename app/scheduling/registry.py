"""The job registry: each feature registers its jobs here, so scheduling imports no feature.

A job is a function given a ``JobContext``: the app, the run's id, the office's "today", a way
to open its own short units of work, and a list for notes. It returns its counts. It is never
handed a session that lives for the whole run: the runner records the run's start and end in
transactions of its own, and the job decides where its own transactions begin and end.

This module is the one part of scheduling a feature imports (to register); it imports no
feature itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import Engine
from sqlmodel import Session

from app.audit.services import set_actor
from app.db import unit_of_work
from app.scheduling.locks import LOCK_LOST_NOTE, JobLockHolder, LockLost
from app.scheduling.models import JOB_KINDS


@dataclass
class JobContext:
    """What a job body is given for one run."""

    app: Flask
    engine: Engine
    job: str
    run_id: int
    today: date  # the office's day (or JOBS_TODAY in tests and demos)
    notes: list[str] = field(default_factory=list)
    lock: JobLockHolder | None = None  # the run's lock; None when a test calls a job directly

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """A short transaction of the job's own, its changes audited as the job's.

        A run that lost its lock gets no more units (LockLost), and a write commits only if
        the lock is still the run's at that moment, so two runs never both write."""
        if self.lock is not None and self.lock.lost.is_set():
            raise LockLost(LOCK_LOST_NOTE)
        with unit_of_work(self.engine, write=write) as session:
            set_actor(session, None, f"job: {self.job}")
            yield session
            if write and self.lock is not None:
                self.lock.confirm(session)

    def note(self, text: str) -> None:
        self.notes.append(text)


JobFunction = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class JobDefinition:
    kind: str  # one of JOB_KINDS: the schedule and run tables' vocabulary
    label: str  # what the schedules page calls it
    run: JobFunction


_JOBS: dict[str, JobDefinition] = {}


def register_job(kind: str, label: str, run: JobFunction) -> None:
    """Make a job runnable by the scheduler, "Run now" and `flask jobs run`."""
    if kind not in JOB_KINDS:
        raise ValueError(f"job {kind!r} is not one of the scheduled jobs: {', '.join(JOB_KINDS)}")
    _JOBS[kind] = JobDefinition(kind, label, run)


def job_definition(kind: str) -> JobDefinition | None:
    return _JOBS.get(kind)


def registered_jobs() -> list[JobDefinition]:
    """The registered jobs, in the order of JOB_KINDS."""
    return [_JOBS[kind] for kind in JOB_KINDS if kind in _JOBS]


def job_label(kind: str) -> str:
    definition = _JOBS.get(kind)
    return definition.label if definition else kind
