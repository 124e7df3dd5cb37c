"""The report form, declared once: what each field of a reported value holds.

The same declarations check a workbook's cells (``app.imports.checks``) and every value a
service records (``app.progress.services``), so a value has one set of rules however it comes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from app.fields import PEOPLE, REPORTED, Link, Number, Text, field_problem
from app.progress.models import IndicatorValue

MAX_NARRATIVE_CHARS = 4000
NARRATIVE = Text.of(IndicatorValue.narrative, limit=MAX_NARRATIVE_CHARS, words="the narrative")
TEXT_ANSWER = Text.of(IndicatorValue.text_value, limit=MAX_NARRATIVE_CHARS, words="the answer")
EVIDENCE_LINK = Link.of(IndicatorValue.evidence_url)
YES_NO = {"yes": 1.0, "no": 0.0}
NUMBER_FIELDS = ("value", "numerator", "denominator", "female", "male")


class Kind(Protocol):
    """What the rules of a value depend on: its indicator's unit and whether it is by sex."""

    unit: str
    by_sex: bool


def number_rule(indicator: Kind, name: str) -> Number:
    """The rule for one number of a reported value. People are counted whole: women and men,
    and the total of an indicator counted by sex; nothing reported is negative."""
    if name in ("female", "male") or (
        name == "value" and indicator.unit == "number" and indicator.by_sex
    ):
        return PEOPLE
    return REPORTED


def read_entry(indicator: Any, typed: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """One indicator's row of the report form (field names without the ``<id>-`` prefix):
    the typed values by field, and the problems by field."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {
        "narrative": field_problem(NARRATIVE, typed.get("narrative", ""), "narrative", problems)
        or "",
        "evidence_url": field_problem(
            EVIDENCE_LINK, typed.get("evidence_url", ""), "evidence_url", problems
        )
        or "",
    }
    numbers: tuple[str, ...] = ()
    if indicator.unit == "percentage":
        numbers = ("numerator", "denominator")
    elif indicator.unit == "yes_no":
        answer = typed.get("value", "")
        values["value"] = YES_NO.get(answer)
        if answer and answer not in YES_NO:
            problems["value"] = "answer yes or no"
    elif indicator.unit == "text":
        text = field_problem(TEXT_ANSWER, typed.get("text_value", ""), "text_value", problems)
        values["text_value"] = text or None
    else:
        numbers = ("value",)
    if indicator.by_sex and indicator.unit == "number":
        numbers = (*numbers, "female", "male")
    for name in numbers:
        rule = number_rule(indicator, name)
        values[name] = field_problem(rule, typed.get(name, ""), name, problems)
    return values, problems
