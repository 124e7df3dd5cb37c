"""The job runner: a run's start and end in transactions of their own, jobs open their own."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from app.imports.models import Upload
from app.plan.models import ReportingPeriod
from app.scheduling import registry
from app.scheduling.jobs import run_job
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
