"""Template globals and filters shared by every page."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from flask import Flask
from markupsafe import Markup

from app.plan.services import format_value, label
from app.plan.status import allowed_statuses
from app.reports import charts
from app.validation import number_as_typed


def _date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%d %b %Y").lstrip("0")


def _datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%d %b %Y, %H:%M UTC").lstrip("0")


def format_answer(unit: str, value: float | None, text: str | None = None) -> str:
    """One member state's value as it answered: Yes or No for a yes/no indicator (summed over
    states the same figure is a count of yeses, which format_value writes as a number)."""
    if unit == "yes_no" and value in (0, 1):
        return "Yes" if value == 1 else "No"
    return format_value(unit, value, text)


STATUS_ICONS = {"planned": "○", "in_progress": "◐", "completed": "●", "cancelled": "✕"}
RAG_ICONS = {"on_track": "▲", "at_risk": "■", "off_track": "▼"}
_BADGE = Markup(
    '<span class="badge {}"><span class="badge-icon" aria-hidden="true">{}</span>{}</span>'
)


def status_badge(status: str) -> Markup:
    """An initiative's lifecycle status: a symbol and the word, not colour alone."""
    return _status_badge(str(status))


def rag_badge(rag: str | None) -> Markup:
    """A RAG rating (or none yet): a symbol and the words, not colour alone."""
    return _rag_badge(None if rag is None else str(rag))


# A badge depends on its code alone, and a page can show hundreds (one per indicator of the
# summary): each is made once. The codes are the few the database allows; they are cached as
# plain strings, so text already marked safe can never share an entry with text that is not.
@lru_cache(maxsize=32)
def _status_badge(status: str) -> Markup:
    return _BADGE.format(f"status-{status}", STATUS_ICONS.get(status, ""), label(status))


@lru_cache(maxsize=32)
def _rag_badge(rag: str | None) -> Markup:
    return _BADGE.format(f"rag-{rag or 'none'}", RAG_ICONS.get(rag or "", "\u2013"), label(rag))


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(label=label, date=_date, datetime=_datetime)
    app.jinja_env.globals.update(
        progress_bar=charts.progress_bar,
        period_columns=charts.period_columns,
        format_value=format_value,
        format_answer=format_answer,
        format_number=number_as_typed,
        status_badge=status_badge,
        allowed_statuses=allowed_statuses,
        rag_badge=rag_badge,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
