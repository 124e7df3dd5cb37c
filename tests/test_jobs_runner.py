"""The job runner: a run's start and end in transactions of their own, jobs open their own."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from app.db import unit_of_work
from app.imports.models import Upload
from app.plan.models import ReportingPeriod
from app.scheduling import jobs, registry
from app.scheduling.jobs import queue_run, run_job, run_queued
from app.scheduling.locks import JobLockHolder, LockSettings
from app.scheduling.models import JobLock, JobRun
from app.scheduling.registry import JobDefinition
from tests.conftest import open_session
from tests.fixtures_accounts import sign_in
from tests.workbooks import download_template, fill, valid_answers

PERIOD = "2025-Q3"


def _inbox(app: Flask) -> Path:
    inbox = Path(app.config["STORAGE_DIR"]) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    return inbox


@pytest.fixture
def waiting_workbook(app, people) -> Path:
    """A valid Thai workbook for 2025-Q3 dropped into the inbox."""
    with open_session(app) as session:
        period_id = session.exec(
            select(ReportingPeriod.id).where(ReportingPeriod.code == PERIOD)
        ).one()
    template = download_template(sign_in(app.test_client(), people.focal_point), period_id)
    path = _inbox(app) / "thailand-q3.xlsx"
    path.write_bytes(fill(template, valid_answers(template)))
    return path


def _inbox_uploads(app: Flask) -> list[Upload]:
    with open_session(app) as session:
        return list(session.exec(select(Upload).where(Upload.source == "inbox")).all())


def test_the_inbox_job_from_the_cli_handles_a_waiting_workbook(
    app, runner, waiting_workbook
) -> None:
    result = runner.invoke(args=["jobs", "run", "imports-scan"])
    assert result.exit_code == 0, result.output
    assert "imports-scan: succeeded" in result.output
    assert "database is locked" not in result.output
    assert not waiting_workbook.exists()  # it left the inbox
    assert len(_inbox_uploads(app)) == 1


def test_the_inbox_job_run_by_the_runner_handles_a_waiting_workbook(app, waiting_workbook) -> None:
    run = run_job(app, "imports-scan", "schedule")
    assert run.outcome == "succeeded", run.error
    assert run.counts["files"] == 1
    [note] = run.notes
    assert "thailand-q3.xlsx" in note
    assert not waiting_workbook.exists()
    [upload] = _inbox_uploads(app)
    assert upload.original_name == "thailand-q3.xlsx"
    with open_session(app) as session:
        stored = session.get(JobRun, run.id)
    assert stored.outcome == "succeeded" and stored.finished_at is not None


def _failing_scan(context):
    raise OperationalError(
        "BEGIN IMMEDIATE", {}, Exception("database is locked")
    )  # as SQLAlchemy words a driver's error


def test_a_failed_run_reads_plainly_on_the_runs_page_and_the_admins_home(
    app, people, monkeypatch, caplog
) -> None:
    monkeypatch.setitem(
        registry._JOBS, "imports-scan", JobDefinition("imports-scan", "Inbox", _failing_scan)
    )
    with caplog.at_level(logging.ERROR, logger="app.scheduling.jobs"):
        run = run_job(app, "imports-scan", "schedule")
    assert run.outcome == "failed"
    assert "database was busy or could not be reached" in run.error
    assert "database is locked" in caplog.text  # the detail is in the log, for whoever looks
    admin = sign_in(app.test_client(), people.admin)
    for page in (admin.get("/admin/runs"), admin.get("/my-work")):
        text = page.get_data(as_text=True)
        assert "database was busy or could not be reached" in text
        assert "BEGIN IMMEDIATE" not in text and "OperationalError" not in text
    with open_session(app) as session:
        lock = session.get(JobLock, "imports-scan")
    assert lock.holder is None  # a failed run releases its lock


def test_the_cli_says_plainly_why_a_run_failed(app, runner, monkeypatch) -> None:
    monkeypatch.setitem(
        registry._JOBS, "imports-scan", JobDefinition("imports-scan", "Inbox", _failing_scan)
    )
    result = runner.invoke(args=["jobs", "run", "imports-scan"])
    assert result.exit_code != 0
    assert "imports-scan: failed" in result.output
    assert "database was busy" in result.output and "Traceback" not in result.output


def _busy() -> OperationalError:
    return OperationalError("UPDATE job_lock", {}, sqlite3.OperationalError("database is locked"))


BUSY_NOTE = "The database was busy or could not be reached"


def test_a_run_whose_lock_could_not_be_taken_ends_failed_not_running(app, monkeypatch) -> None:
    def busy_acquire(_self) -> bool:
        raise _busy()

    monkeypatch.setattr(JobLockHolder, "acquire", busy_acquire)
    run = run_job(app, "imports-scan", "schedule")
    assert run.outcome == "failed" and run.error.startswith(BUSY_NOTE)
    with open_session(app) as session:
        stored = session.get(JobRun, run.id)
    assert (stored.outcome, stored.finished_at is not None) == ("failed", True)


def test_a_run_whose_end_could_not_be_recorded_ends_failed_with_the_busy_note(
    app, monkeypatch
) -> None:
    real_finish = jobs._finish
    calls = []

    def busy_once(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 1:
            raise _busy()
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(jobs, "_finish", busy_once)
    run = run_job(app, "imports-scan", "schedule")
    assert calls == ["succeeded", "failed"]
    with open_session(app) as session:
        stored = session.get(JobRun, run.id)
    assert stored.outcome == "failed" and stored.error.startswith(BUSY_NOTE)


def _hold_the_lock(app: Flask, job: str) -> JobLockHolder:
    with app.app_context(), unit_of_work() as session:
        running = JobRun(job=job, trigger="schedule")
        session.add(running)
        session.flush()
        running_id = running.id
    holder = JobLockHolder(app.extensions["db_engine"], job, running_id, LockSettings(1))
    assert holder.acquire()
    return holder


def test_run_now_meeting_a_run_in_progress_waits_and_starts_after_it(app, people) -> None:
    holder = _hold_the_lock(app, "imports-scan")
    with app.app_context(), unit_of_work() as session:
        queued_id = queue_run(session, "imports-scan").run.id
    assert run_queued(app) == []
    with open_session(app) as session:
        assert session.get(JobRun, queued_id).outcome == "queued"
    holder.release()
    [started] = run_queued(app)
    assert (started.id, started.outcome) == (queued_id, "succeeded"), started.error


def test_run_now_that_meets_the_lock_after_starting_goes_back_to_the_queue(
    app, people, monkeypatch
) -> None:
    """It saw no run in progress, but another took the lock before it: it waits, not skipped."""
    holder = _hold_the_lock(app, "imports-scan")
    monkeypatch.setattr(jobs, "job_in_progress", lambda *_args: False)
    with app.app_context(), unit_of_work() as session:
        queued_id = queue_run(session, "imports-scan").run.id
    [met] = run_queued(app)
    assert (met.id, met.outcome) == (queued_id, "queued")
    holder.release()
    monkeypatch.undo()
    [started] = run_queued(app)
    assert started.outcome == "succeeded", started.error


def test_a_scheduled_run_meeting_a_run_in_progress_is_skipped(app, people) -> None:
    holder = _hold_the_lock(app, "imports-scan")
    try:
        run = run_job(app, "imports-scan", "schedule")
    finally:
        holder.release()
    assert run.outcome == "skipped" and "in progress" in run.error
