"""Aggregation rules on hand-computed fixtures."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.figures import (
    ValueRow,
    aggregate,
    latest_level,
    percent_of_target,
    period_figure,
    rate_progress,
)

Q1, Q2, Q3 = 20251, 20252, 20253


@dataclass
class Definition:
    direction: str
    target_value: float | None = 5
    baseline_value: float | None = None
    aggregation: str = "per_period"
    unit: str = "number"


def test_per_period_values_add_up_across_periods_and_states() -> None:
    rows = [ValueRow(1, Q1, value=4), ValueRow(1, Q2, value=6), ValueRow(2, Q1, value=5)]
    assert aggregate("number", "per_period", rows).value == 15


def test_cumulative_values_take_each_states_latest_and_add_states() -> None:
    # State 1 reported a running total of 4 then 10; state 2 reported 7 once: 10 + 7, not 21.
    rows = [ValueRow(1, Q1, value=4), ValueRow(1, Q3, value=10), ValueRow(2, Q2, value=7)]
    result = aggregate("number", "cumulative", rows)
    assert result.value == 17
    assert result.reporting_states == 2


def test_percentages_come_from_summed_parts_never_from_averaging() -> None:
    # 1/10 and 9/10 average to 50%, but 10 of 20 is also 50%; 1/2 and 90/100 differ:
    rows = [
        ValueRow(1, Q1, numerator=1, denominator=2),
        ValueRow(2, Q1, numerator=90, denominator=100),
    ]
    result = aggregate("percentage", "per_period", rows)
    assert result.numerator == 91 and result.denominator == 102
    assert result.value == pytest.approx(100 * 91 / 102)  # 89.2%, not the 70% an average gives


def test_cumulative_percentage_uses_the_latest_parts_per_state() -> None:
    rows = [
        ValueRow(1, Q1, numerator=1, denominator=4),
        ValueRow(1, Q2, numerator=3, denominator=4),
    ]
    assert aggregate("percentage", "cumulative", rows).value == 75


def test_sex_breakdown_that_does_not_add_up_is_flagged() -> None:
    complete = [ValueRow(1, Q1, value=10, female=4, male=6)]
    partial = [ValueRow(1, Q1, value=10, female=4, male=5)]
    assert not aggregate("number", "per_period", complete, by_sex=True).incomplete
    assert aggregate("number", "per_period", partial, by_sex=True).incomplete


def test_yes_no_counts_states_whose_latest_answer_is_yes() -> None:
    rows = [ValueRow(1, Q1, value=1), ValueRow(1, Q2, value=0), ValueRow(2, Q1, value=1)]
    assert aggregate("yes_no", "cumulative", rows).value == 1


def test_no_rows_means_no_value_not_zero() -> None:
    assert aggregate("number", "per_period", []).value is None


@pytest.mark.parametrize(
    ("achieved", "target", "baseline", "direction", "expected"),
    [
        (5, 10, 0, "increase", 50),
        (12, 10, 0, "increase", 120),
        (8, 4, 10, "decrease", 100 * (10 - 8) / (10 - 4)),  # fell from 10 to 8, aim is 4
        (12, 4, 10, "decrease", 0),  # rose: no progress
        (10, 10, None, "maintain", 100),
        (None, 10, 0, "increase", None),
        (3, None, 0, "increase", None),
    ],
)
def test_percent_of_target_is_direction_aware(
    achieved, target, baseline, direction, expected
) -> None:
    result = percent_of_target(achieved, target, baseline, direction)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_the_latest_level_is_the_latest_period_with_a_figure_over_its_states() -> None:
    rows = [
        ValueRow(1, Q1, value=4),
        ValueRow(2, Q1, value=8),
        ValueRow(1, Q2, value=6),
        ValueRow(2, Q3, value=None),  # a blank makes no figure: Q2 is the latest
    ]
    assert latest_level("number", rows) == (Q2, 6)
    parts = [
        ValueRow(1, Q1, numerator=1, denominator=4),
        ValueRow(2, Q1, numerator=2, denominator=8),
    ]
    assert latest_level("percentage", parts) == (Q1, 25)
    assert latest_level("number", []) == (None, None)


@pytest.mark.parametrize(
    ("definition", "value", "percent", "rating"),
    [
        # Increase: the total to date, 18 of a target of 20 (elapsed: half the plan).
        (Definition("increase", target_value=20), 18, 90, "on_track"),
        # Decrease to 5: the latest level 6 (not the 18 to date) is 20% above: at risk.
        (Definition("decrease"), 6, 100 * 5 / 6, "at_risk"),
        # Maintain 5: the latest level 6 is at or above it.
        (Definition("maintain"), 6, 100, "on_track"),
        # Cumulative: the figure to date already is the level (each state's latest).
        (Definition("decrease", aggregation="cumulative"), 18, 100 * 5 / 18, "off_track"),
        # Text: never rated.
        (Definition("increase", unit="text"), 18, None, None),
    ],
)
def test_one_rating_rule_picks_the_figure_by_direction(definition, value, percent, rating) -> None:
    rated = rate_progress(definition, to_date=18, latest=6, expected=0.5)
    assert rated.value == value
    assert rated.percent == (pytest.approx(percent) if percent is not None else None)
    assert rated.rating == rating


def test_a_level_is_averaged_over_the_states_and_its_latest_period_stands() -> None:
    # Average days to answer a request: Thailand 4 then 6, Malaysia 8. Q1's figure is the mean
    # of 4 and 8, 6 days (the sum, 12 days, means nothing); Q2's is Thailand's 6 alone.
    rows = [ValueRow(1, Q1, value=4), ValueRow(1, Q2, value=6), ValueRow(2, Q1, value=8)]
    assert period_figure("number", "average", rows[::2]) == 6
    assert latest_level("number", rows, "average") == (Q2, 6)
    result = aggregate("number", "average", rows)
    assert (result.value, result.reporting_states) == (6, 2)
    # A blank is no value: it does not pull the mean down.
    assert period_figure("number", "average", [*rows[::2], ValueRow(3, Q1)]) == 6


def test_an_average_indicator_is_rated_on_its_level_whatever_its_direction() -> None:
    rated = rate_progress(Definition("increase", aggregation="average"), 18, 6, expected=0.5)
    assert (rated.value, rated.on_latest_level) == (6, True)
