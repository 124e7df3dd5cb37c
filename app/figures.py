"""How reported values add up. Explicit, because peers got this wrong for years.

- ``per_period`` indicators: every period's values add up.
- ``cumulative`` indicators: each member state's latest value stands; states add up.
- ``average`` indicators (numbers that are levels, such as average days to answer a request):
  in each period the states' values are averaged, each state counting once; the latest period's
  mean stands. A level never adds up, over states or over periods.
- percentages: numerators and denominators add up, and the percentage is computed from the sums;
  percentages are never averaged.
- yes/no: the number of states whose latest answer is yes.
- a value disaggregated by sex whose parts do not add up to its total is flagged incomplete.

How an indicator is rated against its target is here too (``rate_progress``), so that every page
(the plan's pages, the summary, its exports and snapshots) rates the same data alike.

Pure functions of plain values: this module imports nothing of the app, so any layer may use it
(docs/ARCHITECTURE.md, "Layers").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol


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
    if _averaged(unit, aggregation):
        _period, level = latest_level(unit, rows, aggregation)
        return Aggregate(level, reporting_states=states, incomplete=incomplete)
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


def _averaged(unit: str, aggregation: str) -> bool:
    return aggregation == "average" and unit == "number"


def period_figure(unit: str, aggregation: str, rows: Iterable[ValueRow]) -> float | None:
    """One period's figure over the states that reported in it: the mean of their values for
    an ``average`` indicator, else what ``aggregate`` makes of one period's rows."""
    if _averaged(unit, aggregation):
        numbers = [r.value for r in rows if r.value is not None]
        return sum(numbers) / len(numbers) if numbers else None
    return aggregate(unit, "per_period", rows).value


def latest_level(
    unit: str, rows: Iterable[ValueRow], aggregation: str = "per_period"
) -> tuple[int | None, float | None]:
    """(period order, figure) of the latest period whose approved rows make a figure
    (``period_figure``); ``(None, None)`` when no period has one."""
    by_period: dict[int, list[ValueRow]] = defaultdict(list)
    for row in rows:
        by_period[row.period_order].append(row)
    for order in sorted(by_period, reverse=True):
        figure = period_figure(unit, aggregation, by_period[order])
        if figure is not None:
            return order, figure
    return None, None


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


# --- Direction-aware rating of an indicator --------------------------------------------------
# "Expected progress" is the share of the plan's time elapsed at the end of the last period
# counted (e.g. 58% at the end of 2025-Q3 in a 2024-2026 plan). For ``increase`` indicators (and
# ``decrease`` ones with a baseline above the target) the percent achieved is the share of the
# way from baseline to target (``percent_of_target``); it is then compared with that expectation:
#   on track   percent achieved >= 90% of the expected progress
#   at risk    percent achieved >= 60% of the expected progress
#   off track  below that, or a ``decrease`` indicator that has not fallen below its baseline.
# ``decrease`` indicators are rated on their latest level (the latest period's figure), never on
# a sum over periods, and a fall is progress. Without a baseline above the target there is no
# planned fall to measure, so the level is compared with the target: at or below it on track,
# up to 20% above it at risk, more off track.
# ``maintain`` indicators are rated on their latest level: at or above target on track, within
# 10% below it at risk, lower off track.
# No target, no approved value, or a text indicator: not rated.
ON_TRACK_SHARE = 0.9
AT_RISK_SHARE = 0.6
DECREASE_AT_RISK_MARGIN = 0.2
MAINTAIN_AT_RISK_MARGIN = 0.1


class RatedIndicator(Protocol):
    """What rating needs of an indicator: an ``Indicator`` row or the summary's plain tuple."""

    @property
    def unit(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def aggregation(self) -> str: ...
    @property
    def target_value(self) -> float | None: ...
    @property
    def baseline_value(self) -> float | None: ...


class PlanDates(Protocol):
    """What the share of a plan elapsed needs of it: a ``WorkPlan`` row or any such pair."""

    @property
    def period_start(self) -> date: ...
    @property
    def period_end(self) -> date: ...


class Rating(NamedTuple):
    value: float | None  # the figure rated: the total to date or the latest level
    percent: float | None
    rating: str | None  # on_track, at_risk, off_track; None when not rated
    on_latest_level: bool  # rated on the latest period's level, not on the total to date


def expected_share(plan: PlanDates, until: date) -> float:
    """Share (0..1) of the plan's time elapsed by the end of ``until``."""
    total = (plan.period_end - plan.period_start).days + 1
    elapsed = (until - plan.period_start).days + 1
    return min(1.0, max(0.0, elapsed / total)) if total > 0 else 1.0


def rates_latest_level(direction: str, aggregation: str) -> bool:
    """Whether an indicator is rated on its latest level rather than on its total to date.

    Increase indicators are rated on what has been achieved to date. Decrease and maintain ones
    are rated on their current level: summing a level over periods means nothing. A cumulative
    indicator's figure to date already is its level (each state's latest value). An average
    indicator is a level whatever its direction.
    """
    if aggregation == "average":
        return True
    return direction != "increase" and aggregation != "cumulative"


def rate_progress(
    indicator: RatedIndicator, to_date: float | None, latest: float | None, expected: float
) -> Rating:
    """The one rating of an indicator, for every page: which figure counts, its percent of the
    target and its rating. ``to_date`` and ``latest`` are the indicator's figure to date and its
    latest period's figure; ``expected`` is the share of the plan elapsed (``expected_share``).
    """
    on_latest = rates_latest_level(indicator.direction, indicator.aggregation)
    value = latest if on_latest else to_date
    if indicator.unit == "text":
        return Rating(value, None, None, on_latest)
    rating, percent = rate_indicator(
        indicator.direction, value, indicator.target_value, indicator.baseline_value, expected
    )
    return Rating(value, percent, rating, on_latest)


def rate_indicator(
    direction: str,
    value: float | None,
    target: float | None,
    baseline: float | None,
    expected: float,
) -> tuple[str | None, float | None]:
    """(rating, percent achieved) of the figure rated; the thresholds are above.

    ``value`` is the figure rated (``rate_progress`` chooses it). ``expected`` is the share of
    the plan elapsed.
    """
    if value is None or target is None:
        return None, None
    if direction == "maintain":
        percent = 100.0 if value >= target else (100.0 * value / target if target else 0.0)
        if value >= target:
            return "on_track", percent
        if value >= target * (1 - MAINTAIN_AT_RISK_MARGIN):
            return "at_risk", percent
        return "off_track", percent
    if direction == "decrease" and (baseline is None or baseline <= target):
        percent = 100.0 if value <= target else 100.0 * target / value
        if value <= target:
            return "on_track", percent
        if value <= target * (1 + DECREASE_AT_RISK_MARGIN):
            return "at_risk", percent
        return "off_track", percent
    percent = percent_of_target(value, target, baseline, direction)
    if percent is None:
        return None, None
    if direction == "decrease" and baseline is not None and value >= baseline:
        return "off_track", percent  # not falling at all
    wanted = 100.0 * expected
    if percent >= 100.0 or percent >= ON_TRACK_SHARE * wanted:
        return "on_track", percent
    if percent >= AT_RISK_SHARE * wanted:
        return "at_risk", percent
    return "off_track", percent
