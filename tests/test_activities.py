"""RSO managers record delivered activities; the indicators that count them follow."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, func, select

from app.audit.models import AuditEvent
from app.plan import activities, services
from app.plan.models import Activity, ActivityParticipation, Indicator, Initiative, MemberState
from tests.conftest import open_session
from tests.fixtures_accounts import People, csrf_of, sign_in

OSINT = "2.2"  # "Deliver regional RSO OSINT training": counts courses (2.2.a) and officials (2.2.b)


def _initiative(app: Flask, code: str = OSINT) -> Initiative:
    with open_session(app) as session:
        return session.exec(select(Initiative).where(Initiative.code == code)).one()


def _state_id(app: Flask, code: str) -> int:
    with open_session(app) as session:
        return session.exec(select(MemberState.id).where(MemberState.code == code)).one()


def _counts(app: Flask) -> tuple[int, int]:
    """Activities and participation rows stored: a refused form must leave both unchanged."""
    with open_session(app) as session:
        return (
            session.exec(select(func.count()).select_from(Activity)).one(),
            session.exec(select(func.count()).select_from(ActivityParticipation)).one(),
        )


def _achieved(app: Flask, initiative: Initiative) -> dict[str, float | None]:
    with open_session(app) as session:
        indicators = list(
            session.exec(select(Indicator).where(Indicator.initiative_id == initiative.id)).all()
        )
        progress = services.indicator_progress(session, indicators, [initiative])
    return {i.code: progress[i.id].achieved for i in indicators}


def _form(app: Flask, client: FlaskClient, **overrides: object) -> dict[str, object]:
    """A valid activity form: Thailand 10 women and 12 men, Malaysia 5 of unrecorded sex."""
    data: dict[str, object] = {
        "csrf_token": csrf_of(client),
        "kind": "training_course",
        "title": "Regional OSINT course",
        "start_date": "2025-08-04",
        "end_date": "2025-08-08",
        "place": "Bangkok, Thailand",
        "summary": "Five days of open-source intelligence practice.",
        "links": "https://www.baliprocess.net/rso/osint-course\n",
        "other_participants": "3",
        "participant_total": "",
        "row_member_state_id": [str(_state_id(app, "THA")), str(_state_id(app, "MYS")), ""],
        "row_female": ["10", "", ""],
        "row_male": ["12", "", ""],
        "row_unspecified": ["", "5", ""],
    }
    data.update(overrides)
    return data


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def manager(app: Flask, people: People) -> FlaskClient:
    return sign_in(app.test_client(), people.manager)


def _record(app: Flask, client: FlaskClient, **overrides: object):
    initiative = _initiative(app)
    return client.post(
        f"/initiatives/{initiative.id}/activities/new", data=_form(app, client, **overrides)
    )


def _new_activity_id(app: Flask, title: str = "Regional OSINT course") -> int:
    with open_session(app) as session:
        return session.exec(select(Activity.id).where(Activity.title == title)).one()


def _signature_on(page: str) -> str:
    return re.search(r'name="loaded_signature" value="([0-9a-f]{64})"', page).group(1)


# Recording ---------------------------------------------------------------------------------------


def test_the_new_activity_form_offers_three_blank_participant_rows(app, manager) -> None:
    initiative = _initiative(app)
    response = manager.get(f"/initiatives/{initiative.id}/activities/new")
    page = _text(response)
    assert response.status_code == 200
    assert page.count('name="row_member_state_id"') == 3
    assert '<optgroup label="Member organisations">' in page
    assert ">Office of the United Nations High Commissioner for Refugees<" in page


def test_recording_an_activity_updates_the_indicators_computed_from_it(app, manager) -> None:
    initiative = _initiative(app)
    before = _achieved(app, initiative)

    response = _record(app, manager)

    assert response.status_code == 303
    assert response.location.endswith(f"/initiatives/{initiative.id}#activities-heading")
    after = _achieved(app, initiative)
    assert after["2.2.a"] == (before["2.2.a"] or 0) + 1  # one more training course
    assert after["2.2.b"] == (before["2.2.b"] or 0) + 10 + 12 + 5 + 3  # officials trained
    page = _text(manager.get(response.location))
    assert "Recorded the activity “Regional OSINT course”." in page
    assert "Regional OSINT course" in page and "Thailand, Malaysia" in page.replace(
        "Malaysia, Thailand", "Thailand, Malaysia"
    )
    with open_session(app) as session:
        activity = session.exec(select(Activity).where(Activity.title == "Regional OSINT course"))
        activity = activity.one()
        rows = session.exec(
            select(ActivityParticipation).where(ActivityParticipation.activity_id == activity.id)
        ).all()
    assert activity.links == "https://www.baliprocess.net/rso/osint-course"
    assert activity.other_participants == 3 and activity.participant_total is None
    figures = {(r.female, r.male, r.unspecified) for r in rows}
    assert figures == {(None, None, 5), (10, 12, None)}


def test_a_blank_end_date_means_a_one_day_activity(app, manager) -> None:
    assert _record(app, manager, end_date="").status_code == 303
    with open_session(app) as session:
        activity = session.get(Activity, _new_activity_id(app))
    assert activity.start_date == activity.end_date


def test_a_state_with_unknown_counts_still_counts_as_taking_part(app, manager) -> None:
    response = _record(
        app, manager, row_female=["", "", ""], row_male=["", "", ""], row_unspecified=["", "", ""]
    )
    assert response.status_code == 303
    with open_session(app) as session:
        rows = session.exec(
            select(ActivityParticipation).where(
                ActivityParticipation.activity_id == _new_activity_id(app)
            )
        ).all()
    assert len(rows) == 2 and all(r.female is None and r.male is None for r in rows)


# Refusing bad input ------------------------------------------------------------------------------

MYS_ROW_3 = {"row_member_state_id": ["THA", "", "MYS"]}  # codes replaced by ids in the test

BAD_INPUT = [
    ({"kind": "party"}, "kind", "choose the kind of activity: training course, regional meeting"),
    ({"title": "   "}, "title", "give the activity a title"),
    ({"title": "x" * 301}, "title", "keep the title to 300 characters or fewer (this one has 301)"),
    ({"start_date": ""}, "start_date", "give the date the activity started"),
    ({"start_date": "2025-02-30"}, "start_date", "give the start date as a real date"),
    ({"start_date": "4/8/2025"}, "start_date", "give the start date as a real date"),
    ({"end_date": "2025-08-01"}, "end_date", "the end date cannot be before the start date"),
    (
        {"start_date": "2023-12-30", "end_date": "2023-12-31"},
        "start_date",
        "the activity must fall within 1 Jan 2024 to 31 Dec 2026",
    ),
    ({"end_date": "2027-01-02"}, "end_date", "the activity must fall within 1 Jan 2024"),
    ({"place": "p" * 201}, "place", "keep the place to 200 characters or fewer"),
    # Issue 15, items 3-4: the shared field types' window, link and text rules.
    ({"start_date": "0001-01-01"}, "start_date", "enter a date between 1 Jan 2000 and 31 Dec"),
    ({"end_date": "9999-12-31"}, "end_date", "enter a date between 1 Jan 2000 and 31 Dec 2100"),
    ({"links": "http://"}, "links", "line 1 is not a web address: each link must start"),
    (
        {"links": "https://example.org/" + "a" * 481},
        "links",
        "line 1 is not a web address: keep the link to 500 characters or fewer (this one has 501)",
    ),
    ({"summary": "Bell\x01 rung"}, "summary", "contains control characters (U+0001)"),
    ({"title": "Two\nlines"}, "title", "keep the title on one line"),
    (
        {"links": "https://ok.example.org\nftp://files.example.org/x"},
        "links",
        "line 2 is not a web",
    ),
    ({"links": "www.example.org"}, "links", "must start with https:// or http://"),
    (
        {"links": "\n".join(f"https://example.org/{n}" for n in range(11))},
        "links",
        "give at most 10 links, one per line (there are 11)",
    ),
    (
        {**MYS_ROW_3, "row_female": ["1", "", "-1"], "row_male": ["", "", ""]},
        "participants_3_female",
        "participants row 3 (Malaysia): female must be a whole number 0 or more",
    ),
    (
        {**MYS_ROW_3, "row_female": ["", "", ""], "row_male": ["", "", "2.5"]},
        "participants_3_male",
        "participants row 3 (Malaysia): male must be a whole number 0 or more",
    ),
    (
        {**MYS_ROW_3, "row_unspecified": ["", "", "lots"]},
        "participants_3_unspecified",
        "participants row 3 (Malaysia): sex not recorded must be a whole number 0 or more",
    ),
    (
        {"row_member_state_id": ["MYS", "", "MYS"]},
        "participants_3_member_state_id",
        "participants row 3 (Malaysia): Malaysia is already in row 1",
    ),
    (
        {"row_member_state_id": ["THA", "MYS", "999999"]},
        "participants_3_member_state_id",
        "participants row 3: that member state is not in the list",
    ),
    (
        {"row_unspecified": ["", "5", "7"]},
        "participants_3_member_state_id",
        "participants row 3: choose the member state or organisation",
    ),
    ({"other_participants": "-2"}, "other_participants", "other participants must be a whole"),
    ({"participant_total": "12.0"}, "participant_total", "total participants must be a whole"),
    (
        {"participant_total": "20"},
        "participant_total",
        "total participants (20) cannot be less than the 30 counted by member state and as "
        "other participants",
    ),
]


def _ids_for_codes(app: Flask, overrides: dict[str, object]) -> dict[str, object]:
    rows = overrides.get("row_member_state_id")
    if rows is None:
        return overrides
    ids = [str(_state_id(app, v)) if v.isalpha() else v for v in rows]
    return {**overrides, "row_member_state_id": ids}


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_bad_input_is_refused_next_to_its_field_and_nothing_is_written(
    app, manager, overrides, field, message
) -> None:
    before = _counts(app)
    response = _record(app, manager, **_ids_for_codes(app, overrides))
    page = _text(response)
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1)
    assert f'id="{field}"' in page and 'aria-describedby="' + field + '-error"' in page
    assert _counts(app) == before


def test_every_problem_is_reported_at_once_and_what_was_typed_is_kept(app, manager) -> None:
    before = _counts(app)
    response = _record(
        app,
        manager,
        kind="",
        end_date="2025-08-01",
        links="not a link",
        place="Kuala Lumpur, Malaysia",
        summary="Notes that must survive a refusal.",
        row_female=["10", "", ""],
        row_male=["twelve", "", ""],
    )
    page = _text(response)
    assert response.status_code == 422
    assert "Please correct these 4:" in page
    for field in ("kind", "end_date", "links", "participants_1_male"):
        assert f'id="{field}-error"' in page
    assert 'value="Kuala Lumpur, Malaysia"' in page
    assert ">Notes that must survive a refusal.</textarea>" in page
    assert 'value="twelve"' in page and 'value="2025-08-01"' in page
    assert f'<option value="{_state_id(app, "THA")}" selected>Thailand</option>' in page
    assert _counts(app) == before


# Who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["focal_point", "reviewer", "admin"])
def test_only_rso_managers_record_change_or_delete_activities(app, people, who) -> None:
    client = sign_in(app.test_client(), people.by_role(who))
    initiative = _initiative(app, "1.3")
    with open_session(app) as session:
        activity_id = session.exec(
            select(Activity.id).where(Activity.initiative_id == initiative.id)
        ).first()
    before = _counts(app)
    token = csrf_of(client)
    attempts = [
        client.get(f"/initiatives/{initiative.id}/activities/new"),
        client.post(f"/initiatives/{initiative.id}/activities/new", data=_form(app, client)),
        client.get(f"/activities/{activity_id}/edit"),
        client.post(f"/activities/{activity_id}/edit", data=_form(app, client)),
        client.post(
            f"/activities/{activity_id}/delete", data={"csrf_token": token, "confirm": "yes"}
        ),
        client.post(
            "/activities/participant-row",
            data={"csrf_token": token},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        ),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert _counts(app) == before
    page = _text(client.get(f"/initiatives/{initiative.id}"))
    assert "Record an activity" not in page and f"/activities/{activity_id}/edit" not in page


def test_managers_see_record_and_edit_links_on_the_initiative_page(app, manager) -> None:
    initiative = _initiative(app, "1.3")
    page = _text(manager.get(f"/initiatives/{initiative.id}"))
    assert f'href="/initiatives/{initiative.id}/activities/new">Record an activity</a>' in page
    with open_session(app) as session:
        ids = session.exec(select(Activity.id).where(Activity.initiative_id == initiative.id))
        for activity_id in ids.all():
            assert f'href="/activities/{activity_id}/edit">Edit' in page


def test_unknown_initiatives_and_activities_are_not_found(app, manager) -> None:
    token = csrf_of(manager)
    assert manager.get("/initiatives/999999/activities/new").status_code == 404
    assert (
        manager.post("/initiatives/999999/activities/new", data={"csrf_token": token}).status_code
        == 404
    )
    assert manager.get("/activities/999999/edit").status_code == 404
    assert manager.post("/activities/999999/edit", data={"csrf_token": token}).status_code == 404
    assert manager.post("/activities/999999/delete", data={"csrf_token": token}).status_code == 404


# Editing ---------------------------------------------------------------------------------------


def _edit_form(app: Flask, client: FlaskClient, activity_id: int, **overrides: object) -> dict:
    page = _text(client.get(f"/activities/{activity_id}/edit"))
    return _form(app, client, loaded_signature=_signature_on(page), **overrides)


def test_editing_changes_the_activity_and_its_rows(app, manager) -> None:
    _record(app, manager)
    activity_id = _new_activity_id(app)
    page = _text(manager.get(f"/activities/{activity_id}/edit"))
    assert page.count('name="row_member_state_id"') == 2 + 3  # its rows plus three blank
    assert 'value="Regional OSINT course"' in page

    data = _edit_form(
        app,
        manager,
        activity_id,
        title="Regional OSINT course (Bangkok)",
        row_member_state_id=[str(_state_id(app, "THA")), str(_state_id(app, "IDN"))],
        row_female=["11", "4"],
        row_male=["12", "4"],
        row_unspecified=["", ""],
    )
    response = manager.post(f"/activities/{activity_id}/edit", data=data)

    assert response.status_code == 303
    with open_session(app) as session:
        activity = session.get(Activity, activity_id)
        rows = session.exec(
            select(MemberState.code, ActivityParticipation.female)
            .join(MemberState)
            .where(ActivityParticipation.activity_id == activity_id)
        ).all()
        actions = session.exec(
            select(AuditEvent.entity_type, AuditEvent.action).where(
                AuditEvent.action != "create",
                col(AuditEvent.entity_type).in_(["activity", "activity_participation"]),
            )
        ).all()
    assert activity.title == "Regional OSINT course (Bangkok)"
    assert sorted(rows) == [("IDN", 4), ("THA", 11)]
    assert sorted(actions) == [
        ("activity", "update"),
        ("activity_participation", "delete"),  # Malaysia
        ("activity_participation", "update"),  # Thailand's figures
    ]


def test_saving_an_unchanged_form_changes_nothing(app, manager) -> None:
    """The form a stored activity fills (a seeded one: total only, no counts) saves as it was."""
    with open_session(app) as session:
        activity_id = session.exec(
            select(Activity.id).where(Activity.participant_total.is_not(None))
        ).first()
        current = activities.load_activity(session, activity_id)
        form = activities.form_for(current)
        saved = activities.update_activity(session, activity_id, form)
        after = activities.activity_signature(activities.load_activity(session, saved.id))
        updates = session.exec(
            select(AuditEvent).where(
                AuditEvent.action != "create",
                col(AuditEvent.entity_type).in_(["activity", "activity_participation"]),
            )
        ).all()
        session.rollback()
    assert after == form.loaded_signature
    assert updates == []


def test_a_save_based_on_an_older_version_is_refused_and_keeps_what_was_typed(
    app, people, manager
) -> None:
    _record(app, manager)
    activity_id = _new_activity_id(app)
    mine = _edit_form(app, manager, activity_id, title="My title for the course")

    colleague = sign_in(app.test_client(), people.manager)
    theirs = _edit_form(app, colleague, activity_id, place="Jakarta, Indonesia")
    assert colleague.post(f"/activities/{activity_id}/edit", data=theirs).status_code == 303

    response = manager.post(f"/activities/{activity_id}/edit", data=mine)
    page = _text(response)
    assert response.status_code == 409
    assert (
        "Someone else changed this activity since you opened it; here is the newer version." in page
    )
    assert 'value="My title for the course"' in page  # what I typed
    assert "Jakarta, Indonesia" in page  # the newer version is shown
    with open_session(app) as session:
        activity = session.get(Activity, activity_id)
    assert (activity.title, activity.place) == ("Regional OSINT course", "Jakarta, Indonesia")

    # Saving again, having seen their version, replaces it on purpose.
    again = {**mine, "loaded_signature": _signature_on(page)}
    assert manager.post(f"/activities/{activity_id}/edit", data=again).status_code == 303
    with open_session(app) as session:
        assert session.get(Activity, activity_id).title == "My title for the course"


def test_an_edit_form_without_its_signature_is_refused(app, manager) -> None:
    _record(app, manager)
    activity_id = _new_activity_id(app)
    response = manager.post(f"/activities/{activity_id}/edit", data=_form(app, manager, title="X"))
    assert response.status_code == 422
    assert "The form is incomplete" in _text(response)
    with open_session(app) as session:
        assert session.get(Activity, activity_id).title == "Regional OSINT course"


# Deleting ---------------------------------------------------------------------------------------


def test_deleting_asks_first_then_removes_the_activity_and_its_rows(app, people, manager) -> None:
    initiative = _initiative(app)
    before_indicators = _achieved(app, initiative)
    _record(app, manager)
    activity_id = _new_activity_id(app)
    token = csrf_of(manager)

    asked = manager.post(f"/activities/{activity_id}/delete", data={"csrf_token": token})
    assert asked.status_code == 200
    assert "Delete this activity?" in _text(asked) and "2 member-state rows" in _text(asked)
    with open_session(app) as session:
        assert session.get(Activity, activity_id) is not None

    done = manager.post(
        f"/activities/{activity_id}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    assert done.status_code == 303
    with open_session(app) as session:
        assert session.get(Activity, activity_id) is None
        assert not session.exec(
            select(ActivityParticipation).where(ActivityParticipation.activity_id == activity_id)
        ).all()
        deletions = session.exec(
            select(AuditEvent).where(AuditEvent.action == "delete").order_by(AuditEvent.id)
        ).all()
    activity_event = next(e for e in deletions if e.entity_type == "activity")
    assert activity_event.entity_id == str(activity_id)
    assert activity_event.before["title"] == "Regional OSINT course"
    assert activity_event.actor_id == people.manager.id
    assert sum(e.entity_type == "activity_participation" for e in deletions) == 2
    assert _achieved(app, initiative) == before_indicators
    assert "Deleted the activity" in _text(manager.get(done.location))


# Adding participant rows -------------------------------------------------------------------------


def test_without_javascript_add_row_redisplays_the_form_with_one_more_row(app, manager) -> None:
    before = _counts(app)
    response = _record(app, manager, add_row="1", title="Still typing")
    page = _text(response)
    assert response.status_code == 200
    assert page.count('name="row_member_state_id"') == 4
    assert 'id="participants_4_member_state_id"' in page
    assert 'value="Still typing"' in page and 'value="10"' in page
    assert "Please correct" not in page
    assert _counts(app) == before


def test_a_form_never_grows_past_the_most_rows_it_may_hold(app, manager) -> None:
    """A post with 5,000 rows (each 'add' re-sends the page) once came back as a page of them."""
    from app.plan.activities import MAX_ROWS

    many = {f"row_{name}": [""] * 5000 for name in ("member_state_id", "female", "male")}
    added = _record(app, manager, add_row="1", row_unspecified=[""] * 5000, **many)
    assert added.status_code == 200
    assert _text(added).count('name="row_member_state_id"') == MAX_ROWS + 1  # not 5,001
    saved = _record(app, manager, row_unspecified=["1"] * 5000, **many)
    page = _text(saved)
    assert saved.status_code == 422
    assert f"give at most {MAX_ROWS} rows of participants" in page
    assert page.count('name="row_member_state_id"') == MAX_ROWS + 1


def test_add_row_on_the_edit_form_keeps_the_loaded_signature(app, manager) -> None:
    _record(app, manager)
    activity_id = _new_activity_id(app)
    data = _edit_form(app, manager, activity_id, add_row="1")
    page = _text(manager.post(f"/activities/{activity_id}/edit", data=data))
    assert page.count('name="row_member_state_id"') == 4
    assert _signature_on(page) == data["loaded_signature"]


def test_htmx_gets_one_numbered_row_to_append(app, manager) -> None:
    token = csrf_of(manager)
    response = manager.post(
        "/activities/participant-row",
        data={"row_member_state_id": ["", "", "", ""], "row_female": ["", "", "", ""]},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    body = _text(response).strip()
    assert response.status_code == 200
    assert body.startswith("<tr>") and body.endswith("</tr>") and body.count("<tr>") == 1
    assert 'id="participants_5_member_state_id"' in body and "<html" not in body


def test_the_row_fragment_needs_the_csrf_header(app, manager) -> None:
    response = manager.post("/activities/participant-row", headers={"HX-Request": "true"})
    assert response.status_code == 400
