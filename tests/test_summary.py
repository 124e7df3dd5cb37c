"""The co-chairs' summary: figures against hand-computed fixtures, filters, snapshots, access."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event
from sqlmodel import select

from app.accounts.services import Viewer, viewer_for
from app.db import unit_of_work
from app.plan.models import Indicator, Initiative, ReportingPeriod
from app.plan.services import indicator_progress
from app.progress import totals
from app.progress.models import Submission
from app.progress.submissions import save_values
from app.reports.summary import SummaryFilters, build_summary, rate_indicator
from tests import summary_data
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in

REVIEWER = Viewer(None, frozenset({"reviewer"}), None, "reviewer")
BOTH_QUARTERS = SummaryFilters(period_from="2025-Q1", period_to="2025-Q2")


def _lines(summary):
    return {line.code: line for line in summary.indicators}


# --- Figures -------------------------------------------------------------------------------------


def test_only_approved_values_count_and_periods_add_up(session) -> None:
    summary_data.make_fixture(session)
    summary = build_summary(session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY)
    line = _lines(summary)["INC"]
    # Approved: Atlantis Q1 30, Borduria Q2 20. Borduria's submitted 1000 and Atlantis's
    # returned 500 are not approved and never count.
    assert line.trend == [("2025-Q1", 30.0), ("2025-Q2", 20.0)]
    assert (line.range_value, line.to_date_value) == (50.0, 50.0)
    assert (line.latest_value, line.latest_period) == (20.0, "2025-Q2")
    assert summary.range_label == "2025-Q1 to 2025-Q2"


def test_ratings_are_direction_aware(session) -> None:
    summary_data.make_fixture(session)
    summary = build_summary(session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY)
    lines = _lines(summary)
    # End of 2025-Q2: 547 of the plan's 1,096 days have passed, so 49.9% is expected.
    assert summary.expected_percent == pytest.approx(100 * 547 / 1096)
    # Increase: 50 of 100 from a baseline of 0 is 50%, above 90% of the 49.9% expected.
    assert lines["INC"].percent == pytest.approx(50.0)
    assert lines["INC"].rating == "on_track"
    # Decrease from 50 towards 10: the latest level, 20, is 75% of the way: a fall is progress.
    assert lines["DEC"].rated_value == 20.0
    assert lines["DEC"].percent == pytest.approx(75.0)
    assert lines["DEC"].rating == "on_track"
    # Decrease without a baseline: level 12 against a target of 10 is within 20%: at risk.
    assert lines["DNB"].rating == "at_risk"
    # Percentages come from summed parts: (1 + 90) / (2 + 100), never the average of 50 and 90.
    assert lines["PCT"].to_date_value == pytest.approx(100 * 91 / 102)
    assert lines["PCT"].rating == "on_track"


def test_the_plan_pages_rate_every_indicator_as_the_summary_does(session) -> None:
    """One rule for both: the plan pages once summed every level over periods and states and
    coloured the bar by the percent alone."""
    data = summary_data.make_fixture(session)
    maintain = summary_data.factories.make_indicator(
        session, data.initiative, code="MNT", direction="maintain", target_value=20
    )
    for state, period, number in ((data.atlantis, data.q1, 25), (data.borduria, data.q2, 19)):
        approved = session.exec(
            select(Submission).where(
                Submission.member_state_id == state.id,
                Submission.reporting_period_id == period.id,
            )
        ).one()
        summary_data.value(session, maintain, approved, number)  # 2025-Q2's 19 is the latest
    indicators = [data.increase, data.decrease, data.decrease_no_baseline, data.percentage]
    progress = indicator_progress(
        session, [*indicators, maintain], [data.initiative], today=summary_data.TODAY
    )
    lines = _lines(build_summary(session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY))
    # (figure rated, percent, rating, period of the level), by hand; 49.9% of the plan elapsed.
    expected = {
        # 30 + 20 to date: 50% of the way to 100, above 90% of 49.9% (the pages said 50%, amber).
        "INC": (50.0, 50.0, "on_track", None),
        # Latest level 20, 75% of the way from 50 to 10 (the pages summed 60: 0%, red).
        "DEC": (20.0, 75.0, "on_track", "2025-Q2"),
        # Latest level 12 against 10, no baseline: 10/12 (the pages summed 42: 420%, green).
        "DNB": (12.0, 100 * 10 / 12, "at_risk", "2025-Q2"),
        # (1 + 90) / (2 + 100) = 89.2% to date, beyond the 80% aimed at.
        "PCT": (100 * 91 / 102, 100 * (100 * 91 / 102) / 80, "on_track", None),
        # Latest level 19, within 10% below 20 (the pages summed 44: 100%, green).
        "MNT": (19.0, 95.0, "at_risk", "2025-Q2"),
    }
    for indicator in [*indicators, maintain]:
        value, percent, rating, period = expected[indicator.code]
        shown, line = progress[indicator.id], lines[indicator.code]
        assert shown.achieved == line.rated_value == pytest.approx(value), indicator.code
        assert shown.percent == line.percent == pytest.approx(percent), indicator.code
        assert shown.rating == line.rating == rating, indicator.code
        assert shown.level_period == period, indicator.code
    assert progress[data.increase.id].expected_marker == pytest.approx(100 * 547 / 1096)
    assert progress[data.decrease.id].expected_marker is None  # no tick: a level is not due


def test_a_level_is_averaged_over_the_states_and_never_added_up(session) -> None:
    """An ``average`` indicator (average days to answer a request, decrease to 5): each
    period's figure is the states' mean, and its latest period's mean stands to date."""
    data = summary_data.make_fixture(session)
    dinaria = summary_data.factories.make_state(session, "DIN", name="Dinaria")
    days = summary_data.factories.make_indicator(
        session,
        data.initiative,
        code="AVG",
        direction="decrease",
        aggregation="average",
        target_value=5,
    )
    approved = {
        (state.id, period.id): summary_data.submission(
            session, state, period, "approved", date(2025, 7, 1)
        )
        for state, period in ((dinaria, data.q1), (dinaria, data.q2))
    }
    approved |= {
        (s.member_state_id, s.reporting_period_id): s
        for s in session.exec(select(Submission).where(Submission.status == "approved"))
    }
    # Q1: Atlantis 4, Dinaria 8: 6 days. Q2: Borduria 6, Dinaria 10: 8 days.
    for state, period, number in (
        (data.atlantis, data.q1, 4),
        (dinaria, data.q1, 8),
        (data.borduria, data.q2, 6),
        (dinaria, data.q2, 10),
    ):
        summary_data.value(session, days, approved[state.id, period.id], number)

    line = _lines(build_summary(session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY))["AVG"]
    assert line.trend == [("2025-Q1", 6.0), ("2025-Q2", 8.0)]
    # A level stands, to date and over the range: 8 days, not 14 nor 28.
    assert (line.latest_value, line.range_value, line.to_date_value) == (8.0, 8.0, 8.0)
    # 8 days against a target of 5, more than 20% above it: 5/8 = 62.5%, off track.
    assert (line.percent, line.rating) == (pytest.approx(62.5), "off_track")
    only_q1 = SummaryFilters(period_from="2025-Q1", period_to="2025-Q1")
    line = _lines(build_summary(session, REVIEWER, only_q1, today=summary_data.TODAY))["AVG"]
    # To the end of Q1: 6 days, within 20% above the target: at risk.
    assert (line.range_value, line.to_date_value, line.rating) == (6.0, 6.0, "at_risk")
    # A state's column is its own latest level (Atlantis reported 4 in Q1), not a sum.
    atlantis = SummaryFilters(
        period_from="2025-Q2", period_to="2025-Q2", member_state_id=data.atlantis.id
    )
    line = _lines(build_summary(session, REVIEWER, atlantis, today=summary_data.TODAY))["AVG"]
    assert (line.state_value, line.range_value) == (4.0, 8.0)

    progress = indicator_progress(session, [days], [data.initiative], today=summary_data.TODAY)
    shown = progress[days.id]
    assert (shown.achieved, shown.level_period, shown.rating) == (8.0, "2025-Q2", "off_track")
    assert totals.differences(session) == []  # the kept counts agree with the values


@pytest.mark.parametrize(
    ("direction", "value", "target", "baseline", "rating"),
    [
        ("increase", 45, 100, 0, "on_track"),  # 45% >= 0.9 x 50% expected
        ("increase", 31, 100, 0, "at_risk"),  # >= 0.6 x 50%
        ("increase", 29, 100, 0, "off_track"),
        ("decrease", 30, 10, 50, "on_track"),  # fell 20 of 40: 50%
        ("decrease", 55, 10, 50, "off_track"),  # rose: never on track
        ("decrease", 9, 10, None, "on_track"),
        ("decrease", 13, 10, None, "off_track"),
        ("maintain", 100, 100, None, "on_track"),
        ("maintain", 95, 100, None, "at_risk"),
        ("maintain", 80, 100, None, "off_track"),
        ("increase", None, 100, 0, None),
        ("increase", 5, None, 0, None),
    ],
)
def test_rate_indicator_thresholds(direction, value, target, baseline, rating) -> None:
    assert rate_indicator(direction, value, target, baseline, 0.5)[0] == rating


def test_completeness_categories_and_rates(session) -> None:
    summary_data.make_fixture(session)
    summary = build_summary(session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY)
    grid = {row.name: [c.category for c in row.cells] for row in summary.completeness.rows}
    assert grid == {
        "Atlantis": ["approved", "returned"],
        "Borduria": ["late", "approved"],
        "Carpania": ["missing", "on_time"],
    }
    q1, q2 = summary.completeness.rates
    assert (q1.expected, q1.received, q1.on_time) == (3, 2, 1)
    assert (q2.expected, q2.received, q2.on_time) == (3, 3, 3)


def test_a_period_not_yet_due_is_not_missing(session) -> None:
    summary_data.make_fixture(session)
    summary = build_summary(session, REVIEWER, BOTH_QUARTERS, today=date(2025, 4, 20))
    carpania = next(r for r in summary.completeness.rows if r.name == "Carpania")
    assert [c.category for c in carpania.cells] == ["not_due", "on_time"]


def test_participants_by_state_and_sex(session) -> None:
    data = summary_data.make_fixture(session)
    summary_data.add_activity(
        session, data.initiative, date(2025, 2, 3), [(data.atlantis, 4, 6), (data.borduria, 2, 1)]
    )
    summary_data.add_activity(session, data.initiative, date(2025, 5, 3), [(data.atlantis, 1, 0)])
    summary_data.add_activity(session, data.initiative, date(2024, 5, 3), [(data.atlantis, 9, 9)])
    summary = build_summary(session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY)
    rows = {
        r.name: (r.activities, r.female, r.male, r.total) for r in summary.participants_by_state
    }
    assert rows == {"Atlantis": (2, 5, 6, 11), "Borduria": (1, 2, 1, 3)}
    totals = summary.participant_totals
    assert (totals.activities, totals.participants, totals.female, totals.male) == (2, 14, 7, 7)
    [goal] = summary.focus_areas[0].goals
    assert (goal.activities.range_count, goal.activities.range_participants) == (2, 14)


def test_indicators_computed_from_activities(session) -> None:
    data = summary_data.make_fixture(session)
    goal_id = data.initiative.strategic_goal_id
    sibling = Initiative(
        strategic_goal_id=goal_id, code="S.2", title="Sibling", start_date=date(2024, 1, 1)
    )
    session.add(sibling)
    session.flush()

    def computed(code: str, computed_from: str, kinds: str, **parent) -> None:
        session.add(
            Indicator(
                work_plan_id=data.increase.work_plan_id,
                code=code,
                title=code,
                level="output",
                unit="number",
                computed_from=computed_from,
                activity_kinds=kinds,
                **parent,
            )
        )

    computed("ACT", "activities", "workshop", initiative_id=data.initiative.id)
    computed("PPL", "participants", "", initiative_id=data.initiative.id)
    computed("GOAL", "activities", "workshop,training_course", strategic_goal_id=goal_id)
    computed("STS", "member_states_participating", "", strategic_goal_id=goal_id)
    add = summary_data.add_activity
    add(session, data.initiative, date(2025, 2, 3), [(data.atlantis, 4, 6), (data.borduria, 2, 1)])
    course = add(session, data.initiative, date(2025, 5, 3), [(data.atlantis, 1, 0)])
    course.kind, course.participant_total = "training_course", 40  # the head count wins
    extra = add(session, sibling, date(2025, 5, 10), [(data.carpania, 3, 3)])
    extra.other_participants = 2
    briefing = add(session, sibling, date(2025, 6, 1), [(data.atlantis, 0, 1)])
    briefing.kind = "briefing"
    session.flush()

    lines = _lines(build_summary(session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY))
    figures = {
        code: ([v for _p, v in lines[code].trend], lines[code].range_value)
        for code in ("ACT", "PPL", "GOAL", "STS")
    }
    assert figures == {
        "ACT": ([1.0, 0.0], 1.0),  # its initiative's workshops only
        "PPL": ([13.0, 40.0], 53.0),  # 4+6+2+1; then the reported head count, not 1
        "GOAL": ([1.0, 2.0], 3.0),  # the goal's workshops and courses, not the briefing
        "STS": ([2.0, 2.0], 3.0),  # distinct states over both quarters: 3, not 2 + 2
    }


def test_a_state_in_scope_gets_its_own_column_and_rows(session) -> None:
    data = summary_data.make_fixture(session)
    filters = SummaryFilters(
        period_from="2025-Q1", period_to="2025-Q2", member_state_id=str(data.atlantis.id)
    )
    summary = build_summary(session, REVIEWER, filters, today=summary_data.TODAY)
    line = _lines(summary)["INC"]
    assert line.to_date_value == 50.0  # the plan-wide total stays whole
    assert line.state_value == 30.0  # Atlantis's own approved figure
    assert [r.name for r in summary.completeness.rows] == ["Atlantis"]
    assert {n.member_state_name for n in summary.narratives} == {"Atlantis"}


# --- Bad filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "notice", "shown"),
    [
        ({"from": "2025-Q2", "to": "2025-Q1"}, "turned round", "2025-Q1 to 2025-Q2"),
        ({"from": "1999-Q9", "to": "2025-Q2"}, "no reporting period “1999-Q9”", "2025-Q2"),
        ({"to": "<script>"}, "no reporting period “<script>”", "2025-Q2"),
        ({"focus_area": "abc"}, "no focus area “abc”", "2025-Q2"),
        ({"goal": "999999"}, "no strategic goal “999999”", "2025-Q2"),
        ({"member_state": "999999"}, "no member state “999999”", "2025-Q2"),
        ({"member_state": "-1"}, "no member state “-1”", "2025-Q2"),
    ],
)
def test_bad_filters_give_a_notice_and_the_nearest_view(session, args, notice, shown) -> None:
    summary_data.make_fixture(session)
    summary = build_summary(
        session, REVIEWER, SummaryFilters.from_args(args), today=summary_data.TODAY
    )
    assert any(notice in text for text in summary.notices), summary.notices
    assert summary.range_label == shown
    assert len(summary.indicators) == 4


@pytest.mark.parametrize(
    "query",
    [
        "?from=2026-Q4&to=2024-Q1",
        "?from=nonsense&to=&focus_area=x&goal=-3&member_state=99999999999999999999",
        "?member_state=abc&focus_area=1e9",
        "?from=" + "x" * 5000,
    ],
)
def test_bad_filters_on_the_page_never_fail(reviewer_client, query) -> None:
    response = reviewer_client.get("/summary" + query)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "flash-warning" in page and "Only approved values count" in page


# --- The page ------------------------------------------------------------------------------------


def test_reviewers_land_on_the_summary(app, people) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    token = page[page.index(marker) + len(marker) :].split('"', 1)[0]
    from tests.factories import DEFAULT_PASSWORD

    response = client.post(
        "/login",
        data={"email": people.reviewer.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert response.location.endswith("/summary")
    manager = sign_in(app.test_client(), people.manager)
    assert manager.get("/login").location.endswith("/")


def test_the_page_shows_figures_charts_and_the_approved_only_rule(app, people) -> None:
    with app.app_context(), unit_of_work() as session:
        data = summary_data.make_fixture(session)
        inc_id = data.increase.id
    client = sign_in(app.test_client(), people.reviewer)
    page = client.get("/summary?from=2025-Q1&to=2025-Q2").get_data(as_text=True)
    assert "Only approved values count" in page
    assert "Summary: 2025-Q1 to 2025-Q2" in page
    assert 'class="chart rag-chart"' in page and 'class="chart heatmap"' in page
    assert "2025-Q1 30; 2025-Q2 20" in page  # the trend, in words
    assert "Borduria, 2025-Q1: Submitted late" in page
    assert "Deliver the =SUM(A1) programme" in page
    assert 'href="/summary.xlsx?from=2025-Q1&amp;to=2025-Q2"' in page
    assert inc_id


def test_filters_work_with_htmx_as_a_fragment(reviewer_client) -> None:
    response = reviewer_client.get("/summary?from=2025-Q1&to=2025-Q3", headers={"HX-Request": "1"})
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<div id="summary"')
    assert "<html" not in page and "HX-Request" in response.headers["Vary"]
    assert 'hx-push-url="true"' in page and 'method="get"' in page


def test_user_text_is_escaped_in_the_page_and_charts(app, people) -> None:
    with app.app_context(), unit_of_work() as session:
        area = session.exec(select(Initiative)).first()
        area.title = '<img src=x onerror="alert(1)">'
        session.add(area)
    client = sign_in(app.test_client(), people.reviewer)
    page = client.get("/summary").get_data(as_text=True)
    assert "<img src=x" not in page
    assert "&lt;img src=x" in page


# --- Scale: a fixed number of queries ------------------------------------------------------------


def _count_queries(app, client, url: str) -> int:
    statements: list[str] = []
    engine = app.extensions["db_engine"]

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
        assert response.status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def _grow(app, indicators: int, states: int, name: str) -> None:
    with app.app_context(), unit_of_work() as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q2")
        ).one()
        initiative = session.exec(select(Initiative)).first()
        new_states = [
            summary_data.factories.make_state(session, name=f"{name} state {n}")
            for n in range(states)
        ]
        subs = [
            summary_data.submission(session, s, period, "approved", date(2025, 7, 1))
            for s in new_states
        ]
        for n in range(indicators):
            indicator = summary_data.factories.make_indicator(
                session, initiative, new_states, code=f"{name}{n}", target_value=10
            )
            for sub in subs:
                summary_data.value(session, indicator, sub, n, narrative=f"note {n}")
            summary_data.add_activity(
                session, initiative, date(2025, 5, 1), [(s, 1, 1) for s in new_states]
            )


def test_the_page_takes_the_same_number_of_queries_whatever_the_size(app, people) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    url = "/summary?from=2025-Q1&to=2025-Q3"
    client.get(url)  # the first request checks the schema once
    _grow(app, indicators=2, states=2, name="Small")
    small = _count_queries(app, client, url)
    _grow(app, indicators=25, states=12, name="Large")
    large = _count_queries(app, client, url)
    assert small == large
    assert large < 40


# --- Snapshots -----------------------------------------------------------------------------------


def _approved_thai_value(app, people, number: float) -> tuple[int, int]:
    """Thailand's approved 2025-Q3 value of indicator 1.1.a (a number); returns ids."""
    with app.app_context(), unit_of_work() as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
        ).one()
        indicator = session.exec(select(Indicator).where(Indicator.code == "1.1.a")).one()
        summary_data.report_by(session, indicator, people.thailand)
        sub = summary_data.submission(
            session, people.thailand, period, "approved", date(2025, 10, 2)
        )
        summary_data.value(session, indicator, sub, number, narrative="Thai narrative v1")
        return period.id, sub.id


def test_closing_a_period_freezes_its_summary_and_later_corrections_show(app, people) -> None:
    period_id, submission_id = _approved_thai_value(app, people, 7)
    manager = sign_in(app.test_client(), people.manager)
    closed = manager.post(f"/periods/{period_id}/close", data={"csrf_token": csrf_of(manager)})
    assert closed.status_code == 303

    with app.app_context(), unit_of_work() as session:
        submission = session.get(Submission, submission_id)
        indicator = session.exec(select(Indicator).where(Indicator.code == "1.1.a")).one()
        viewer = viewer_for(session, people.manager)
        form = {f"{indicator.id}-value": "9", f"{indicator.id}-narrative": "Thai narrative v2"}
        saved = save_values(
            session, submission, form, viewer, expected_version=1, reason="Ministry's figure"
        )
        assert saved == 1

    reviewer = sign_in(app.test_client(), people.reviewer)
    frozen = reviewer.get(f"/summary/snapshots/{period_id}").get_data(as_text=True)
    live = reviewer.get("/summary?from=2025-Q3&to=2025-Q3").get_data(as_text=True)
    assert "frozen" in frozen and "1.1.a by period" in frozen
    assert "2025-Q3 7;" in frozen or "2025-Q3 7:" in frozen or "2025-Q3 7<" in frozen
    assert "Thai narrative v1" in frozen and "Thai narrative v2" not in frozen
    assert "corrected after close: 2025-Q3" not in frozen
    assert "corrected after close: 2025-Q3" in live
    assert "Thai narrative v2" in live
    assert f"/summary/snapshots/{period_id}" in live  # the live page links to the frozen one


def test_closing_twice_keeps_the_first_snapshot(app, people) -> None:
    from app.plan.periods import close_period
    from app.reports.models import SummarySnapshot

    period_id, _ = _approved_thai_value(app, people, 7)
    with app.app_context(), unit_of_work() as session:
        close_period(session, period_id)
    with app.app_context(), unit_of_work() as session:
        close_period(session, period_id)
    with open_session(app) as session:
        snapshots = session.exec(select(SummarySnapshot)).all()
    assert [s.reporting_period_id for s in snapshots] == [period_id]


def test_a_period_without_a_snapshot_is_not_found(reviewer_client) -> None:
    response = reviewer_client.get("/summary/snapshots/999999")
    assert response.status_code == 404


# --- Confidentiality -----------------------------------------------------------------------------


def test_a_focal_point_sees_own_rows_and_plan_wide_totals_on_the_page(app, people) -> None:
    period_id = summary_data.mongolian_rows(app, people)
    client = sign_in(app.test_client(), people.focal_point)
    for url in (
        "/summary?from=2025-Q3&to=2025-Q3",
        f"/summary?from=2025-Q3&to=2025-Q3&member_state={people.malaysia.id}",
        f"/summary/snapshots/{period_id}",
    ):
        page = client.get(url).get_data(as_text=True)
        summary_data.assert_only_thai_rows(page)
        assert "Thai narrative" in page
        assert "4332" in page or "4,332" in page  # the plan-wide total: 11 + 4321
        assert "Thailand" in page
    reviewer = sign_in(app.test_client(), people.reviewer)
    assert "Mongolian secret narrative" in reviewer.get(f"/summary/snapshots/{period_id}").text


def test_cumulative_and_yes_no_indicators_take_each_states_latest_value(session) -> None:
    data = summary_data.make_fixture(session)
    states = [data.atlantis, data.borduria]
    running = summary_data.factories.make_indicator(
        session, data.initiative, states, code="CUM", aggregation="cumulative", target_value=40
    )
    answer = summary_data.factories.make_indicator(
        session, data.initiative, states, code="YES", unit="yes_no", aggregation="cumulative"
    )
    subs = {
        (s.member_state_id, s.reporting_period_id): s
        for s in session.exec(select(Submission)).all()
    }
    a1 = subs[data.atlantis.id, data.q1.id]
    b2 = subs[data.borduria.id, data.q2.id]
    a2 = subs[data.atlantis.id, data.q2.id]
    a2.status = "approved"
    session.add(a2)
    totals.refresh_for_submission(session, a2)
    # Running totals: Atlantis 4 then 10, Borduria 7 (in Q2): 10 + 7, never 4 + 10 + 7.
    summary_data.value(session, running, a1, 4)
    summary_data.value(session, running, a2, 10)
    summary_data.value(session, running, b2, 7)
    summary_data.value(session, answer, a1, 1)
    summary_data.value(session, answer, a2, 0)  # Atlantis's latest answer is no
    summary_data.value(session, answer, b2, 1)
    both = build_summary(session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY)
    lines = _lines(both)
    assert lines["CUM"].to_date_value == 17.0
    assert lines["YES"].to_date_value == 1.0
    first = build_summary(
        session,
        REVIEWER,
        SummaryFilters(period_from="2025-Q1", period_to="2025-Q1"),
        today=summary_data.TODAY,
    )
    assert _lines(first)["CUM"].to_date_value == 4.0
    assert _lines(first)["YES"].to_date_value == 1.0
    only_q2 = build_summary(
        session,
        REVIEWER,
        SummaryFilters(
            period_from="2025-Q2", period_to="2025-Q2", member_state_id=str(data.atlantis.id)
        ),
        today=summary_data.TODAY,
    )
    line = _lines(only_q2)["CUM"]
    assert (line.range_value, line.to_date_value, line.state_value) == (17.0, 17.0, 10.0)


def test_a_sparkline_names_every_period_and_leaves_gaps_as_gaps() -> None:
    from app.reports.charts import sparkline

    svg = str(
        sparkline(
            [("2025-Q1", 1200.0), ("2025-Q2", None), ("2025-Q3", 66.25)],
            title="<b>1.1.a</b> by period",
            unit_suffix="%",
        )
    )
    title = "&lt;b&gt;1.1.a&lt;/b&gt; by period: 2025-Q1 1,200%; 2025-Q2 no value; 2025-Q3 66.2%"
    assert f"<title>{title}</title>" in svg and f'aria-label="{title}"' in svg
    assert "<b>" not in svg
    # Two columns (one path), one gap dot on the baseline, the latest figure written out.
    path = svg.split('<path d="', 1)[1].split('"', 1)[0]
    assert path.count("M") == 2 and path.startswith("M1 3.0h6V22")
    assert svg.count("<circle") == 1
    # The latest figure is text after the picture (a printed page narrows the picture only).
    assert svg.endswith('</svg><span class="spark-figure">66.2%</span></span>')
    assert 'preserveAspectRatio="none"' in svg and 'width="27"' in svg
    empty = str(sparkline([], title="x"))
    assert "x: no periods" in empty and "<path" not in empty


def test_a_progress_bar_writes_its_figure_beside_it_and_says_why_it_is_empty() -> None:
    from app.reports.charts import progress_bar

    small, large = str(progress_bar(75, label="A")), str(progress_bar(20054.4, label="B"))
    # The figure is text after the 160 px picture, however many digits it has: a printed page
    # draws the bar shorter and the figure stays as large as the table's text.
    assert small.endswith('</svg><span class="bar-figure">75%</span></span>')
    assert '<span class="bar-figure">20,054%</span>' in large
    assert 'width="160"' in small and 'width="160"' in large
    assert 'preserveAspectRatio="none"' in small
    # One image for a screen reader, named by its words; the picture itself is hidden.
    assert large.startswith('<span class="bar bar-good" role="img" aria-label="B: 20054% of target')
    assert '<svg width="160" height="14" viewBox="0 0 160 14" ' in large
    assert 'aria-hidden="true"><title>B: 20054% of target</title>' in large
    assert str(progress_bar(None, label="C")) == '<span class="muted">No target</span>'
    waiting = '<span class="muted">No approved value yet</span>'
    assert str(progress_bar(None, label="D", target=6)) == waiting
    assert str(progress_bar(None, label="E", target=0)) == waiting


def test_the_heat_map_is_drawn_at_its_own_size_and_its_key_is_text_that_wraps() -> None:
    from app.reports.charts import completeness_heatmap

    legend = [
        ("approved", "✓", "Approved"),
        ("returned", "↩", "Returned for changes"),
        ("not_due", "·", "Not yet due"),
    ]
    html = str(
        completeness_heatmap(
            ["Atlantis", "<Borduria>"],
            ["2025-Q3", "2025-Q4"],
            [[("approved", "✓", "Approved")] * 2, [("not_due", "·", "Not yet due")] * 2],
            title="Reports",
            legend=legend,
        )
    )
    # Width and height in pixels (never stretched to the page), in a box a phone scrolls.
    grid, key = html.split("</svg></div>", 1)
    assert grid.startswith('<div class="heatmap-scroll"><svg class="chart heatmap" role="img" ')
    assert 'width="260" height="90" viewBox="0 0 260 90"' in grid
    # A period is written year over quarter, so a cell needs only the width of the year.
    assert ">2025</text>" in grid and ">Q3</text>" in grid and ">2025-Q3<" not in grid
    assert "<title>&lt;Borduria&gt;, 2025-Q4: Not yet due</title>" in grid
    # The key is a list after the picture: every entry whole, whatever the grid's width.
    assert key.startswith('<ul class="chart-legend" aria-label="Key"><li><svg ')
    assert key.count("<li>") == 3 and " Returned for changes</li>" in key and key.endswith("</ul>")


def test_badges_escape_whatever_code_they_are_given() -> None:
    from markupsafe import Markup

    from app.templating import rag_badge, status_badge

    assert "<b>" not in str(status_badge(Markup("<b>x</b>")))
    assert "<b>" not in str(status_badge("<b>x</b>"))
    assert str(rag_badge(None)).endswith(">Not rated</span>")
    assert ">▲</span>On track<" in str(rag_badge("on_track"))
