"""The scheduler process (`flask --app wsgi scheduler run`): the one place jobs are triggered.

APScheduler 3 cannot share a job store between processes, so there is exactly one scheduler
process; its job store is memory, rebuilt from the ``schedule`` table, which admins edit and
which it re-reads every minute. Triggers coalesce and have a generous misfire grace; at start
a job that missed its time during downtime gets one catch-up run. What a job does is decided
from the database, so a late or repeated trigger never does anything twice.

Besides the schedules it polls: every JOB_POLL_SECONDS it starts the runs queued by "Run now"
(and closes runs whose process died), and every OUTBOX_POLL_SECONDS it delivers pending mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.db import unit_of_work
from app.scheduling import services
from app.scheduling.jobs import deliver_outbox, run_job, run_queued
from app.timeutil import utcnow

log = logging.getLogger(__name__)
MISFIRE_GRACE_SECONDS = 6 * 3600


def catch_up(app: Flask) -> list[str]:
    """Run once each job whose scheduled time passed while nothing was running."""
    with app.app_context(), unit_of_work(write=False) as session:
        missed = services.missed_jobs(session, app.config["OFFICE_TIMEZONE"], utcnow())
    for job in missed:
        run_job(app, job, "catch-up")
    return missed


def _load(scheduler: BlockingScheduler, app: Flask, state: dict) -> None:
    with app.app_context(), unit_of_work(write=False) as session:
        rows = [(s.job, s.cron, s.enabled, s.version) for s in services.schedules(session)]
    if rows == state.get("rows"):
        return
    state["rows"] = rows
    for job in scheduler.get_jobs():
        if job.id not in POLLS:
            job.remove()
    for name, cron, enabled, _version in rows:
        if not enabled:
            continue
        try:
            trigger = services.trigger_for(cron, app.config["OFFICE_TIMEZONE"])
        except ValueError as exc:
            log.error("schedule for %s is not valid (%s): not scheduled", name, exc)
            continue
        scheduler.add_job(
            run_job,
            trigger,
            args=(app, name, "schedule"),
            id=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
    log.info("schedules loaded: %s", ", ".join(f"{n} '{c}'" for n, c, e, _ in rows if e))


def build_scheduler(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=ZoneInfo(app.config["OFFICE_TIMEZONE"]))
    state: dict = {}
    _load(scheduler, app, state)
    scheduler.add_job(
        _load,
        "interval",
        minutes=1,
        args=(scheduler, app, state),
        id="reload-schedules",
        coalesce=True,
        max_instances=1,
    )
    for job_id, function, seconds in (
        ("run-queued", run_queued, app.config["JOB_POLL_SECONDS"]),
        ("deliver-mail", deliver_outbox, app.config["OUTBOX_POLL_SECONDS"]),
    ):
        scheduler.add_job(
            _logged(function),
            "interval",
            seconds=max(1, int(seconds)),
            args=(app,),
            id=job_id,
            coalesce=True,
            max_instances=1,
        )
    return scheduler


POLLS = ("reload-schedules", "run-queued", "deliver-mail")


def _logged(function: Callable[[Flask], object]) -> Callable[[Flask], None]:
    """A poll that fails (a busy database) is logged and tried again at its next interval."""

    def poll(app: Flask) -> None:
        try:
            with app.app_context():
                function(app)
        except Exception:
            log.exception("%s failed; trying again at the next poll", function.__name__)

    poll.__name__ = function.__name__
    return poll


def run_forever(app: Flask) -> None:
    caught_up = catch_up(app)
    if caught_up:
        log.info("catch-up runs after downtime: %s", ", ".join(caught_up))
    build_scheduler(app).start()
