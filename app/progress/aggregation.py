"""How reported values add up. Explicit, because peers got this wrong for years.

- ``per_period`` indicators: every period's values add up.
- ``cumulative`` indicators: each member state's latest value stands; states add up.
- percentages: numerators and denominators add up, and the percentage is computed from the sums;
  percentages are never averaged.
- yes/no: the number of states whose latest answer is yes.
- a value disaggregated by sex whose parts do not add up to its total is flagged incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ValueRow:
    member_state_id: int
    period_order: int  # sorts periods in time, e.g. year * 10 + quarter
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    female: float | None = None
    male: float | None = None
    text_value: str | None = None


@dataclass(frozen=True)
class Aggregate:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    reporting_states: int = 0
    incomplete: bool = False
    latest_text: str | None = None


def sex_parts_incomplete(row: ValueRow) -> bool:
    """True when female and male are given (either) but do not add up to the total."""
    if row.female is None and row.male is None:
        return False
    if row.value is None or row.female is None or row.male is None:
        return True
    return abs((row.female + row.male) - row.value) > 1e-9


def _latest_per_state(rows: Iterable[ValueRow]) -> list[ValueRow]:
    latest: dict[int, ValueRow] = {}
    for row in rows:
        seen = latest.get(row.member_state_id)
        if seen is None or row.period_order > seen.period_order:
            latest[row.member_state_id] = row
    return list(latest.values())


def aggregate(
    unit: str, aggregation: str, rows: Iterable[ValueRow], *, by_sex: bool = False
) -> Aggregate:
    """Combine value rows of one indicator (already filtered to what should count)."""
    rows = list(rows)
    counted = _latest_per_state(rows) if aggregation == "cumulative" else rows
    states = len({r.member_state_id for r in rows})
    incomplete = by_sex and any(sex_parts_incomplete(r) for r in counted)
    if not counted:
        return Aggregate(value=None)
    if unit == "percentage":
        pairs = [
            (r.numerator, r.denominator)
            for r in counted
            if r.numerator is not None and r.denominator
        ]
        numerator = sum(n for n, _ in pairs)
        denominator = sum(d for _, d in pairs)
        value = 100.0 * numerator / denominator if denominator else None
        return Aggregate(value, numerator, denominator, states, incomplete)
    if unit == "yes_no":
        answers = _latest_per_state(rows)
        return Aggregate(float(sum(1 for r in answers if r.value == 1)), reporting_states=states)
    if unit == "text":
        latest = max(rows, key=lambda r: r.period_order)
        return Aggregate(None, reporting_states=states, latest_text=latest.text_value)
    numbers = [r.value for r in counted if r.value is not None]
    return Aggregate(
        sum(numbers) if numbers else None, reporting_states=states, incomplete=incomplete
    )


def percent_of_target(
    achieved: float | None, target: float | None, baseline: float | None, direction: str
) -> float | None:
    """Share of the way from baseline to target, direction-aware, clamped to 0..100+.

    For ``decrease`` the target sits below the baseline, so the same formula rewards a fall.
    ``maintain`` counts as fully achieved while the value is at or beyond the target.
    """
    if achieved is None or target is None:
        return None
    start = baseline or 0.0
    if direction == "maintain":
        return (
            100.0 if achieved >= target else max(0.0, 100.0 * achieved / target) if target else None
        )
    if target == start:
        return (
            100.0
            if (achieved >= target if direction == "increase" else achieved <= target)
            else 0.0
        )
    return max(0.0, 100.0 * (achieved - start) / (target - start))
