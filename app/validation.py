"""One error type for bad input, carrying a plain message per field."""

from __future__ import annotations


class InputError(ValueError):
    """Input that the product refuses; ``problems`` maps a field name to a plain message."""

    def __init__(self, problems: dict[str, str] | str) -> None:
        self.problems = {"": problems} if isinstance(problems, str) else dict(problems)
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.problems.items()))


class NotFound(LookupError):
    """A thing the caller named does not exist (or is not theirs to see)."""
