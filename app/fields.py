"""The shared field types: one way to read a number, a count, a date, a text, a web link, an
e-mail address and a version, whether it comes from a web form, a workbook cell or a CLI argument.

Each type is a small callable that takes what was typed (or what a workbook cell holds) and
returns the stored value, or raises ``InputError`` with a plain message that names no field: the
caller knows the field (a form puts the message under it, a workbook check beside its cell). They
are plain functions on purpose: the workbook checks call them for every cell of 20,000 rows.

Forms are declared once per feature (``<feature>/forms.py``) as pydantic models whose fields
are these types (``Form`` below): pydantic ships with SQLModel, so no second form library and no
second CSRF scheme (the app has its own, ``app/security.py``) come in.

The rules, stated once:

- A number is written with the ASCII digits 0-9, an optional leading minus and a decimal point.
  A comma separates thousands and must group exactly three digits (1,250 is 1250; 1,25 is
  refused). A point is always the decimal point, so 1.250, which half the world reads as 1250,
  is refused as ambiguous: the message says to write 1250 or 1.25. A number is finite and has at
  most 15 digits before the point (beyond that a float no longer holds every whole number).
- A date is written yyyy-mm-dd and falls between ``EARLIEST`` and ``LATEST``.
- A text holds no control characters except tab and newline; CR LF and CR become LF, and the
  vertical tab that Word's Shift+Enter leaves in pasted text becomes a newline too (the same in
  forms and workbooks). Its length comes from the column it fills.
- A web link is http:// or https:// with a host, without spaces, within its column's length.
- An e-mail address is one address (email-validator), stored in lower case.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Self
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, ValidationError

from app.validation import AMBIGUOUS_NUMBER, InputError, number_as_typed, parse_id

# Beyond this a float no longer holds every whole number exactly, so a figure typed in would be
# stored (and shown back) as a different one; no figure of the plan comes near it.
MAX_MAGNITUDE = 1e15
MAX_DIGITS = 15
# The window every date must fall in: wide around any work plan, narrow enough that a typing
# slip (0001-01-01, 9999-12-31) is caught, and inside what every database and library handles.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)

_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_GROUPED_NUMBER = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The control characters (Unicode category Cc) other than tab and newline, lone surrogates and
# the noncharacters U+FFFE and U+FFFF: no database or workbook's XML can store them all.
_REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = str.maketrans({"\x0b": "\n"})


# --- Numbers -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    """A figure: ``minimum`` (None: no lower bound), ``maximum``, and ``whole`` for counts."""

    minimum: float | None = 0
    maximum: float = MAX_MAGNITUDE
    whole: bool = False

    def __call__(self, raw: object) -> float | None:
        """What was typed or what a cell holds, as a number; None when blank."""
        if type(raw) is float or type(raw) is int:
            return self.check(raw)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise InputError("enter a number such as 12 or 3.5")
        if not isinstance(raw, str):
            return self.check(raw)
        text = raw.strip()
        if not text:
            return None
        return self.check(_read_number(text))

    def check(self, value: float) -> float:
        """A number already read (a workbook's numeric cell, a value from a service)."""
        # An int may be beyond any float, so its size is checked before it is made one.
        if type(value) is not int and not math.isfinite(value):
            raise InputError("must be a finite number")
        if abs(value) >= MAX_MAGNITUDE:
            raise InputError(f"too large: at most {MAX_DIGITS} digits before the decimal point")
        if self.whole and value != int(value):
            whole, typed = number_as_typed(math.floor(value)), number_as_typed(value)
            raise InputError(f"must be a whole number ({whole}, not {typed})")
        if self.minimum == 0 and value < 0:
            raise InputError("cannot be negative")
        if self.minimum is not None and value < self.minimum:
            raise InputError(f"must be {number_as_typed(self.minimum)} or more")
        if value > self.maximum:
            raise InputError(f"must be at most {number_as_typed(self.maximum)}")
        return float(value) + 0.0  # -0 is stored as 0


def _read_number(text: str) -> float:
    """The one reading of a typed number (see the module's rules)."""
    if _PLAIN_NUMBER.fullmatch(text):
        if AMBIGUOUS_NUMBER.fullmatch(text):
            raise InputError(_ambiguous(text))
        return _finite(text)
    if _GROUPED_NUMBER.fullmatch(text):
        return _finite(text.replace(",", ""))
    # Other scripts' digits, full-width digits, superscripts, fractions: all "numeric".
    stray = next((c for c in text if c.isnumeric() and not c.isascii()), None)
    if stray is not None:
        raise InputError(f"type the digits 0-9 only ('{stray}' is not one of them)")
    if "," in text and re.fullmatch(r"-?[0-9,]+(?:\.[0-9]+)?", text):
        raise InputError(
            "a comma separates thousands and groups three digits (1,250); "
            "for a decimal use a point (1.5)"
        )
    if re.fullmatch(r"-?[0-9]{1,3}(?:\.[0-9]{3}){2,}", text):
        raise InputError(
            f"a point is the decimal point, not a thousands separator: write "
            f"{text.replace('.', '')} or {text.replace('.', ',')}"
        )
    raise InputError("enter a number such as 12 or 3.5")


def _ambiguous(text: str) -> str:
    thousands = text.replace(".", "")
    decimal = text.rstrip("0").rstrip(".")
    if decimal == text:
        decimal = text + "0"
    return (
        f"'{text}' could mean {thousands} or {decimal}: write {thousands} for the whole "
        f"number, or {decimal} for the decimal (a point is always the decimal point)"
    )


def _finite(text: str) -> float:
    whole_digits = len(text.lstrip("-").split(".")[0].lstrip("0"))
    if whole_digits > MAX_DIGITS:
        raise InputError(f"too large: at most {MAX_DIGITS} digits before the decimal point")
    return float(text)


@dataclass(frozen=True, slots=True)
class Count:
    """A head count: a whole number from 0 to ``maximum``, returned as an int (None if blank)."""

    maximum: int = 1_000_000

    def __call__(self, raw: object) -> int | None:
        if isinstance(raw, str) and "." in raw:
            # People are counted in whole numbers, written without a decimal point.
            raise InputError("must be a whole number 0 or more, written without a point")
        number = Number(minimum=0, maximum=self.maximum, whole=True)(raw)
        return None if number is None else int(number)


# What a state reports: never negative; counts of people (by sex) whole.
REPORTED = Number(minimum=0)
PEOPLE = Number(minimum=0, whole=True)
# Targets and baselines: a level or a count, never negative; a percentage within 0-100.
TARGET = Number(minimum=0)
PERCENT = Number(minimum=0, maximum=100)


# --- Dates ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Day:
    """A calendar date written yyyy-mm-dd (or a workbook's date cell), within the window."""

    earliest: date = EARLIEST
    latest: date = LATEST

    def __call__(self, raw: object) -> date | None:
        if raw is None:
            return None
        if isinstance(raw, datetime):
            return self.check(raw.date())
        if isinstance(raw, date):
            return self.check(raw)
        text = str(raw).strip()
        if not text:
            return None
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError(text)
            day = date.fromisoformat(text)
        except ValueError:
            raise InputError("enter a real date as year-month-day, e.g. 2025-06-01") from None
        return self.check(day)

    def check(self, day: date) -> date:
        if not self.earliest <= day <= self.latest:
            raise InputError(
                f"enter a date between {_day(self.earliest)} and {_day(self.latest)}"
                f" ({_day(day)} is outside)"
            )
        return day


def _day(value: date) -> str:
    return f"{value.day} {value:%b} {value.year}"


DAY = Day()


# --- Text ----------------------------------------------------------------------------------------


def column_length(column: Any) -> int | None:
    """The declared length of a model's column (``Indicator.title``), None for unbounded text."""
    return getattr(column.property.columns[0].type, "length", None)


@dataclass(frozen=True, slots=True)
class Text:
    """Free text: no control characters but tab and newline, at most ``max_length`` characters.

    ``multiline`` False (a title, a name) refuses line breaks and tabs as well.
    """

    max_length: int
    multiline: bool = True
    words: str = "the text"  # what the messages call it: "the title"

    @classmethod
    def of(
        cls,
        column: Any,
        *,
        limit: int | None = None,
        multiline: bool = True,
        words: str = "the text",
    ) -> Text:
        """A text for a model's column, with the column's length (``limit`` for unbounded text,
        or a tighter one)."""
        length = column_length(column)
        bound = min(x for x in (length, limit) if x is not None)
        return cls(bound, multiline, words)

    def __call__(self, raw: object) -> str:
        """The text as stored: line breaks made LF, outer whitespace trimmed; "" when blank."""
        if raw is None:
            return ""
        text = normalise_breaks(raw if isinstance(raw, str) else _cell_text(raw)).strip()
        if found := _REFUSED.search(text):
            raise InputError(
                f"contains control characters (U+{ord(found.group()):04X}), which cannot be "
                "stored; retype the text without them"
            )
        if not self.multiline and ("\n" in text or "\t" in text):
            raise InputError(f"keep {self.words} on one line, without line breaks or tabs")
        if len(text) > self.max_length:
            raise InputError(
                f"keep {self.words} to {self.max_length:,} characters or fewer "
                f"(this one has {len(text):,})"
            )
        return text


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def normalise_breaks(text: str) -> str:
    """CR LF and CR as LF; Word's vertical tab (Shift+Enter) as a newline."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_LINE_BREAKS) if "\x0b" in text else text


def clean_text(text: str) -> str:
    """Stored text made safe to write anywhere (a workbook, a CSV, a snapshot): line breaks
    normalised and every other control character dropped. For text stored before the rule."""
    return _REFUSED.sub("", normalise_breaks(text))


def clean_data(value: Any) -> Any:
    """Every text inside JSON-like data (a snapshot's payload) passed through ``clean_text``."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_data(item) for item in value]
    if isinstance(value, dict):
        return {clean_data(key): clean_data(item) for key, item in value.items()}
    return value


def has_refused_characters(text: str) -> bool:
    return _REFUSED.search(text) is not None


# --- Web links -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    """A web address: http:// or https://, a host, no spaces, at most ``max_length`` characters."""

    max_length: int

    @classmethod
    def of(cls, column: Any, *, limit: int | None = None) -> Link:
        return cls(Text.of(column, limit=limit).max_length)

    def __call__(self, raw: object) -> str:
        """The link as stored; "" when blank."""
        text = _ANY_LENGTH(raw)
        if not text:
            return ""
        if len(text) > self.max_length:
            raise InputError(
                f"keep the link to {self.max_length:,} characters or fewer "
                f"(this one has {len(text):,})"
            )
        if not _is_web_address(text):
            raise InputError(
                "a web link must start with https:// or http:// and name a site, "
                "such as https://example.org/report"
            )
        return text


# A link's text is checked as any text first; its own length check says "link".
_ANY_LENGTH = Text(2**31, multiline=False)


def _is_web_address(text: str) -> bool:
    if any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- an impossible port raises here, not when the link is used
    except ValueError:
        return False
    return parts.scheme.lower() in ("https", "http") and bool(parts.hostname)


# --- E-mail addresses and versions ---------------------------------------------------------------

MAX_EMAIL_CHARS = 254


def email_address(raw: object) -> str:
    """One e-mail address, checked by email-validator (no lists, no quoted parts), lower case."""
    text = str(raw or "").strip()
    if not text or len(text) > MAX_EMAIL_CHARS or has_refused_characters(text):
        raise InputError("enter an e-mail address such as name@example.org")
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise InputError(
            "enter an e-mail address such as name@example.org, one address only "
            f"({reason[:1].lower()}{reason[1:]})"
        ) from None
    return checked.normalized.lower()


def version(raw: object) -> int:
    """The version a form was loaded at (optimistic locking): ``parse_id``'s whole number."""
    number = parse_id(raw if isinstance(raw, str) else None)
    if number is None:
        raise InputError("the form is incomplete; reload the page")
    return number


def checkbox(raw: object) -> bool:
    return raw == "on"


def choice(options: tuple[str, ...] | list[str], message: str) -> Callable[[object], str]:
    """One of ``options``, else ``message``."""

    def parse(raw: object) -> str:
        if raw not in options:
            raise InputError(message)
        return raw  # type: ignore[return-value]

    return parse


# --- Forms ---------------------------------------------------------------------------------------


class Form(BaseModel):
    """A form declared once: each field an ``Annotated[type, BeforeValidator(field type)]``.

    ``read`` takes what was posted (every field as text) and returns the typed form, or raises
    one ``InputError`` naming every field that is wrong, with the field type's message.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Self:
        try:
            typed = {
                name: data.get(name, "")
                for name, declared in cls.model_fields.items()
                if declared.is_required()  # the rest are filled in by the feature's reader
            }
            return cls.model_validate(typed)
        except ValidationError as error:
            raise InputError(problems_of(error)) from None


def problems_of(error: ValidationError) -> dict[str, str]:
    """pydantic's errors as a message per field (the field type's own message where it has one)."""
    problems: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        cause = (item.get("ctx") or {}).get("error")
        message = cause.problems.get("", str(cause)) if isinstance(cause, InputError) else None
        problems.setdefault(name, message or item["msg"])
    return problems


def field_problem(parse: Callable[[object], Any], raw: object, name: str, problems: dict) -> Any:
    """``parse(raw)``, or None with its message put under ``name`` in ``problems``."""
    try:
        return parse(raw)
    except InputError as refused:
        problems.setdefault(name, refused.problems.get("", str(refused)))
        return None
