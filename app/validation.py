"""One error type for bad input, carrying a plain message per field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from werkzeug.routing import IntegerConverter


class InputError(ValueError):
    """Input that the product refuses; ``problems`` maps a field name to a plain message."""

    def __init__(self, problems: dict[str, str] | str) -> None:
        self.problems = {"": problems} if isinstance(problems, str) else dict(problems)
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.problems.items()))


class NotFound(LookupError):
    """A thing the caller named does not exist (or is not theirs to see)."""


# The largest id a database integer column holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def parse_id(raw: str | None) -> int | None:
    """A whole number from a form or a query string (an id, a version, a page), else None.

    ASCII digits only: '²' and '٣' pass ``str.isdigit()`` but ``int()`` refuses the first; and
    no larger than a database integer, which the drivers refuse with an error, not a miss.
    """
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


# One to three digits (not starting with 0), a point, exactly three digits: 1.250 or 12.500,
# which half the world reads as 1250 and 12500. The number fields refuse it as ambiguous, so
# a number is never written back that way (see app/fields.py).
AMBIGUOUS_NUMBER = re.compile(r"-?[1-9][0-9]{0,2}\.[0-9]{3}")


def number_as_typed(value: float | None) -> str:
    """A stored number as a person would type it back, the other way from reading a form: 12,
    not 12.0; every digit it has, in plain notation (3.14159265, 1234567.5, 0.0000001), so a
    form saved again unchanged stores exactly the same number and its field still reads as one."""
    if value is None:
        return ""
    if value == int(value):
        return str(int(value))
    # repr is the shortest text that reads back as the same float; Decimal writes it out
    # without an exponent.
    typed = format(Decimal(repr(value)), "f")
    # 12.375 would be refused as ambiguous when the form is saved again: 12.3750 is the same
    # number, and reads only one way.
    return typed + "0" if AMBIGUOUS_NUMBER.fullmatch(typed) else typed


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits only (Werkzeug's own also takes other
    scripts' digits), and no larger than a database integer, so such an address is a 404 rather
    than a driver error."""

    regex = r"[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
