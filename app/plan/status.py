"""Changing an initiative's lifecycle status and RAG rating, with history and optimistic locking."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.fields import Text, field_problem
from app.plan.models import LIFECYCLE_STATUSES, RAG_RATINGS, Initiative, InitiativeStatusChange
from app.timeutil import utcnow
from app.validation import InputError, NotFound, parse_id

# The note's rule is the shared text field's, with the column's length.
_NOTE = Text.of(Initiative.rag_note, words="the note")
MAX_NOTE_CHARS = _NOTE.max_length


class StatusConflict(Exception):
    """The initiative changed since the form was loaded; ``current`` is the newer version."""

    def __init__(self, current: Initiative) -> None:
        super().__init__("This initiative's status was changed by someone else a moment ago.")
        self.current = current


@dataclass
class StatusChange:
    status: str
    rag: str | None
    note: str
    expected_version: int


def parse_status_form(form: dict[str, str]) -> StatusChange:
    problems: dict[str, str] = {}
    status = form.get("status", "")
    rag = form.get("rag") or None
    note = field_problem(_NOTE, form.get("rag_note", ""), "rag_note", problems) or ""
    version = form.get("version", "")
    if status not in LIFECYCLE_STATUSES:
        problems["status"] = "choose planned, in progress, completed or cancelled"
    if rag is not None and rag not in RAG_RATINGS:
        problems["rag"] = "choose on track, at risk or off track"
    expected = parse_id(version)
    if expected is None:
        problems["version"] = "the form is incomplete; reload the page"
    if problems:
        raise InputError(problems)
    return StatusChange(status, rag, note, expected)


# planned -> in progress -> completed, forward only (a step may be skipped: a short initiative
# can be planned and completed between two updates); cancelled from any of these, and final.
_ORDER = {"planned": 0, "in_progress": 1, "completed": 2}


def transition_refusal(current: str, wanted: str) -> str | None:
    """Why an initiative cannot go from ``current`` to ``wanted`` status, or None if it can."""
    if wanted == current or (wanted == "cancelled" and current != "cancelled"):
        return None
    words = {s: s.replace("_", " ") for s in LIFECYCLE_STATUSES}
    if current == "cancelled":
        return "a cancelled initiative stays cancelled"
    if _ORDER[wanted] < _ORDER[current]:
        return f"an initiative {words[current]} cannot go back to {words[wanted]}"
    return None


def allowed_statuses(current: str) -> list[str]:
    """The statuses an initiative can be given from ``current`` (itself included), in order."""
    return [s for s in LIFECYCLE_STATUSES if transition_refusal(current, s) is None]


def change_status(
    session: Session, initiative_id: int, change: StatusChange, *, changed_by_id: int | None
) -> Initiative:
    """Apply a status change if nobody saved a newer one first; keep the old one in history.

    The row is read with SELECT ... FOR UPDATE (on SQLite the write transaction already holds
    the lock), so two managers saving at the same instant on any number of workers produce
    exactly one winner, and the loser sees the winner's version.
    """
    initiative = session.get(
        Initiative, initiative_id, with_for_update=True, populate_existing=True
    )
    if initiative is None:
        raise NotFound("initiative")
    if change.expected_version != initiative.version:
        raise StatusConflict(initiative)
    refusal = transition_refusal(initiative.status, change.status)
    if refusal:
        raise InputError({"status": refusal})
    previous_status, previous_rag = initiative.status, initiative.rag
    if (change.status, change.rag, change.note) == (
        previous_status,
        previous_rag,
        initiative.rag_note,
    ):
        return initiative
    now = utcnow()
    initiative.status, initiative.rag, initiative.rag_note = change.status, change.rag, change.note
    initiative.status_updated_at = now
    initiative.version += 1
    session.add(initiative)
    session.add(
        InitiativeStatusChange(
            initiative_id=initiative_id,
            status=change.status,
            rag=change.rag,
            note=change.note,
            previous_status=previous_status,
            previous_rag=previous_rag,
            changed_at=now,
            changed_by_id=changed_by_id,
        )
    )
    session.flush()
    return initiative
