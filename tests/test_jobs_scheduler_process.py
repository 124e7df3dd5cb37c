"""The real scheduler process starts what "Run now" queued and delivers queued mail."""

from __future__ import annotations

import subprocess
from pathlib import Path

from flask import Flask
from sqlmodel import select

from app.db import unit_of_work
from app.scheduling.models import JobRun, Schedule
from tests.app_process import start_command, wait_for
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in


def _no_schedules(app: Flask) -> None:
    """Nothing is due, so the scheduler's start-up catch-up runs nothing by itself."""
    with app.app_context(), unit_of_work() as session:
        for schedule in session.exec(select(Schedule)).all():
            schedule.enabled = False
            session.add(schedule)


def _start_scheduler(app: Flask, tmp_path: Path, smtp_port: int) -> subprocess.Popen:
    return start_command(
        app,
        tmp_path / "scheduler-instance",
        smtp_port,
        ["scheduler", "run"],
        # with mail, the scheduler requires it
        PUBLIC_URL="https://tracker.example.org",
        JOB_POLL_SECONDS="1",
        OUTBOX_POLL_SECONDS="1",
    )


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
        done = wait_for(
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
        [message] = wait_for(lambda: smtp.messages, 30, "the scheduler to deliver the link")
        assert message["To"].addresses[0].addr_spec == people.reviewer.email
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=10)
