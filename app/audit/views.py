"""Browse the audit trail (read-only: there is no route that edits or deletes an event)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request

from app.accounts.policy import roles_required
from app.accounts.services import list_users
from app.audit import services
from app.db import request_session
from app.validation import parse_id

bp = Blueprint("audit", __name__)


def _date_arg(name: str, problems: dict[str, str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems[name] = f"{raw!r} is not a date (use YYYY-MM-DD); the filter was ignored"
        return None


@bp.get("/audit")
@roles_required("admin", "rso_manager")
def trail() -> str:
    db = request_session()
    problems: dict[str, str] = {}
    actor = request.args.get("actor", "")
    page = request.args.get("page", "1")
    f = services.AuditFilter(
        actor_id=parse_id(actor),
        entity_type=request.args.get("entity_type") or None,
        entity_id=request.args.get("entity_id") or None,
        date_from=_date_arg("date_from", problems),
        date_to=_date_arg("date_to", problems),
        page=max(1, parse_id(page) or 1),
    )
    if f.entity_type and f.entity_type not in services.entity_types():
        problems["entity_type"] = f"unknown kind {f.entity_type!r}; showing every kind"
        f.entity_type = None
    if f.date_from and f.date_to and f.date_from > f.date_to:
        problems["date_to"] = "the end date is before the start date; the dates were swapped"
        f.date_from, f.date_to = f.date_to, f.date_from
    events, total = services.search(db, f)
    template = "audit/_results.html" if request.headers.get("HX-Request") else "audit/trail.html"
    return render_template(
        template,
        events=events,
        total=total,
        f=f,
        problems=problems,
        users=[u for u, _roles, _state in list_users(db)],
        entity_types=services.entity_types(),
        args=request.args,
    )
