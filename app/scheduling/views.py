"""Admin pages: schedules with their next run times, run history, and the mail outbox."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlmodel import col, select
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from app.accounts.policy import roles_required
from app.db import request_session
from app.scheduling import jobs, services
from app.scheduling.models import ACTIVE_OUTCOMES, OutboxMessage
from app.scheduling.registry import job_definition, job_label, registered_jobs
from app.validation import InputError, parse_id

bp = Blueprint("scheduling", __name__)


def _schedules_page(problems: dict | None = None, typed: dict | None = None, status: int = 200):
    session = request_session()
    timezone = current_app.config["OFFICE_TIMEZONE"]
    rows = [(s, services.preview(s, timezone)) for s in services.schedules(session)]
    return render_template(
        "scheduling/schedules.html",
        rows=rows,
        timezone=timezone,
        problems=problems or {},
        typed=typed or {},
        smtp=bool(current_app.config.get("SMTP_HOST")),
        labels=_labels(),
    ), status


@bp.get("/admin/schedules")
@roles_required("admin")
def schedules() -> tuple[str, int]:
    return _schedules_page()


@bp.post("/admin/schedules/<int:schedule_id>")
@roles_required("admin")
def edit_schedule(schedule_id: int) -> Response | tuple[str, int]:
    version = request.form.get("version", "")
    try:
        schedule = services.update_schedule(
            request_session(),
            schedule_id,
            cron=request.form.get("cron", ""),
            enabled=request.form.get("enabled") == "on",
            timezone=current_app.config["OFFICE_TIMEZONE"],
            expected_version=_or_minus_one(parse_id(version)),
        )
    except InputError as refused:
        return _schedules_page(
            {schedule_id: refused.problems["cron"]},
            {schedule_id: request.form.get("cron", "")},
            422,
        )
    flash(f"Schedule for {schedule.job} saved.", "success")
    return redirect(url_for(".schedules"), 303)


@bp.post("/admin/jobs/<job>/run")
@roles_required("admin")
def run_now(job: str) -> Response:
    """Queue a run for the scheduler process and return at once: the web never runs a job."""
    if job_definition(job) is None:
        raise NotFound()
    queued = jobs.queue_run(request_session(), job)
    label = job_label(job)
    if queued.already:
        flash(f"{label}: a run is already queued; it starts within seconds.", "warning")
    else:
        flash(f"{label}: queued; the scheduler starts it within seconds.", "success")
    return redirect(url_for(".runs"), 303)


@bp.get("/admin/runs")
@roles_required("admin")
def runs() -> str:
    """The run history; while a run is queued or running, the table refreshes itself (htmx
    polls the same partial; without JavaScript the page refreshes)."""
    latest = jobs.latest_runs(request_session())
    template = (
        "scheduling/_runs.html" if request.headers.get("HX-Request") else "scheduling/runs.html"
    )
    return render_template(
        template,
        runs=latest,
        active=any(run.outcome in ACTIVE_OUTCOMES for run in latest),
        labels=_labels(),
        poll_seconds=current_app.config["JOB_POLL_SECONDS"],
    )


@bp.get("/admin/outbox")
@roles_required("admin")
def outbox() -> str:
    messages = (
        request_session()
        .exec(
            select(OutboxMessage)
            .order_by(col(OutboxMessage.created_at).desc(), col(OutboxMessage.id).desc())
            .limit(200)
        )
        .all()
    )
    return render_template(
        "scheduling/outbox.html", messages=messages, smtp=bool(current_app.config.get("SMTP_HOST"))
    )


@bp.get("/admin/outbox/<int:message_id>")
@roles_required("admin")
def message(message_id: int) -> str:
    found = request_session().get(OutboxMessage, message_id)
    if found is None:
        raise NotFound()
    return render_template("scheduling/message.html", message=found)


def _labels() -> dict[str, str]:
    return {definition.kind: definition.label for definition in registered_jobs()}


def _or_minus_one(version: int | None) -> int:
    """A version no row has: a form without a readable one is a stale form."""
    return -1 if version is None else version
