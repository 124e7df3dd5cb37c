"""The plan's forms, declared once: an indicator's definition and an activity's fields.

Each field is a shared field type (``app.fields``) with the limits of the column it fills; the
services (``indicators``, ``activities``) keep the rules that need the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator

from app.fields import (
    DAY,
    PERCENT,
    TARGET,
    Count,
    Form,
    Link,
    Text,
    checkbox,
    choice,
    field_problem,
    version,
)
from app.plan.models import (
    AGGREGATIONS,
    DIRECTIONS,
    INDICATOR_UNITS,
    Activity,
    Indicator,
    ReportingPeriod,
)
from app.validation import InputError

_CHOOSE = "choose one of the listed options"
_TITLE = Text.of(Indicator.title, multiline=False, words="the title")
MAX_REASON_CHARS = 2000


def _indicator_title(raw: object) -> str:
    title = _TITLE(raw)
    if not title:
        raise InputError(f"enter a title of up to {_TITLE.max_length} characters")
    return title


def _baseline_date(raw: object) -> date | None:
    try:
        return DAY(raw)
    except InputError as refused:
        if "year-month-day" in str(refused):
            raise InputError("enter a date as YYYY-MM-DD, e.g. 2024-01-01") from None
        raise


class DefinitionForm(Form):
    """An indicator's definition as a manager edits it; ``period_targets`` by period id."""

    title: Annotated[str, BeforeValidator(_indicator_title)]
    unit: Annotated[str, BeforeValidator(choice(INDICATOR_UNITS, _CHOOSE))]
    direction: Annotated[str, BeforeValidator(choice(DIRECTIONS, _CHOOSE))]
    aggregation: Annotated[str, BeforeValidator(choice(AGGREGATIONS, _CHOOSE))]
    target_value: Annotated[float | None, BeforeValidator(TARGET)]
    baseline_value: Annotated[float | None, BeforeValidator(TARGET)]
    baseline_date: Annotated[date | None, BeforeValidator(_baseline_date)]
    by_member_state: Annotated[bool, BeforeValidator(checkbox)]
    by_sex: Annotated[bool, BeforeValidator(checkbox)]
    means_of_verification: Annotated[
        str, BeforeValidator(Text.of(Indicator.means_of_verification, words="this"))
    ]
    is_proposed: Annotated[bool, BeforeValidator(checkbox)]
    reason: Annotated[str, BeforeValidator(Text(MAX_REASON_CHARS, words="the reason"))]
    version: Annotated[int, BeforeValidator(version)]
    period_targets: dict[int, float | None] = {}

    @property
    def expected_version(self) -> int:
        return self.version


def read_definition(form: Mapping[str, str], periods: list[ReportingPeriod]) -> DefinitionForm:
    """The typed definition form, or one ``InputError`` naming every field that is wrong."""
    problems: dict[str, str] = {}
    try:
        fixed = DefinitionForm.read(form)
    except InputError as refused:
        fixed, problems = None, dict(refused.problems)
    targets = {
        p.id: field_problem(TARGET, form.get(f"target-{p.id}", ""), f"target-{p.id}", problems)
        for p in periods
    }
    if form.get("aggregation") == "average" and form.get("unit") != "number":
        # A percentage combines from its parts; a yes/no answer or a text has no mean.
        problems["aggregation"] = "only a number is averaged over the member states"
    if form.get("unit") == "percentage":
        for name in ("target_value", "baseline_value", *(f"target-{p.id}" for p in periods)):
            if name not in problems:
                field_problem(_percent, form.get(name, ""), name, problems)
    if problems or fixed is None:
        raise InputError(problems)
    return fixed.model_copy(update={"period_targets": targets})


def _percent(raw: object) -> float | None:
    try:
        return PERCENT(raw)
    except InputError:
        raise InputError("a percentage is between 0 and 100") from None


# The activity form's fields: what each holds and how long it may be.
ACTIVITY_TITLE = Text.of(Activity.title, multiline=False, words="the title")
ACTIVITY_PLACE = Text.of(Activity.place, multiline=False, words="the place")
MAX_SUMMARY_CHARS = 5000
ACTIVITY_SUMMARY = Text.of(Activity.summary, limit=MAX_SUMMARY_CHARS, words="the summary")
MAX_LINK_CHARS = 500
ACTIVITY_LINK = Link(MAX_LINK_CHARS)
MAX_COUNT = 1_000_000
HEAD_COUNT = Count(MAX_COUNT)
