"""Template globals and filters shared by every page."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from app.plan.services import format_value, label
from app.reports import charts


def _date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%d %b %Y").lstrip("0")


def _datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%d %b %Y, %H:%M UTC").lstrip("0")


def _format_number(value: float | None) -> str:
    """A stored number as a person would type it back: 12, not 12.0."""
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else f"{value:g}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(label=label, date=_date, datetime=_datetime)
    app.jinja_env.globals.update(
        progress_bar=charts.progress_bar,
        period_columns=charts.period_columns,
        format_value=format_value,
        format_number=_format_number,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
