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


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(label=label, date=_date, datetime=_datetime)
    app.jinja_env.globals.update(
        progress_bar=charts.progress_bar,
        period_columns=charts.period_columns,
        format_value=format_value,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
