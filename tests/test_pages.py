"""Every page renders real content; unknown addresses and bugs get a plain error page."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from app.accounts.policy import public
from app.plan.models import FocusArea, Indicator, Initiative, StrategicGoal
from tests.conftest import open_session


def _first(app, model, **where):
    with open_session(app) as session:
        query = select(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return session.exec(query).first()


def test_overview_shows_four_focus_areas_side_by_side(seeded, reviewer_client) -> None:
    page = reviewer_client.get("/").get_data(as_text=True)
    assert "RSO Work Plan 2024-2026" in page
    assert page.count('class="focus-column"') == 4
    for title in (
        "Enhancing regional cooperation",
        "Capacity building",
        "Knowledge and information sharing",
        "Research and policy support",
    ):
        assert title in page
    assert "International People Smuggling Investigations Program" in page
    assert "Enhanced regional cooperation that results in tangible outcomes" in page


def test_managers_change_status_from_the_overview_and_focus_area_pages(
    seeded, client, people
) -> None:
    """Every initiative card carries the inline status form for a manager (a loop variable once
    hid Flask's ``g`` there, and with it the viewer, so no card had one), and none for others."""
    from tests.fixtures_accounts import sign_in

    with open_session(seeded) as session:
        initiatives = len(session.exec(select(Initiative)).all())
        focus_area = session.exec(select(FocusArea).where(FocusArea.number == 2)).one()
    sign_in(client, people.manager)
    overview = client.get("/").get_data(as_text=True)
    assert overview.count('class="initiative-card"') == initiatives
    assert overview.count('class="status-form"') == initiatives
    assert 'name="next" value="/"' in overview
    area = client.get(f"/focus-areas/{focus_area.id}").get_data(as_text=True)
    assert area.count('class="status-form"') == area.count('class="initiative-card"') == 4


def test_reviewers_see_status_badges_without_forms(seeded, reviewer_client) -> None:
    overview = reviewer_client.get("/").get_data(as_text=True)
    assert 'class="status-line"' in overview
    assert 'class="status-form"' not in overview


def test_focus_area_page_lists_its_goal_and_initiatives(seeded, reviewer_client) -> None:
    focus_area = _first(seeded, FocusArea, number=2)
    page = reviewer_client.get(f"/focus-areas/{focus_area.id}").get_data(as_text=True)
    assert "Deliver frontline training" in page
    assert "Improved capacity and skills of law enforcement personnel" in page
    assert page.count('class="initiative-card"') == 4


def test_goal_page_names_impacted_states(seeded, reviewer_client) -> None:
    goal = _first(seeded, StrategicGoal, number=1)
    page = reviewer_client.get(f"/goals/{goal.id}").get_data(as_text=True)
    assert "Engagement with ASEAN entities" in page
    assert "Bangladesh" in page and "India" in page and "Viet Nam" in page


def test_initiative_page_shows_activities_and_computed_indicators(seeded, reviewer_client) -> None:
    initiative = _first(seeded, Initiative, code="1.3")
    page = reviewer_client.get(f"/initiatives/{initiative.id}").get_data(as_text=True)
    assert "Kuala Lumpur" in page
    assert "Roundtable on Combatting Maritime People Smuggling" in page
    assert "Status history" in page
    # The roundtable reported 39 participants.
    assert re.search(r'<td class="num">39</td>', page)


def test_indicator_page_has_a_chart_and_a_value_matrix(seeded, reviewer_client) -> None:
    reported = _first(seeded, Indicator, computed_from=None)
    page = reviewer_client.get(f"/indicators/{reported.id}").get_data(as_text=True)
    assert reported.title in page
    assert "<svg" in page and "by reporting period</title>" in page
    assert "2024-Q1" in page and "2026-Q4" in page


def test_computed_indicator_counts_the_delivered_meetings(seeded, reviewer_client) -> None:
    with open_session(seeded) as session:
        initiative = session.exec(select(Initiative).where(Initiative.code == "1.3")).one()
        indicator = session.exec(
            select(Indicator).where(
                Indicator.initiative_id == initiative.id, Indicator.computed_from == "activities"
            )
        ).first()
    assert indicator is not None
    page = reviewer_client.get(f"/indicators/{indicator.id}").get_data(as_text=True)
    # Two regional meetings are in the demo seed: Bangkok 2024 and Kuala Lumpur 2025.
    assert re.search(r'kpi-label">To date</span><span class="kpi-value">2<', page)


@pytest.mark.parametrize("path", ["/member-states", "/periods"])
def test_reference_pages_render(seeded, reviewer_client, path) -> None:
    response = reviewer_client.get(path)
    assert response.status_code == 200
    assert "Thailand" in response.get_data(as_text=True) or "2025-Q3" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "path",
    [
        "/focus-areas/9999",
        "/goals/9999",
        "/initiatives/9999",
        "/indicators/9999",
        "/no-such-page",
        "/assets/vendor/evil.js",
    ],
)
def test_unknown_addresses_get_a_404_page(seeded, reviewer_client, path) -> None:
    response = reviewer_client.get(path)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "There is nothing at this address" in body
    assert "Traceback" not in body


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("manager", f"/initiatives/{HUGE}"),
        ("manager", "/initiatives/9223372036854775808"),
        ("manager", "/initiatives/\uff11"),  # a full-width 1
        ("manager", f"/submissions/{HUGE}"),
        ("manager", f"/uploads/{HUGE}"),
        ("manager", f"/summary/snapshots/{HUGE}.xlsx"),
        ("admin", f"/admin/users/{HUGE}"),
        ("admin", f"/admin/outbox/{HUGE}"),
    ],
)
def test_ids_beyond_a_database_integer_or_in_other_digits_are_a_404(
    seeded, client, people, role, path
) -> None:
    from tests.fixtures_accounts import sign_in

    sign_in(client, people.by_role(role))
    response = client.get(path)
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/summary?member_state=%C2%B2", "member state"),
        ("/summary?focus_area=%D9%A3", "focus area"),
        (f"/summary.csv?goal={HUGE}", None),
        ("/audit?actor=%C2%B2&page=%C2%B2", None),
        (f"/audit?page={HUGE}&actor={HUGE}", None),
        (f"/uploads/template?period_id={HUGE}", None),
    ],
)
def test_odd_numbers_in_query_strings_are_answered_not_crashed(
    seeded, client, people, path, says
) -> None:
    from tests.fixtures_accounts import sign_in

    sign_in(client, people.manager)
    response = client.get(path)
    assert response.status_code in (200, 404, 422), response.status_code
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "property object" not in body
    if says:
        assert response.status_code == 200 and says in body.lower()


def test_audit_pages_past_the_end_show_the_last_page(seeded, client, people) -> None:
    from tests.fixtures_accounts import sign_in

    sign_in(client, people.manager)  # signing in is itself in the trail: it is not empty
    fragment = {"HX-Request": "true"}
    last = client.get(f"/audit?page={HUGE}", headers=fragment).get_data(as_text=True)
    assert last == client.get("/audit?page=1", headers=fragment).get_data(as_text=True)
    assert "<tr" in last


def test_a_status_form_with_an_unreadable_version_is_refused_plainly(
    seeded, client, people
) -> None:
    from tests.fixtures_accounts import csrf_of, sign_in

    initiative = _first(seeded, Initiative, code="1.1")
    sign_in(client, people.manager)
    response = client.post(
        f"/initiatives/{initiative.id}/status",
        data={"status": initiative.status, "version": "\u00b2", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 422
    assert "reload the page" in response.get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True])
def test_an_unexpected_error_gets_a_plain_500_page(app, client, htmx: bool) -> None:
    def broken() -> str:
        raise RuntimeError("secret detail of the bug")

    app.add_url_rule("/broken", "broken", public(broken))
    response = client.get("/broken", headers={"HX-Request": "true"} if htmx else {})
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "<h1>Something went wrong <span" in body
    assert "the error has been logged" in body
    if not htmx:
        assert "<title>Something went wrong · RSO Work Plan Tracker</title>" in body
    # The heading was once the repr of a class property, memory address and all.
    assert "object at 0x" not in body and "property" not in body
    assert "secret detail" not in body and "Traceback" not in body


def test_an_empty_database_explains_how_to_seed(app, client) -> None:
    from app.db import unit_of_work
    from tests import factories
    from tests.fixtures_accounts import sign_in

    with app.app_context(), unit_of_work() as session:
        viewer = factories.make_user(session, ["reviewer"])
    sign_in(client, viewer)
    page = client.get("/").get_data(as_text=True)
    assert "flask --app wsgi seed plan" in page


def test_htmx_is_served_by_the_app_itself(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "/assets/vendor/htmx.min.js" in page
    # What the page loads, not its text: a random CSRF token once happened to contain "cdn".
    loaded = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert loaded and not [u for u in loaded if "unpkg" in u or "cdn" in u.lower()]
    assert not [u for u in loaded if u.startswith(("http:", "https:", "//"))]
    with client.get("/assets/vendor/htmx.min.js") as script:
        assert script.status_code == 200
        assert b"htmx" in script.data[:2000]


def test_user_text_is_escaped(seeded, reviewer_client) -> None:
    from app.db import unit_of_work

    with seeded.app_context(), unit_of_work() as session:
        initiative = session.exec(select(Initiative).where(Initiative.code == "2.2")).one()
        initiative.title = '<script>alert("x")</script>'
    page = reviewer_client.get("/").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


# --- One rating on every page ---------------------------------------------------------------

# Approved values on the seeded plan: (indicator, state, period, value[, numerator, denominator]).
REPORTED = [
    # 1.1.a, increase from 0 to 6, per period: 3 + 2 + 2 = 7 to date, 117% of the target.
    ("1.1.a", "THA", "2025-Q3", 3),
    ("1.1.a", "THA", "2025-Q4", 2),
    ("1.1.a", "MYS", "2025-Q3", 2),
    # 3.1.c, average days to answer a request, decrease to 5 (no baseline): rated on its latest
    # level, 2025-Q4, where only Thailand reported 6: 5/6 = 83%, within 20% above the target.
    ("3.1.c", "THA", "2025-Q3", 4),
    ("3.1.c", "THA", "2025-Q4", 6),
    ("3.1.c", "MYS", "2025-Q3", 8),
    # 2.3.c, a percentage to maintain at 80: the latest level is 2025-Q4's (6 + 14) / (10 + 20)
    # = 66.7%, which is 83% of the target and more than 10% below it.
    ("2.3.c", "THA", "2025-Q3", 90, 18, 20),
    ("2.3.c", "THA", "2025-Q4", 60, 6, 10),
    ("2.3.c", "MYS", "2025-Q4", 70, 14, 20),
]
# What every page must show for them: figure / target, percent, bar tone, rating.
SHOWN = {
    "1.1.a": ("7 / 6", "117%", "bar-good", "On track"),
    "3.1.c": ("6 / 5", "83%", "bar-warn", "At risk"),
    "2.3.c": ("66.7% / 80.0%", "83%", "bar-poor", "Off track"),
}


def _report_seeded_values(app) -> dict[str, int]:
    """Approve ``REPORTED`` (one submission per state and period); the indicators' ids."""
    from datetime import date

    from app.db import unit_of_work
    from app.plan.models import MemberState, ReportingPeriod
    from tests import summary_data

    with app.app_context(), unit_of_work() as session:
        submissions = {}
        ids = {}
        for code, state_code, period_code, number, *parts in REPORTED:
            indicator = session.exec(select(Indicator).where(Indicator.code == code)).one()
            ids[code] = indicator.id
            if (state_code, period_code) not in submissions:
                state = session.exec(select(MemberState).where(MemberState.code == state_code))
                period = session.exec(
                    select(ReportingPeriod).where(ReportingPeriod.code == period_code)
                )
                submissions[state_code, period_code] = summary_data.submission(
                    session, state.one(), period.one(), "approved", date(2026, 1, 10)
                )
            numerator, denominator = parts or (None, None)
            summary_data.value(
                session,
                indicator,
                submissions[state_code, period_code],
                number,
                numerator=numerator,
                denominator=denominator,
            )
    return ids


def _element(page: str, start: str, tag: str) -> str:
    """The element ``tag`` that holds ``start`` (for tags not nested in themselves)."""
    at = page.index(start)
    return page[page.rindex(f"<{tag}", 0, at) : page.index(f"</{tag}>", at)]


def _bar(html: str) -> tuple[str, str]:
    """(tone class, percent written) of the first progress bar in ``html``."""
    found = re.search(
        r'class="bar (bar-\w+)".*?<span class="bar-figure">([^<]*)</span>', html, re.S
    )
    assert found, html
    return found.group(1), found.group(2)


def test_every_page_rates_an_indicator_alike(seeded, reviewer_client) -> None:
    """The plan pages once summed a decrease indicator's level over periods and states (3.1.c
    showed "18 / 5" at 360%, green) while the summary said 83%, at risk."""
    ids = _report_seeded_values(seeded)
    overview = reviewer_client.get("/").get_data(as_text=True)
    summary = reviewer_client.get("/summary").get_data(as_text=True)
    for code, (figure, percent, tone, rating) in SHOWN.items():
        card = _element(overview, f'href="/indicators/{ids[code]}"', "li")
        assert re.search(rf'class="mini-figure"[^>]*>{re.escape(figure)}<', card), card
        assert _bar(card) == (tone, percent)

        page = reviewer_client.get(f"/indicators/{ids[code]}").get_data(as_text=True)
        kpis = page[page.index('class="kpis"') : page.index('id="trend-heading"')]
        achieved = figure.split(" / ")[0]
        assert f'<span class="kpi-value">{achieved}</span>' in kpis, kpis
        assert _bar(kpis) == (tone, percent)
        assert f"{rating}</span>" in kpis

        row = _element(summary, f'<span class="code">{code}</span>', "tr")
        assert _bar(row) == (tone, percent)
        assert f"{rating}</span>" in row
    # A level is labelled with its period, so that 6 is not read as a total to date.
    page = reviewer_client.get(f"/indicators/{ids['3.1.c']}").get_data(as_text=True)
    assert 'kpi-label">Latest, 2025-Q4</span>' in page
    page = reviewer_client.get(f"/indicators/{ids['1.1.a']}").get_data(as_text=True)
    assert 'kpi-label">To date</span>' in page


def test_a_level_is_averaged_over_the_states_in_the_summary_and_its_snapshot(
    seeded, reviewer_client, people
) -> None:
    """3.1.c to the end of 2025-Q3, when Thailand reported 4 days and Malaysia 8: the summary
    and the 2025-Q3 snapshot once added them up to 12 days (42%, off track); their mean is 6."""
    from tests.fixtures_accounts import csrf_of, sign_in

    ids = _report_seeded_values(seeded)
    summary = reviewer_client.get("/summary?to=2025-Q3").get_data(as_text=True)
    row = _element(summary, '<span class="code">3.1.c</span>', "tr")
    assert '<td class="num">6 <span class="muted">2025-Q3</span></td>' in row
    assert _bar(row) == ("bar-warn", "83%") and "At risk</span>" in row

    with open_session(seeded) as session:
        from app.plan.models import ReportingPeriod

        q3 = session.exec(select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")).one()
    manager = sign_in(seeded.test_client(), people.manager)
    closed = manager.post(f"/periods/{q3.id}/close", data={"csrf_token": csrf_of(manager)})
    assert closed.status_code == 303
    frozen = reviewer_client.get(f"/summary/snapshots/{q3.id}").get_data(as_text=True)
    row = _element(frozen, '<span class="code">3.1.c</span>', "tr")
    assert _bar(row) == ("bar-warn", "83%") and "At risk</span>" in row

    # The indicator's chart: 2025-Q3 is the mean of 4 and 8, 2025-Q4 Thailand's 6.
    page = reviewer_client.get(f"/indicators/{ids['3.1.c']}").get_data(as_text=True)
    assert "<title>2025-Q3: 6</title>" in page and "<title>2025-Q4: 6</title>" in page
