"""Writes the audit trail for every create, update and delete of the audited models.

A flush hook sees every change made through the ORM, so no service can forget to record one.
The actor comes from ``session.info["actor"]``, set at the boundary (the request, the CLI
command or the job) as ``(user_id, label)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent
from app.timeutil import utcnow

# Fields never copied into the trail; a change to them is recorded as "(changed)".
REDACTED = {"password_hash", "token_hash"}
_audited: dict[type, str] = {}
_explicit_kinds: set[str] = set()


def register(model: type, entity_type: str) -> None:
    _audited[model] = entity_type


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _columns(obj: Any) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs]


def _snapshot(obj: Any) -> dict[str, Any]:
    return {
        name: (
            "(set)"
            if name in REDACTED and getattr(obj, name)
            else _plain(getattr(obj, name))
            if name not in REDACTED
            else None
        )
        for name in _columns(obj)
    }


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in _columns(obj):
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if name in REDACTED:
            before[name], after[name] = "(previous)", "(changed)"
        else:
            before[name], after[name] = _plain(old), _plain(new)
    return before, after


def _identity(obj: Any) -> str:
    key = inspect(obj).identity or inspect(obj).mapper.primary_key_from_instance(obj)
    return "/".join(str(part) for part in key)


def _label(obj: Any) -> str:
    for name in ("code", "email", "title", "name"):
        value = getattr(obj, name, None)
        if value:
            return str(value)[:300]
    return ""


@event.listens_for(OrmSession, "after_flush")
def _record_changes(session: OrmSession, _context: Any) -> None:
    if session.info.get("audit") is False:
        return
    now = utcnow()
    rows = []
    changes = (
        [("create", o) for o in session.new]
        + [("update", o) for o in session.dirty]
        + [("delete", o) for o in session.deleted]
    )
    for action, obj in changes:
        entity_type = _audited.get(type(obj))
        if entity_type is None:
            continue
        if action == "create":
            before, after = None, _snapshot(obj)
        elif action == "delete":
            before, after = _snapshot(obj), None
        else:
            before, after = _changes(obj)
            if not after:
                continue
        rows.append(
            _event(session, now, action, entity_type, _identity(obj), before, after, _label(obj))
        )
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def _event(
    session: OrmSession,
    now: datetime,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    label: str = "",
) -> dict[str, Any]:
    """One trail row, with the actor and reason the boundary set on the session."""
    actor_id, actor_label = session.info.get("actor", (None, "system"))
    return {
        "occurred_at": now,
        "actor_id": actor_id,
        "actor_label": actor_label[:300],
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id[:60],
        "entity_label": label,
        "before": before,
        "after": after,
        "reason": session.info.get("reason", "")[:500],
    }


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row's values as the trail stores them (dates as ISO text)."""
    return {name: _plain(value) for name, value in row.items()}


def record_bulk(
    session: Session,
    entity_type: str,
    events: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    """The trail for rows written with bulk statements, which the flush hook cannot see.

    Each event is ``(action, entity id, before, after)``, with the same actor and reason as
    the hook would record.
    """
    if session.info.get("audit") is False or not events:
        return
    now = utcnow()
    session.connection().execute(
        insert(AuditEvent),
        [
            _event(session, now, action, entity_type, entity_id, before, after)
            for action, entity_id, before, after in events
        ],
    )


def record_event(
    session: Session,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    label: str = "",
) -> None:
    """One trail row for a change made outside the ORM that is best told as one event.

    A workbook import, for one: it records one event for the whole load (its upload, counts
    and reason), while each value it changed keeps its revision (who, when, old and new).
    """
    if session.info.get("audit") is False:
        return
    session.connection().execute(
        insert(AuditEvent),
        [_event(session, utcnow(), action, entity_type, entity_id, before, after, label[:300])],
    )


def register_kind(entity_type: str) -> None:
    """A kind of event written with ``record_event`` (no model): offered in the trail's filter."""
    _explicit_kinds.add(entity_type)


def set_actor(session: Session, user_id: int | None, label: str) -> None:
    session.info["actor"] = (user_id, label)


@contextmanager
def reason_given(session: Session, reason: str) -> Iterator[None]:
    """Every event recorded inside the block carries ``reason`` (a correction's, say)."""
    previous = session.info.get("reason")
    session.info["reason"] = reason
    try:
        yield
    finally:
        if previous is None:
            session.info.pop("reason", None)
        else:
            session.info["reason"] = previous


@dataclass
class AuditFilter:
    actor_id: int | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    per_page: int = 50


def search(session: Session, f: AuditFilter) -> tuple[list[AuditEvent], int]:
    query = select(AuditEvent)
    if f.actor_id is not None:
        query = query.where(AuditEvent.actor_id == f.actor_id)
    if f.entity_type:
        query = query.where(AuditEvent.entity_type == f.entity_type)
    if f.entity_id:
        query = query.where(AuditEvent.entity_id == f.entity_id)
    if f.date_from:
        query = query.where(
            AuditEvent.occurred_at >= datetime.combine(f.date_from, time.min, tzinfo=UTC)
        )
    if f.date_to:
        query = query.where(
            AuditEvent.occurred_at <= datetime.combine(f.date_to, time.max, tzinfo=UTC)
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    # A page past the end (an old link, a typed address) shows the last one.
    f.page = min(f.page, max(1, -(-total // f.per_page)))
    events = session.exec(
        query.order_by(col(AuditEvent.occurred_at).desc(), col(AuditEvent.id).desc())
        .offset((f.page - 1) * f.per_page)
        .limit(f.per_page)
    ).all()
    return list(events), total


def entity_types() -> list[str]:
    return sorted(set(_audited.values()) | _explicit_kinds)
