"""Schedules as data: validated cron expressions, next run times, catch-up after downtime."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, col, select

from app.scheduling.models import JOB_KINDS, JobRun, Schedule
from app.timeutil import utcnow
from app.validation import InputError, NotFound


def trigger_for(cron: str, timezone: str) -> CronTrigger:
    """A cron trigger, or InputError with a plain message."""
    parts = cron.split()
    if len(parts) != 5:
        raise InputError(
            {
                "cron": "a cron expression has five fields: minute hour day month "
                "weekday, e.g. '0 8 * * 1-5' for 08:00 on weekdays"
            }
        )
    try:
        return CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))
    except ValueError as exc:
        raise InputError({"cron": f"not a valid cron expression: {exc}"}) from exc


def next_runs(
    cron: str, timezone: str, count: int = 3, now: datetime | None = None
) -> list[datetime]:
    trigger = trigger_for(cron, timezone)
    times: list[datetime] = []
    previous = None
    moment = now or utcnow()
    for _ in range(count):
        nxt = trigger.get_next_fire_time(previous, moment)
        if nxt is None:
            break
        times.append(nxt)
        previous, moment = nxt, nxt + timedelta(seconds=1)
    return times


def last_due_before(
    cron: str, timezone: str, now: datetime, lookback: timedelta
) -> datetime | None:
    """The latest time the schedule should have fired at or before ``now``."""
    trigger = trigger_for(cron, timezone)
    moment, last = now - lookback, None
    while True:
        nxt = trigger.get_next_fire_time(last, moment)
        if nxt is None or nxt > now:
            return last
        last, moment = nxt, nxt + timedelta(seconds=1)


def schedules(session: Session) -> list[Schedule]:
    return list(session.exec(select(Schedule).order_by(Schedule.id)).all())


def update_schedule(
    session: Session,
    schedule_id: int,
    *,
    cron: str,
    enabled: bool,
    timezone: str,
    expected_version: int,
) -> Schedule:
    schedule = session.get(Schedule, schedule_id, with_for_update=True)
    if schedule is None:
        raise NotFound("schedule")
    cron = " ".join(cron.split())
    trigger_for(cron, timezone)
    if expected_version != schedule.version:
        raise InputError({"cron": "someone else changed this schedule a moment ago; reload"})
    schedule.cron, schedule.enabled = cron, enabled
    schedule.updated_at = utcnow()
    schedule.version += 1
    session.add(schedule)
    session.flush()
    return schedule


def missed_jobs(
    session: Session, timezone: str, now: datetime, lookback: timedelta = timedelta(days=35)
) -> list[str]:
    """Jobs whose last due time passed with no run since: each gets one catch-up run."""
    missed = []
    for schedule in schedules(session):
        if not schedule.enabled or schedule.job not in JOB_KINDS:
            continue
        due = last_due_before(schedule.cron, timezone, now, lookback)
        if due is None:
            continue
        last_run = session.exec(
            select(JobRun.started_at)
            .where(JobRun.job == schedule.job, col(JobRun.outcome) != "skipped")
            .order_by(col(JobRun.started_at).desc())
        ).first()
        if last_run is None or last_run < due:
            missed.append(schedule.job)
    return missed
