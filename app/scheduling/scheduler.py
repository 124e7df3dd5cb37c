"""The scheduler process (`flask --app wsgi scheduler run`): the one place jobs are triggered.

APScheduler 3 cannot share a job store between processes, so there is exactly one scheduler
process; its job store is memory, rebuilt from the ``schedule`` table, which admins edit and
which it re-reads every minute. Triggers coalesce and have a generous misfire grace; at start
a job that missed its time during downtime gets one catch-up run. What a job does is decided
from the database, so a late or repeated trigger never does anything twice.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.db import unit_of_work
from app.scheduling import services
from app.scheduling.jobs import run_job
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
        if job.id != "reload-schedules":
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
    return scheduler


def run_forever(app: Flask) -> None:
    caught_up = catch_up(app)
    if caught_up:
        log.info("catch-up runs after downtime: %s", ", ".join(caught_up))
    build_scheduler(app).start()
