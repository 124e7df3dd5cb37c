"""The real scheduler process starts what "Run now" queued and delivers queued mail."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlmodel import select

from app.config import PROJECT_ROOT
from app.db import unit_of_work
from app.scheduling.models import JobRun, Schedule
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in


def _no_schedules(app: Flask) -> None:
    """Nothing is due, so the scheduler's start-up catch-up runs nothing by itself."""
    with app.app_context(), unit_of_work() as session:
        for schedule in session.exec(select(Schedule)).all():
            schedule.enabled = False
            session.add(schedule)


def _start_scheduler(app: Flask, tmp_path: Path, smtp_port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "INSTANCE_PATH": str(tmp_path / "scheduler-instance"),
        "STORAGE_DIR": app.config["STORAGE_DIR"],
        "REPORTS_DIR": app.config["REPORTS_DIR"],
        "SECRET_KEY": "test-secret-key",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "PUBLIC_URL": "https://tracker.example.org",  # with mail, the scheduler requires it
        "JOB_POLL_SECONDS": "1",
        "OUTBOX_POLL_SECONDS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    pytest.fail(f"waited {seconds} s for {what}")


def _run(app: Flask) -> JobRun | None:
    with open_session(app) as session:
        return session.exec(select(JobRun)).first()


def test_the_scheduler_process_runs_what_run_now_queued_and_sends_the_mail(
    app, people, smtp, tmp_path
) -> None:
    _no_schedules(app)
    admin = sign_in(app.test_client(), people.admin)
    scheduler = _start_scheduler(app, tmp_path, smtp.port)
    try:
        queued = admin.post("/admin/jobs/imports-scan/run", data={"csrf_token": csrf_of(admin)})
        assert queued.status_code == 303
        done = _wait_for(
            lambda: (run := _run(app)) and run.outcome == "succeeded" and run,
            30,
            "the scheduler to start the queued run",
        )
        assert (done.job, done.trigger) == ("imports-scan", "page")
        page = admin.get("/admin/runs").get_data(as_text=True)
        assert "Succeeded" in page and "hx-trigger" not in page

        reset = admin.post(
            f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)}
        )
        assert reset.status_code == 200
        [message] = _wait_for(lambda: smtp.messages, 30, "the scheduler to deliver the link")
        assert message["To"].addresses[0].addr_spec == people.reviewer.email
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=10)
