"""Aggregation rules on hand-computed fixtures."""

from __future__ import annotations

import pytest

from app.progress.aggregation import ValueRow, aggregate, percent_of_target

Q1, Q2, Q3 = 20251, 20252, 20253


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
