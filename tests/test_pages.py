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
