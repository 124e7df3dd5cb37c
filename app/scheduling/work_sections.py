"""The admin's lists on "my work": failed job runs and undelivered mail.

progress builds the page and never imports scheduling: these lists reach it through its
registry (``app.progress.work.register_section``), registered when this module is imported
(the factory imports it, app/__init__.py).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.accounts.services import Viewer
from app.progress import work
from app.scheduling.jobs import recent_failures
from app.scheduling.models import JobRun, OutboxMessage

FAILED_MESSAGES_SHOWN = 20


def failed_runs(session: Session, viewer: Viewer) -> list[JobRun]:
    """The latest failed or abandoned runs, for an admin; nothing for anyone else."""
    return recent_failures(session) if viewer.has("admin") else []


def failed_messages(session: Session, viewer: Viewer) -> list[OutboxMessage]:
    """The latest messages the outbox gave up on, for an admin; nothing for anyone else."""
    if not viewer.has("admin"):
        return []
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.status == "failed")
            .order_by(col(OutboxMessage.created_at).desc())
            .limit(FAILED_MESSAGES_SHOWN)
        ).all()
    )


work.register_section("failed_runs", failed_runs)
work.register_section("failed_messages", failed_messages)
