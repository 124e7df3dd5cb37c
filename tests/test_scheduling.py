"""Reminders and status reports: real SMTP on localhost, and nothing is ever sent twice."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from app.accounts.models import User
from app.db import unit_of_work
from app.plan.models import Initiative, ReportingPeriod
from app.scheduling import mail, status_report
from app.scheduling.jobs import run_job, run_queued
from app.scheduling.models import JobRun, OutboxMessage, ReminderClaim, Schedule, StatusReport
from app.scheduling.reminders import Cadence
from app.scheduling.scheduler import POLLS, build_scheduler, catch_up
from app.scheduling.services import next_runs
from app.validation import InputError
from tests import factories
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in

# 2025-Q3 is due on 30 October 2025; earlier quarters are then overdue.
BEFORE_DUE = "2025-10-20"


def _close_periods_before(app, code: str) -> None:
    with app.app_context(), unit_of_work() as session:
        for period in session.exec(select(ReportingPeriod)).all():
            if period.code < code:
                period.status = "closed"
                session.add(period)


def _run(app, job: str = "reminders", today: str = BEFORE_DUE) -> JobRun:
    app.config["JOBS_TODAY"] = today
    return run_job(app, job, "cli")


def test_a_focal_point_gets_one_readable_digest(app, people, smtp) -> None:
    _close_periods_before(app, "2025-Q3")
    run = _run(app)
    assert run.outcome == "succeeded", run.error
    [message] = [
        m for m in smtp.messages if m["To"].addresses[0].addr_spec == people.focal_point.email
    ]
    assert message["Subject"] == "Reminder: Thailand progress report for 2025-Q3 is due soon"
    body = message.get_content()
    assert "Thailand" in body and "2025-Q3" in body and "30 October 2025" in body
    assert "in 10 days" in body and "/my-work" in body
    assert "indicator values still missing" in body
    assert run.counts["reminders"] >= 1 and run.counts["mail_sent"] == len(smtp.messages)
    notes = " ".join(run.notes)
    assert "Myanmar has no active focal point" in notes


def test_a_returned_report_is_reminded_with_the_comment_and_a_link_to_it(app, people, smtp) -> None:
    from app.accounts.services import viewer_for
    from app.progress.submissions import open_submission

    _close_periods_before(app, "2025-Q3")
    with app.app_context(), unit_of_work() as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q2")
        ).one()
        period.status = "open"
        viewer = viewer_for(session, session.get(User, people.focal_point.id))
        submission = open_submission(session, people.focal_point.member_state_id, period.id, viewer)
        # As a manager's "return for changes" leaves it (the review flow is tested elsewhere).
        submission.status, submission.review_comment = "returned", "Please split 3.1.a by sex."
        session.add_all([period, submission])
        submission_id = submission.id
    _run(app)
    [message] = [
        m for m in smtp.messages if m["To"].addresses[0].addr_spec == people.focal_point.email
    ]
    body = message.get_content()
    assert "2025-Q2: returned for changes" in body and "Please split 3.1.a by sex." in body
    assert f"/submissions/{submission_id}" in body  # straight to the returned report
    assert "2025-Q3" in body and "/my-work" in body  # the one not started yet: my work


def test_rerunning_sends_nothing_twice(app, people, smtp) -> None:
    _close_periods_before(app, "2025-Q3")
    _run(app)
    first = len(smtp.messages)
    again = _run(app)
    assert again.outcome == "succeeded"
    assert len(smtp.messages) == first
    assert again.counts["reminders"] == 0


def test_a_run_missed_on_the_day_still_sends_the_stage_reached(app, people, smtp) -> None:
    _close_periods_before(app, "2025-Q3")
    _run(app, today="2025-10-16")  # 14 days before: the 14-day reminder
    _run(app, today="2025-10-25")  # the run on the 23rd (7 days before) was missed
    _run(app, today="2025-10-26")
    with open_session(app) as session:
        stages = session.exec(
            select(ReminderClaim.stage)
            .where(ReminderClaim.recipient_id == people.focal_point.id)
            .order_by(ReminderClaim.id)
        ).all()
    assert stages == ["due-14", "due-7"]


def test_overdue_reports_escalate_to_managers_once(app, people, smtp) -> None:
    _close_periods_before(app, "2025-Q3")
    _run(app, today="2025-11-01")  # two days overdue
    to_manager = [
        m for m in smtp.messages if m["To"].addresses[0].addr_spec == people.manager.email
    ]
    assert len(to_manager) == 1
    assert "Overdue member-state reports" in to_manager[0]["Subject"]
    assert "Thailand, 2025-Q3" in to_manager[0].get_content()
    _run(app, today="2025-11-02")
    assert (
        len([m for m in smtp.messages if m["To"].addresses[0].addr_spec == people.manager.email])
        == 1
    )


def _fifty_focal_points(app) -> None:
    with app.app_context(), unit_of_work() as session:
        from app.plan.models import MemberState

        thailand = session.exec(select(MemberState).where(MemberState.code == "THA")).one()
        for n in range(49):
            factories.make_user(
                session,
                ["focal_point"],
                thailand,
                email=f"thai.focal{n}@example.org",
                password="x" * 12,
            )


def test_a_crash_after_ten_messages_then_a_rerun_sends_the_other_forty(
    app, people, smtp, monkeypatch
) -> None:
    _close_periods_before(app, "2025-Q3")
    _fifty_focal_points(app)
    real_claim = mail._claim
    sent = {"n": 0}

    def crash_after_ten(session_factory, message_id):
        if sent["n"] == 10:
            raise KeyboardInterrupt("the process was killed")
        sent["n"] += 1
        return real_claim(session_factory, message_id)

    monkeypatch.setattr(mail, "_claim", crash_after_ten)
    with pytest.raises(KeyboardInterrupt):
        _run(app)
    assert len(smtp.messages) == 10
    with open_session(app) as session:
        queued = len(session.exec(select(OutboxMessage)).all())
    assert queued == 51  # 50 Thai focal points and the Malaysian one
    monkeypatch.setattr(mail, "_claim", real_claim)
    _run(app)
    recipients = [m["To"].addresses[0].addr_spec for m in smtp.messages]
    assert len(recipients) == 51 and len(set(recipients)) == 51  # the other 41, none twice


def test_two_schedulers_at_once_never_duplicate_a_reminder(app, people, smtp) -> None:
    _close_periods_before(app, "2025-Q3")
    _fifty_focal_points(app)
    app.config["JOBS_TODAY"] = BEFORE_DUE
    runs: list[JobRun] = []
    barrier = threading.Barrier(2)

    def scheduler() -> None:
        barrier.wait()
        runs.append(run_job(app, "reminders", "schedule"))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.outcome for r in runs) in (["skipped", "succeeded"], ["succeeded", "succeeded"])
    recipients = [
        m["To"].addresses[0].addr_spec for m in smtp.messages if "Thailand" in m["Subject"]
    ]
    assert len(recipients) == len(set(recipients)) == 50


def test_missed_runs_after_downtime_coalesce_into_one(app, people, smtp) -> None:
    with app.app_context(), unit_of_work() as session:
        for schedule in session.exec(select(Schedule)).all():
            schedule.enabled = schedule.job == "reminders"
            schedule.cron = "0 * * * *"  # hourly
            session.add(schedule)
        session.add(
            JobRun(
                job="reminders",
                trigger="schedule",
                outcome="succeeded",
                started_at=datetime.now(UTC) - timedelta(hours=5),
            )
        )
    app.config["JOBS_TODAY"] = BEFORE_DUE
    assert catch_up(app) == ["reminders"]
    assert catch_up(app) == []  # now up to date: no second catch-up
    with open_session(app) as session:
        catch_ups = session.exec(select(JobRun).where(JobRun.trigger == "catch-up")).all()
    assert len(catch_ups) == 1


def test_a_server_answering_451_twice_then_250_delivers_once(app, people, smtp) -> None:
    smtp.handler.replies = ["451 try again later", "451 try again later"]
    with app.app_context(), unit_of_work() as session:
        mail.queue(
            session,
            to_address="someone@example.org",
            to_name="Someone",
            subject="Hello",
            body_text="Hi",
            kind="test",
        )
    result = mail.deliver_pending(
        lambda: unit_of_work(app.extensions["db_engine"]), mail.SmtpSettings.from_config(app.config)
    )
    assert result.sent == 1 and len(smtp.messages) == 1
    with open_session(app) as session:
        message = session.exec(select(OutboxMessage)).one()
    assert (message.status, message.attempts) == ("sent", 3)


def test_a_550_marks_the_message_failed_and_admins_see_it(app, people, smtp) -> None:
    smtp.handler.replies = ["550 No such user here"]
    with app.app_context(), unit_of_work() as session:
        mail.queue(
            session,
            to_address="ghost@example.org",
            to_name="Ghost",
            subject="Reminder",
            body_text="Hi",
            kind="test",
        )
    mail.deliver_pending(
        lambda: unit_of_work(app.extensions["db_engine"]), mail.SmtpSettings.from_config(app.config)
    )
    with open_session(app) as session:
        message = session.exec(select(OutboxMessage)).one()
    assert message.status == "failed" and message.last_error.startswith("550")
    admin = sign_in(app.test_client(), people.admin)
    page = admin.get("/my-work").get_data(as_text=True)
    assert "Not delivered" in page and "ghost@example.org" in page


def test_an_smtp_outage_delays_mail_without_losing_it(app, people, smtp) -> None:
    from tests.smtp_server import free_port

    _close_periods_before(app, "2025-Q3")
    up_port = app.config["SMTP_PORT"]
    dead_port = free_port()  # nothing listens here: the mail server is down for the whole run
    smtp.allowed_ports.add(dead_port)
    app.config["SMTP_PORT"] = dead_port
    run = _run(app)
    assert run.outcome == "succeeded" and run.counts["mail_sent"] == 0
    with open_session(app) as session:
        pending = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    assert pending and smtp.messages == []

    app.config["SMTP_PORT"] = up_port  # the server is back
    with app.app_context(), unit_of_work() as session:
        for message in session.exec(select(OutboxMessage)).all():
            message.next_attempt_at = datetime.now(UTC)  # the back-off has passed
            session.add(message)
    mail.deliver_pending(
        lambda: unit_of_work(app.extensions["db_engine"]), mail.SmtpSettings.from_config(app.config)
    )
    assert len(smtp.messages) == len(pending)


def test_a_rollback_after_queuing_leaves_no_message(app) -> None:
    with pytest.raises(RuntimeError), app.app_context(), unit_of_work() as session:
        mail.queue(
            session,
            to_address="a@example.org",
            to_name="A",
            subject="S",
            body_text="B",
            kind="test",
        )
        raise RuntimeError("the job failed after queuing")
    with open_session(app) as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_a_line_break_in_a_name_cannot_inject_a_header(app, people, smtp) -> None:
    with app.app_context(), unit_of_work() as session:
        user = session.get(User, people.focal_point.id)
        user.full_name = "Somchai\r\nBcc: victim@example.org"
        session.add(user)
    _close_periods_before(app, "2025-Q3")
    _run(app)
    [message] = [m for m in smtp.messages if "Thailand" in m["Subject"]]
    assert message["Bcc"] is None
    assert message["To"].addresses[0].display_name == "Somchai Bcc: victim@example.org"
    for _sender, recipients in smtp.handler.envelopes:
        assert "victim@example.org" not in recipients


def test_without_smtp_mail_waits_in_the_outbox_for_admins_to_read(app, people) -> None:
    _close_periods_before(app, "2025-Q3")
    run = _run(app)
    assert run.outcome == "succeeded" and run.counts["mail_sent"] == 0
    admin = sign_in(app.test_client(), people.admin)
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert "SMTP is not configured" in page
    assert "Reminder: Thailand progress report for 2025-Q3 is due soon" in page


def test_the_status_report_is_stored_and_sent_to_reviewers_and_managers(app, people, smtp) -> None:
    with app.app_context(), unit_of_work() as session:
        initiative = session.exec(select(Initiative).where(Initiative.code == "2.2")).one()
        initiative.title = '=HYPERLINK("http://evil.example","click")'
        session.add(initiative)
    run = _run(app, "status-report", today="2025-11-03")
    assert run.outcome == "succeeded", run.error
    recipients = sorted(m["To"].addresses[0].addr_spec for m in smtp.messages)
    assert recipients == sorted([people.manager.email, people.reviewer.email])
    message = smtp.messages[0]
    assert message["Subject"] == "RSO Work Plan status report, 2025-Q3"
    html = message.get_body(("html",)).get_content()
    assert "On track" in html and "Only approved values count" in html
    [attachment] = list(message.iter_attachments())
    import io

    workbook = load_workbook(io.BytesIO(attachment.get_content()))
    titles = [row[2] for row in workbook["Initiatives"].iter_rows(min_row=2)]
    evil = [c for c in titles if c.value == '=HYPERLINK("http://evil.example","click")']
    assert len(evil) == 1 and evil[0].data_type == "s"  # the text as typed, never a formula
    again = _run(app, "status-report", today="2025-11-03")
    assert again.counts["reports"] == 0 and len(smtp.messages) == 2


def test_two_status_report_runs_that_race_past_the_check_send_it_once(
    app, people, smtp, monkeypatch
) -> None:
    """Both runs find no report yet (on PostgreSQL both can): the unique key lets one send."""
    monkeypatch.setattr(status_report, "_already_sent_today", lambda *_args: False)
    first = _run(app, "status-report", today="2025-11-03")
    second = _run(app, "status-report", today="2025-11-03")
    assert first.counts["reports"] == 1 and second.counts["reports"] == 0
    assert second.outcome == "succeeded", second.error
    assert second.notes == ["today's status report for this period was already sent"]
    with open_session(app) as session:
        reports = session.exec(select(StatusReport)).all()
        queued = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "status_report")
        ).all()
    assert [r.job_run_id for r in reports] == [first.id]
    assert len(queued) == 2 and len(smtp.messages) == 2  # the reviewer and the manager, once
    next_day = _run(app, "status-report", today="2025-11-04")
    assert next_day.counts["reports"] == 1


def test_schedules_are_edited_with_next_runs_and_bad_cron_is_explained(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    page = admin.get("/admin/schedules").get_data(as_text=True)
    assert "Asia/Bangkok" in page and "Next runs:" in page
    with open_session(app) as session:
        schedule = session.exec(select(Schedule).where(Schedule.job == "reminders")).one()
    bad = admin.post(
        f"/admin/schedules/{schedule.id}",
        data={
            "cron": "every morning",
            "enabled": "on",
            "version": schedule.version,
            "csrf_token": csrf_of(admin),
        },
    )
    assert bad.status_code == 422
    assert "a cron expression has five fields" in bad.get_data(as_text=True)
    good = admin.post(
        f"/admin/schedules/{schedule.id}",
        data={
            "cron": "30 7 * * 1-5",
            "enabled": "on",
            "version": schedule.version,
            "csrf_token": csrf_of(admin),
        },
    )
    assert good.status_code == 303
    with open_session(app) as session:
        assert session.get(Schedule, schedule.id).cron == "30 7 * * 1-5"
    assert (
        admin.post("/admin/jobs/teleport/run", data={"csrf_token": csrf_of(admin)}).status_code
        == 404
    )


def test_run_now_queues_one_run_that_the_scheduler_starts(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    for _press in range(2):
        response = admin.post("/admin/jobs/imports-scan/run", data={"csrf_token": csrf_of(admin)})
        assert response.status_code == 303
    with open_session(app) as session:
        [queued] = session.exec(select(JobRun)).all()  # two presses, one queued run
    assert (queued.job, queued.outcome, queued.trigger) == ("imports-scan", "queued", "page")
    page = admin.get("/admin/runs").get_data(as_text=True)
    assert "Queued" in page and "Waiting for the scheduler process" in page
    assert 'hx-trigger="every 2s"' in page and 'http-equiv="refresh"' in page
    partial = admin.get("/admin/runs", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<div id="runs" hx-get="/admin/runs"' in partial
    assert "<html" not in partial

    [run] = run_queued(app)  # what the scheduler process does every few seconds
    assert (run.id, run.outcome) == (queued.id, "succeeded")
    assert run_queued(app) == []
    page = admin.get("/admin/runs").get_data(as_text=True)
    assert "Imports inbox scan" in page and "Succeeded" in page
    assert "hx-trigger" not in page and 'http-equiv="refresh"' not in page


def test_the_scheduler_polls_for_queued_runs_and_mail(app) -> None:
    app.config.update(JOB_POLL_SECONDS=2, OUTBOX_POLL_SECONDS=4)
    jobs = {job.id: job for job in build_scheduler(app).get_jobs()}
    assert jobs["run-queued"].trigger.interval.total_seconds() == 2
    assert jobs["deliver-mail"].trigger.interval.total_seconds() == 4


def test_the_cli_runs_jobs_and_refuses_unknown_ones(app, runner) -> None:
    result = runner.invoke(args=["jobs", "run", "imports-scan"])
    assert result.exit_code == 0 and "imports-scan: succeeded" in result.output
    unknown = runner.invoke(args=["jobs", "run", "teleport"])
    assert unknown.exit_code != 0 and "Invalid value" in unknown.output


def test_schedules_keep_office_hours_across_daylight_saving() -> None:
    # Sydney moves its clocks forward on 4 October 2026.
    runs = next_runs(
        "0 8 * * *", "Australia/Sydney", count=3, now=datetime(2026, 10, 2, 12, 0, tzinfo=UTC)
    )
    assert [r.hour for r in runs] == [8, 8, 8]
    assert [r.utcoffset() for r in runs] == [
        timedelta(hours=10),
        timedelta(hours=11),
        timedelta(hours=11),
    ]


def test_cadence_stages() -> None:
    cadence = Cadence()
    assert cadence.stage("due_soon", 20) is None
    assert cadence.stage("due_soon", 14) == "due-14"
    assert cadence.stage("due_soon", 3) == "due-7"
    assert cadence.stage("due_soon", 0) == "due-1"
    assert cadence.stage("overdue", -1) == "overdue-1"
    assert cadence.stage("overdue", -8) == "overdue-7"
    assert cadence.stage("overdue", -40) == "overdue-37"
    assert cadence.stage("overdue", -70) == "overdue-67"


OFFICE = "Asia/Bangkok"
MONDAY_NOON = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 12:00 on Monday 2 March 2026 in Bangkok
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WORKING_DAYS = {"Mon", "Tue", "Wed", "Thu", "Fri"}


def _weekdays_of(runs: list[datetime]) -> list[str]:
    return [DAY_NAMES[run.weekday()] for run in runs]


def _next_runs_on_page(page: str, schedule_id: int) -> list[datetime]:
    section = page.split(f'aria-labelledby="job-{schedule_id}"', 1)[1].split("</section>", 1)[0]
    return [datetime.fromisoformat(t) for t in re.findall(r'<time datetime="([^"]+)"', section)]


def _save_schedule(admin, schedule_id: int, cron: str):
    with open_session(admin.application) as session:
        version = session.get(Schedule, schedule_id).version
    return admin.post(
        f"/admin/schedules/{schedule_id}",
        data={"cron": cron, "enabled": "on", "version": version, "csrf_token": csrf_of(admin)},
    )


def _reminders_schedule_id(app) -> int:
    with open_session(app) as session:
        return session.exec(select(Schedule.id).where(Schedule.job == "reminders")).one()


@pytest.mark.parametrize(
    ("weekday", "days"),
    [
        ("0", {"Sun"}),
        ("7", {"Sun"}),
        ("1", {"Mon"}),
        ("5", {"Fri"}),
        ("6", {"Sat"}),
        ("1-5", WORKING_DAYS),
        ("0,6", {"Sat", "Sun"}),
        ("6-7", {"Sat", "Sun"}),
        ("5,7", {"Fri", "Sun"}),
        ("*/2", {"Sun", "Tue", "Thu", "Sat"}),
        ("1-5/2", {"Mon", "Wed", "Fri"}),
        ("0-7", set(DAY_NAMES)),
        ("*", set(DAY_NAMES)),
        ("mon-fri", WORKING_DAYS),
        ("sat,SUN", {"Sat", "Sun"}),
        ("mon-sun", set(DAY_NAMES)),
        ("sun", {"Sun"}),
        ("fri-sun", {"Fri", "Sat", "Sun"}),
    ],
)
def test_the_weekday_field_has_its_standard_cron_meaning(weekday: str, days: set[str]) -> None:
    runs = next_runs(f"0 8 * * {weekday}", OFFICE, count=14, now=MONDAY_NOON)
    assert len(runs) == 14 and {(r.hour, r.minute) for r in runs} == {(8, 0)}
    assert set(_weekdays_of(runs)) == days


def test_sunday_is_0_and_7_and_weekdays_are_1_to_5_on_fixed_dates() -> None:
    bangkok = ZoneInfo(OFFICE)
    sundays = [datetime(2026, 3, d, 8, 0, tzinfo=bangkok) for d in (8, 15, 22)]
    assert next_runs("0 8 * * 0", OFFICE, count=3, now=MONDAY_NOON) == sundays
    assert next_runs("0 8 * * 7", OFFICE, count=3, now=MONDAY_NOON) == sundays
    assert next_runs("0 8 * * 1-5", OFFICE, count=6, now=MONDAY_NOON) == [
        datetime(2026, 3, d, 8, 0, tzinfo=bangkok) for d in (3, 4, 5, 6, 9, 10)
    ]


@pytest.mark.parametrize("weekday", ["8", "5-1", "fri-mon", "*/0", "1-5/8", "monday", "1-", "-1"])
def test_a_weekday_outside_standard_cron_is_refused_plainly(weekday: str) -> None:
    with pytest.raises(InputError) as refused:
        next_runs(f"0 8 * * {weekday}", OFFICE)
    assert "weekday" in refused.value.problems["cron"]
    assert "0 and 7 are Sunday" in refused.value.problems["cron"]


def test_the_schedules_page_and_the_scheduler_agree_on_sundays(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    schedule_id = _reminders_schedule_id(app)
    for cron, day in (("0 8 * * 0", "Sun"), ("0 8 * * 5", "Fri"), ("0 8 * * 7", "Sun")):
        assert _save_schedule(admin, schedule_id, cron).status_code == 303
        page = admin.get("/admin/schedules").get_data(as_text=True)
        assert _weekdays_of(_next_runs_on_page(page, schedule_id)) == [day] * 3
    assert _save_schedule(admin, schedule_id, "0 8 * * 1-5").status_code == 303
    with open_session(app) as session:
        assert session.get(Schedule, schedule_id).cron == "0 8 * * 1-5"
    [job] = [j for j in build_scheduler(app).get_jobs() if j.id == "reminders"]
    fired, moment = [], MONDAY_NOON
    for _ in range(6):
        fired.append(job.trigger.get_next_fire_time(fired[-1] if fired else None, moment))
        moment = fired[-1] + timedelta(seconds=1)
    assert fired == next_runs("0 8 * * 1-5", OFFICE, count=6, now=MONDAY_NOON)
    assert _weekdays_of(fired) == ["Tue", "Wed", "Thu", "Fri", "Mon", "Tue"]


def _section_of(page: str, schedule_id: int) -> str:
    return page.split(f'aria-labelledby="job-{schedule_id}"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2 1", "0 0 30,31 2 mon-fri"])
def test_a_schedule_that_can_never_fire_is_refused(cron: str) -> None:
    with pytest.raises(InputError) as refused:
        next_runs(cron, OFFICE, now=MONDAY_NOON)
    assert refused.value.problems["cron"].startswith("this schedule never runs: ")


def test_a_rare_schedule_is_not_mistaken_for_one_that_never_fires() -> None:
    # 29 February on a Monday (standard weekday 1) next comes in 2044.
    assert next_runs("0 0 29 2 1", OFFICE, count=1, now=MONDAY_NOON) == [
        datetime(2044, 2, 29, 0, 0, tzinfo=ZoneInfo(OFFICE))
    ]


def test_saving_30_february_is_refused_and_nothing_is_saved(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    schedule_id = _reminders_schedule_id(app)
    with open_session(app) as session:
        before = session.get(Schedule, schedule_id)
    refused = _save_schedule(admin, schedule_id, "0 0 30 2 *")
    assert refused.status_code == 422
    section = _section_of(refused.get_data(as_text=True), schedule_id)
    assert "this schedule never runs: no date is day 30 of month 2" in section
    with open_session(app) as session:
        after = session.get(Schedule, schedule_id)
    assert (after.cron, after.enabled, after.version) == (before.cron, True, before.version)


def test_an_enabled_schedule_that_never_fires_is_never_called_disabled(app, people) -> None:
    # As a row saved before such schedules were refused would be; the other jobs are disabled.
    with app.app_context(), unit_of_work() as session:
        for schedule in session.exec(select(Schedule)).all():
            schedule.cron = "0 0 30 2 *" if schedule.job == "reminders" else schedule.cron
            schedule.enabled = schedule.job == "reminders"
            session.add(schedule)
        disabled_id = session.exec(select(Schedule.id).where(Schedule.job == "imports-scan")).one()
    admin = sign_in(app.test_client(), people.admin)
    page = admin.get("/admin/schedules").get_data(as_text=True)
    never = _section_of(page, _reminders_schedule_id(app))
    assert "none: this schedule never runs: no date is day 30 of month 2" in never
    assert "disabled" not in never
    assert "none (disabled)" in _section_of(page, disabled_id)
    assert catch_up(app) == []  # skipped, not a crash at the scheduler's start
    assert [job.id for job in build_scheduler(app).get_jobs() if job.id not in POLLS] == []


@pytest.mark.parametrize(
    ("cron", "field", "character"),
    [
        ("\u0663 8 * * *", "minute", "\u0663"),  # Arabic-Indic three
        ("0 \u06f8 * * *", "hour", "\u06f8"),  # Extended Arabic-Indic (Persian) eight
        ("0 8 \uff13 * *", "day", "\uff13"),  # fullwidth three
        ("0 8 * \u0967\u0968 *", "month", "\u0967"),  # Devanagari twelve
        ("0 8 * * \u0661-\u0665", "weekday", "\u0661"),  # Arabic-Indic 1-5
        ("0 8 1\u00b2 * *", "day", "\u00b2"),  # superscript two
        ("0\u200b 8 * * *", "minute", "\u200b"),  # a zero-width space pasted with the text
    ],
)
def test_digits_other_than_0_to_9_are_refused(cron: str, field: str, character: str) -> None:
    with pytest.raises(InputError) as refused:
        next_runs(cron, OFFICE, now=MONDAY_NOON)
    message = refused.value.problems["cron"]
    assert message.startswith(f"the {field} field has {character!r}, which cron does not read")
    assert "use the digits 0-9" in message


def test_arabic_indic_digits_are_refused_by_the_page_and_nothing_is_saved(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    schedule_id = _reminders_schedule_id(app)
    with open_session(app) as session:
        before = session.get(Schedule, schedule_id)
    refused = _save_schedule(admin, schedule_id, "\u0663 8 * * *")  # Arabic-Indic three
    assert refused.status_code == 422
    assert "the minute field has &#39;\u0663&#39;, which cron does not read" in _section_of(
        refused.get_data(as_text=True), schedule_id
    )
    with open_session(app) as session:
        after = session.get(Schedule, schedule_id)
    assert (after.cron, after.version) == (before.cron, before.version)
    assert _save_schedule(admin, schedule_id, "3 8 * * *").status_code == 303
    page = admin.get("/admin/schedules").get_data(as_text=True)
    assert {(t.hour, t.minute) for t in _next_runs_on_page(page, schedule_id)} == {(8, 3)}
