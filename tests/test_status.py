"""RSO managers change an initiative's status in place; every change is kept."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.plan.models import Initiative, InitiativeStatusChange
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in


def _initiative(app, code: str = "2.2") -> Initiative:
    with open_session(app) as session:
        return session.exec(select(Initiative).where(Initiative.code == code)).one()


def _change(client, initiative: Initiative, htmx: bool = True, **fields):
    data = {
        "status": "in_progress",
        "rag": "at_risk",
        "rag_note": "Trainer not yet confirmed",
        "version": str(initiative.version),
        "csrf_token": csrf_of(client),
        **fields,
    }
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/initiatives/{initiative.id}/status", data=data, headers=headers)


def test_an_htmx_status_change_returns_the_updated_cell(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    initiative = _initiative(app)
    response = _change(manager, initiative)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<div class="status-cell" id="status-{initiative.id}">')
    assert "At risk" in body and "Trainer not yet confirmed" in body and "Saved." in body
    assert f'name="version" value="{initiative.version + 1}"' in body

    after = _initiative(app)
    assert (after.status, after.rag, after.version) == (
        "in_progress",
        "at_risk",
        initiative.version + 1,
    )
    with open_session(app) as session:
        history = session.exec(
            select(InitiativeStatusChange)
            .where(InitiativeStatusChange.initiative_id == initiative.id)
            .order_by(InitiativeStatusChange.id)
        ).all()
        audit = session.exec(
            select(AuditEvent).where(
                AuditEvent.entity_type == "initiative", AuditEvent.action == "update"
            )
        ).one()
    assert [(h.previous_status, h.status, h.changed_by_id) for h in history][-1] == (
        initiative.status,
        "in_progress",
        people.manager.id,
    )
    assert audit.before["rag"] == initiative.rag and audit.after["rag"] == "at_risk"
    page = manager.get(f"/initiatives/{initiative.id}").get_data(as_text=True)
    assert "Trainer not yet confirmed" in page and people.manager.full_name in page


def test_on_the_initiative_page_the_timeline_is_swapped_too(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    initiative = _initiative(app)
    from_plan = _change(manager, initiative, next="/").get_data(as_text=True)
    assert "hx-swap-oob" not in from_plan  # the overview has no timeline to update

    initiative = _initiative(app)
    page = f"/initiatives/{initiative.id}"
    body = _change(manager, initiative, next=page, rag_note="Venue confirmed").get_data(
        as_text=True
    )
    timeline = body[body.index(f'id="status-history-{initiative.id}"') :]
    assert 'hx-swap-oob="true"' in timeline
    assert timeline.index("Venue confirmed") < timeline.index("Trainer not yet confirmed")


def test_a_long_status_history_shows_the_latest_and_says_so(app, people) -> None:
    from app.db import unit_of_work
    from app.plan.services import HISTORY_SHOWN

    initiative = _initiative(app)
    with app.app_context(), unit_of_work() as session:
        for n in range(HISTORY_SHOWN + 5):
            session.add(
                InitiativeStatusChange(
                    initiative_id=initiative.id,
                    status="in_progress",
                    rag="on_track",
                    note=f"weekly check {n}",
                )
            )
    page = sign_in(app.test_client(), people.reviewer).get(f"/initiatives/{initiative.id}")
    body = page.get_data(as_text=True)
    assert body.count("weekly check") == HISTORY_SHOWN
    assert f"The latest {HISTORY_SHOWN} of" in body


def test_without_javascript_the_form_redirects_back(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    initiative = _initiative(app)
    response = _change(manager, initiative, htmx=False, next="/")
    assert response.status_code == 303 and response.location == "/"
    assert "saved" in manager.get("/").get_data(as_text=True)


# What a browser (or a second decoding) turns into another site: "//evil.example".
OFF_SITE = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\\evil.example",
    "//evil.example",
    "https://evil.example/",
    "/%09/evil.example",
    "/%2F/evil.example",
    "/%5C/evil.example",
    "/\x7f/evil.example",
    "javascript:alert(1)",
    "evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_form_never_redirects_off_the_site(app, people, target: str) -> None:
    manager = sign_in(app.test_client(), people.manager)
    initiative = _initiative(app)
    response = _change(manager, initiative, htmx=False, next=target, rag_note="Moved on")
    assert response.status_code == 303
    assert response.location == f"/initiatives/{initiative.id}"  # its own page instead
    assert _initiative(app).rag_note == "Moved on"  # the change itself is saved


def test_the_form_returns_to_a_page_with_its_query(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    response = _change(manager, _initiative(app), htmx=False, next="/summary?period=2025-Q2")
    assert response.location == "/summary?period=2025-Q2"


def test_a_stale_save_gets_a_conflict_and_keeps_what_was_typed(app, people) -> None:
    first = sign_in(app.test_client(), people.manager)
    second = sign_in(app.test_client(), people.manager)
    initiative = _initiative(app)
    assert _change(first, initiative, rag="on_track", rag_note="All good").status_code == 200
    clash = _change(second, initiative, rag="off_track", rag_note="Venue cancelled")
    body = clash.get_data(as_text=True)
    assert clash.status_code == 409
    assert "Someone else changed this status" in body
    assert "All good" in body  # the newer status is shown
    assert 'value="Venue cancelled"' in body  # and what the second person typed is kept
    assert _initiative(app).rag == "on_track"


def test_concurrent_saves_have_exactly_one_winner(app, people) -> None:
    initiative = _initiative(app)
    clients = [sign_in(app.test_client(), people.manager) for _ in range(6)]
    results: list[int] = []
    barrier = threading.Barrier(len(clients))

    def save(client, n: int) -> None:
        barrier.wait()
        results.append(_change(client, initiative, rag_note=f"attempt {n}").status_code)

    threads = [threading.Thread(target=save, args=(c, n)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [409] * 5
    assert _initiative(app).version == initiative.version + 1


def test_an_unknown_status_is_refused_plainly(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    initiative = _initiative(app)
    response = _change(manager, initiative, status="finished")
    assert response.status_code == 422
    assert "choose planned, in progress, completed or cancelled" in response.get_data(as_text=True)
    assert _initiative(app).status == initiative.status


def test_reviewers_see_the_status_but_no_form(app, people) -> None:
    reviewer = sign_in(app.test_client(), people.reviewer)
    page = reviewer.get(f"/initiatives/{_initiative(app).id}").get_data(as_text=True)
    assert 'class="status-cell"' in page and "Save status" not in page


def test_statuses_move_forward_or_to_cancelled_and_cancelled_is_final(app, people) -> None:
    """planned -> in progress -> completed, or cancelled from any of these (DOMAIN.md)."""
    manager = sign_in(app.test_client(), people.manager)
    initiative = _initiative(app, "2.4")
    assert initiative.status == "planned"
    form = manager.get(f"/initiatives/{initiative.id}").get_data(as_text=True)
    assert 'value="completed"' in form and 'value="cancelled"' in form

    assert _change(manager, initiative, status="completed").status_code == 200
    completed = _initiative(app, "2.4")
    back = _change(manager, completed, status="in_progress")
    assert back.status_code == 422
    assert "an initiative completed cannot go back to in progress" in back.get_data(as_text=True)
    assert _initiative(app, "2.4").status == "completed"

    assert _change(manager, completed, status="cancelled").status_code == 200
    cancelled = _initiative(app, "2.4")
    form = manager.get(f"/initiatives/{cancelled.id}").get_data(as_text=True)
    select_box = form[form.index(f'id="status-select-{cancelled.id}"') :]
    select_box = select_box[: select_box.index("</select>")]
    assert select_box.count("<option") == 1 and 'value="cancelled"' in select_box
    again = _change(manager, cancelled, status="planned")
    assert again.status_code == 422
    assert "a cancelled initiative stays cancelled" in again.get_data(as_text=True)
    # The RAG rating and note still change on a cancelled initiative.
    noted = _change(manager, cancelled, status="cancelled", rag="off_track", rag_note="Dropped")
    assert noted.status_code == 200 and _initiative(app, "2.4").rag_note == "Dropped"
