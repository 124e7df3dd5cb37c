"""Schedules as data: validated cron expressions, next run times, catch-up after downtime."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, col, select

from app.scheduling.models import JOB_KINDS, JobRun, Schedule
from app.timeutil import utcnow
from app.validation import InputError, NotFound

# Standard cron numbers the weekdays 0-7, Sunday being both 0 and 7; APScheduler 3 numbers
# them 0-6 from Monday. The weekday field is read here with the standard meaning and handed to
# APScheduler as day names, which mean the same in both, so every trigger agrees with cron.
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY_ITEM = re.compile(
    r"(?:(?P<all>\*)|(?P<first>[0-9]{1,2}|[a-z]{3})(?:-(?P<last>[0-9]{1,2}|[a-z]{3}))?)"
    r"(?:/(?P<step>[0-9]{1,2}))?",
    re.ASCII | re.IGNORECASE,
)
_WEEKDAY_HELP = (
    "use 0-7 (0 and 7 are Sunday, 1-5 Monday to Friday) or the names mon-sun, "
    "as single days, ranges, lists or steps such as */2 or 1-5/2"
)


def _weekday_number(text: str) -> int | None:
    """0-7 for a weekday number, 0-6 for a name (Sunday is 0); None for anything else."""
    if text.isdigit():
        return int(text) if int(text) <= 7 else None
    name = text.lower()
    return WEEKDAY_NAMES.index(name) if name in WEEKDAY_NAMES else None


def _weekday_item(item: str) -> set[int]:
    """The days (0 = Sunday ... 6 = Saturday) one comma-separated item of the field names."""
    match = _WEEKDAY_ITEM.fullmatch(item)
    if match is None:
        raise ValueError(item)
    step = int(match["step"] or 1)
    if match["all"]:
        first, last = 0, 7
    else:
        first = _weekday_number(match["first"])
        # "1/2" runs to the end of the week, as in cron; "3" alone is just day 3.
        last = _weekday_number(match["last"] or ("7" if match["step"] else match["first"]))
        if (match["last"] or "").lower() == "sun" and first:
            last = 7  # a range of names may end on Sunday: "fri-sun"
    if first is None or last is None or first > last or not 1 <= step <= 7:
        raise ValueError(item)
    return {number % 7 for number in range(first, last + 1, step)}


def _apscheduler_weekdays(field: str) -> str:
    """A cron weekday field, standard meaning, as APScheduler's day names ("*" for all)."""
    days: set[int] = set()
    for item in field.split(","):
        try:
            days |= _weekday_item(item)
        except ValueError:
            raise InputError(
                {"cron": f"the weekday {item!r} is not one cron knows: {_WEEKDAY_HELP}"}
            ) from None
    if len(days) == 7:
        return "*"
    return ",".join(WEEKDAY_NAMES[day] for day in sorted(days))


FIELD_NAMES = ("minute", "hour", "day", "month", "weekday")
# APScheduler reads numbers with Python's \d and int(), which also take other scripts' digits
# (Arabic-Indic, fullwidth ...), so only what cron itself reads is let through to it.
_CRON_CHARACTER = re.compile(r"[0-9A-Za-z*,/-]", re.ASCII)


def _five_fields(cron: str) -> list[str]:
    parts = cron.split()
    if len(parts) != 5:
        raise InputError(
            {
                "cron": "a cron expression has five fields: minute hour day month "
                "weekday, e.g. '0 8 * * 1-5' for 08:00 on weekdays"
            }
        )
    for name, part in zip(FIELD_NAMES, parts, strict=True):
        odd = next((ch for ch in part if not _CRON_CHARACTER.fullmatch(ch)), None)
        if odd is not None:
            raise InputError(
                {
                    "cron": f"the {name} field has {odd!r}, which cron does not read: use the "
                    "digits 0-9, the signs * , - / and English day or month names"
                }
            )
    return parts


def _never_runs(day: str, month: str, weekday: str) -> str:
    on_weekday = "" if weekday == "*" else f" on weekday {weekday}"
    return f"this schedule never runs: no date is day {day} of month {month}{on_weekday}"


def trigger_for(cron: str, timezone: str) -> CronTrigger:
    """A trigger with standard cron meaning (see WEEKDAY_NAMES), or InputError with a plain
    message. The schedules page, catch-up and the scheduler process all build theirs here."""
    minute, hour, day, month, weekday = _five_fields(cron)
    day_of_week = _apscheduler_weekdays(weekday)
    try:
        trigger = CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=ZoneInfo(timezone),
        )
    except ValueError as exc:
        raise InputError({"cron": f"not a valid cron expression: {exc}"}) from exc
    # APScheduler accepts dates no calendar has (30 February); such a job would be saved and
    # silently never run. Its search gives up at the year 9999, which takes a fraction of a
    # second, and only when the answer is "never".
    if trigger.get_next_fire_time(None, utcnow()) is None:
        raise InputError({"cron": _never_runs(day, month, weekday)})
    return trigger


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


@dataclass(frozen=True)
class Preview:
    """What the schedules page says about one schedule's next runs."""

    upcoming: list[datetime]
    problem: str = ""  # why an enabled schedule will not run, if it will not


def preview(schedule: Schedule, timezone: str, now: datetime | None = None) -> Preview:
    if not schedule.enabled:
        return Preview([])
    try:
        return Preview(next_runs(schedule.cron, timezone, now=now))
    except InputError as refused:  # stored before a check refused it; the scheduler skips it
        return Preview([], refused.problems["cron"])


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
        try:
            due = last_due_before(schedule.cron, timezone, now, lookback)
        except InputError:
            continue  # stored before a check refused it; the page says why, nothing runs it
        if due is None:
            continue
        last_run = session.exec(
            select(JobRun.started_at)
            .where(JobRun.job == schedule.job, col(JobRun.outcome).not_in(("skipped", "queued")))
            .order_by(col(JobRun.started_at).desc())
        ).first()
        if last_run is None or last_run < due:
            missed.append(schedule.job)
    return missed
