"""End to end: an RSO manager signs in and changes an initiative's status in place (htmx)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from app.plan.models import Initiative, InitiativeStatusChange
from tests.browser.conftest import add_person, sign_in_through_the_form

pytestmark = pytest.mark.browser

MANAGER = "e2e.manager@example.org"
CODE = "2.4"  # an initiative no other browser test changes


def _initiative(live_server) -> Initiative:
    with Session(live_server.app.extensions["db_engine"]) as session:
        return session.exec(select(Initiative).where(Initiative.code == CODE)).one()


def test_a_manager_changes_a_status_inline_and_it_is_saved(signed_out, live_server) -> None:
    add_person(live_server, MANAGER, ["rso_manager"])
    before = _initiative(live_server)
    sign_in_through_the_form(signed_out, MANAGER)
    signed_out.goto(f"/initiatives/{before.id}")
    page = signed_out.page
    # A mark on this document: a full reload would lose it, an htmx swap keeps it.
    page.evaluate("window.rsoSameDocument = 'yes'")
    cell = page.locator(f"#status-{before.id}")
    cell.get_by_label("Status", exact=True).select_option("completed")
    cell.get_by_label("RAG rating").select_option("at_risk")
    cell.get_by_label("Note").fill("Final report awaited from the Secretariat")

    with page.expect_response(lambda r: r.url.endswith(f"/initiatives/{before.id}/status")) as sent:
        cell.get_by_role("button", name="Save status").click()

    response = sent.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true"
    assert response.request.headers.get("x-csrf-token")
    expect(cell.get_by_role("status")).to_have_text("Saved.")
    expect(cell.locator(".status-line")).to_contain_text("Final report awaited")
    expect(cell.get_by_label("Status", exact=True)).to_have_value("completed")
    assert page.evaluate("window.rsoSameDocument") == "yes"
    assert page.url == signed_out.server.at(f"/initiatives/{before.id}")

    after = _initiative(live_server)
    assert (after.status, after.rag, after.rag_note) == (
        "completed",
        "at_risk",
        "Final report awaited from the Secretariat",
    )
    assert after.version == before.version + 1
    with Session(live_server.app.extensions["db_engine"]) as session:
        latest = session.exec(
            select(InitiativeStatusChange)
            .where(InitiativeStatusChange.initiative_id == before.id)
            .order_by(InitiativeStatusChange.id.desc())  # type: ignore[union-attr]
        ).first()
    assert latest is not None and latest.status == "completed"
