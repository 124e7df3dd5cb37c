"""The audit trail: who changed what, when, with the values before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow


class AuditEvent(SQLModel, table=True):
    """Append-only. The app offers no way to edit or delete an event."""

    __tablename__ = "audit_event"
    __table_args__ = (CheckConstraint("action IN ('create','update','delete')", name="action"),)

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    actor_label: str = Field(max_length=300, default="system")
    action: str = Field(max_length=10)
    entity_type: str = Field(max_length=60, index=True)
    entity_id: str = Field(max_length=60)
    entity_label: str = Field(max_length=300, default="")
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reason: str = Field(max_length=500, default="")
