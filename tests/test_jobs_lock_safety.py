"""A live run's lock is never taken over, and a run that loses its lock commits nothing more."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text, update
from sqlmodel import col, select

from app import create_app
from app.db import unit_of_work
from app.scheduling import registry
from app.scheduling.jobs import run_job
from app.scheduling.locks import (
    LOCK_LOST_NOTE,
    JobLockHolder,
    LockSettings,
    database_now,
)
from app.scheduling.models import JobLock, JobRun, StatusReport
from app.scheduling.registry import JobDefinition
from app.timeutil import utcnow
from tests.conftest import open_session

JOB = "imports-scan"  # any job: its body is replaced in these tests


@pytest.fixture
def quick_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Beats every second, and a statement waits at most 2 s for a lock."""
    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "STORAGE_DIR": str(tmp_path / "storage"),
            "REPORTS_DIR": str(tmp_path / "reports"),
            "SQLITE_BUSY_TIMEOUT_MS": 2000,
            "DATABASE_LOCK_TIMEOUT_MS": 2000,
            "JOB_HEARTBEAT_SECONDS": 1,
        }
    )
    yield application
    application.extensions["db_engine"].dispose()


def _replace_body(monkeypatch: pytest.MonkeyPatch, body) -> None:
    monkeypatch.setitem(registry._JOBS, JOB, JobDefinition(JOB, "test job", body))


def _runs(app: Flask) -> dict[int, JobRun]:
    with open_session(app) as session:
        return {run.id: run for run in session.exec(select(JobRun)).all()}


def test_the_stale_threshold_covers_the_longest_wait_of_a_beat() -> None:
    settings = LockSettings.from_config(
        {"JOB_HEARTBEAT_SECONDS": 10, "SQLITE_BUSY_TIMEOUT_MS": 15000}
    )
    assert settings.stale_after == timedelta(seconds=3 * 10 + 15)
    longer_wait = LockSettings.from_config(
        {"JOB_HEARTBEAT_SECONDS": 1, "DATABASE_LOCK_TIMEOUT_MS": 20000}
    )
    assert longer_wait.stale_after == timedelta(seconds=3 + 20)


@pytest.mark.sqlite_only
def test_a_holder_whose_beat_waited_on_its_own_write_is_not_taken_over(
    quick_app, monkeypatch
) -> None:
    """Its job holds SQLite's write lock longer than the busy timeout, so a beat fails; the
    lock must still not look stale, and a second run is skipped, never run alongside."""
    active = {"now": 0, "max": 0}

    def long_write(context):
        active["now"] += 1
        active["max"] = max(active["max"], active["now"])
        try:
            with context.unit_of_work() as session:
                session.exec(text("UPDATE job_run SET error = error WHERE id = -1"))
                time.sleep(3.2)  # longer than the 2 s busy timeout: the beat at 1 s fails
            time.sleep(3)  # then work outside the database
        finally:
            active["now"] -= 1
        return {"done": 1}

    _replace_body(monkeypatch, long_write)
    results = {}
    first = threading.Thread(target=lambda: results.update(a=run_job(quick_app, JOB, "schedule")))
    first.start()
    time.sleep(3.5)  # three beats of 1 s have passed; at most one of them succeeded
    second = run_job(quick_app, JOB, "page")
    first.join(timeout=30)
    assert second.outcome == "skipped", second.error
    assert results["a"].outcome == "succeeded", results["a"].error
    assert _runs(quick_app)[results["a"].id].outcome == "succeeded"
    assert active["max"] == 1


def _steal_the_lock(app: Flask) -> None:
    """What a run that judged the lock stale does: another holder takes it."""
    engine = app.extensions["db_engine"]
    with unit_of_work(engine) as session:
        session.exec(
            update(JobLock)
            .where(col(JobLock.job) == JOB)
            .values(holder="other-host:1:feedface", heartbeat_at=database_now(engine))
        )


def test_a_run_that_lost_its_lock_commits_nothing_more_and_says_so(quick_app, monkeypatch) -> None:
    def writes_after_losing(context):
        with context.unit_of_work() as session:
            session.add(StatusReport(file_name="before.xlsx", job_run_id=context.run_id))
        _steal_the_lock(context.app)
        with context.unit_of_work() as session:  # refused at commit: the lock is not ours
            session.add(StatusReport(file_name="after.xlsx", job_run_id=context.run_id))
        with context.unit_of_work() as session:  # never reached
            session.add(StatusReport(file_name="later.xlsx", job_run_id=context.run_id))
        return {}

    _replace_body(monkeypatch, writes_after_losing)
    run = run_job(quick_app, JOB, "schedule")
    assert (run.outcome, run.error) == ("failed", LOCK_LOST_NOTE)
    assert run.error.startswith("Lock lost")
    with open_session(quick_app) as session:
        names = session.exec(select(StatusReport.file_name)).all()
        lock = session.get(JobLock, JOB)
    assert names == ["before.xlsx"]
    assert lock.holder == "other-host:1:feedface"  # the run did not release another's lock


def test_a_beat_that_finds_the_lock_taken_stops_the_run_at_its_next_unit(
    quick_app, monkeypatch
) -> None:
    def slow_units(context):
        with context.unit_of_work() as session:
            session.add(StatusReport(file_name="first.xlsx", job_run_id=context.run_id))
        _steal_the_lock(context.app)
        deadline = time.monotonic() + 10
        while not context.lock.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)  # work outside the database while the heartbeat beats
        context.note(f"lost flag: {context.lock.lost.is_set()}")
        with context.unit_of_work(write=False) as session:  # refused before it starts
            session.exec(select(StatusReport)).all()
        return {}

    _replace_body(monkeypatch, slow_units)
    run = run_job(quick_app, JOB, "schedule")
    assert (run.outcome, run.error) == ("failed", LOCK_LOST_NOTE)
    assert run.notes == ["lost flag: True"]


def test_a_run_closed_as_abandoned_by_a_takeover_is_not_turned_into_succeeded(
    quick_app, monkeypatch
) -> None:
    """The run that took over called this one abandoned; its later end must not overwrite it."""

    def abandoned_meanwhile(context):
        with unit_of_work(context.engine) as session:
            session.exec(
                update(JobRun).where(col(JobRun.id) == context.run_id).values(outcome="abandoned")
            )
        return {"done": 1}

    _replace_body(monkeypatch, abandoned_meanwhile)
    run = run_job(quick_app, JOB, "schedule")
    assert run.outcome == "abandoned"
    assert _runs(quick_app)[run.id].outcome == "abandoned"


def test_heartbeats_are_written_with_the_database_clock(quick_app, monkeypatch) -> None:
    """A process whose own clock is an hour behind still writes a fresh heartbeat."""
    behind = lambda: utcnow() - timedelta(hours=1)  # noqa: E731
    monkeypatch.setattr("app.scheduling.locks.utcnow", behind, raising=False)
    engine = quick_app.extensions["db_engine"]
    with unit_of_work(engine) as session:
        run = JobRun(job=JOB, trigger="cli")
        session.add(run)
        session.flush()
        run_id = run.id
    holder = JobLockHolder(engine, JOB, run_id, LockSettings(1, 2000))
    assert holder.acquire()
    with unit_of_work(engine, write=False) as session:
        fresh = session.exec(
            select(JobLock.job).where(
                col(JobLock.job) == JOB,
                col(JobLock.heartbeat_at) >= database_now(engine, -timedelta(seconds=5)),
                col(JobLock.heartbeat_at) <= database_now(engine),
            )
        ).first()
    holder.release()
    assert fresh == JOB


def _open_run(engine) -> int:
    with unit_of_work(engine) as session:
        run = JobRun(job=JOB, trigger="cli")
        session.add(run)
        session.flush()
        return run.id


def test_a_taker_with_a_shorter_threshold_cannot_cut_a_holders_short(quick_app) -> None:
    """The holder writes when its lock goes stale; another process's setting does not count."""
    engine = quick_app.extensions["db_engine"]
    holder = JobLockHolder(engine, JOB, _open_run(engine), LockSettings(10, 15000))
    assert holder.acquire()
    time.sleep(0.5)
    hasty = JobLockHolder(engine, JOB, _open_run(engine), LockSettings(0.1, 0))
    assert not hasty.acquire()
    with open_session(quick_app) as session:
        assert session.get(JobLock, JOB).holder == holder.holder
    holder.release()
    assert hasty.acquire()
    hasty.release()
