"""What one database accepts and the other refuses is refused plainly on both."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.db import make_engine
from app.plan.models import Initiative
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in


def test_a_log_in_with_a_nul_character_is_refused_as_malformed(client, people) -> None:
    # PostgreSQL cannot store NUL (the failed log-in is recorded for the throttle): was a 500.
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": "focal\x00@example.org", "password": "x", "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 400
    assert "could not be understood" in response.get_data(as_text=True)


def test_a_search_with_a_nul_character_is_refused_as_malformed(app, people) -> None:
    # PostgreSQL cannot even compare with NUL: the audit filter was a 500.
    admin = sign_in(app.test_client(), people.admin)
    assert admin.get("/audit?entity_type=initiative&entity_id=1").status_code == 200
    assert admin.get("/audit?entity_type=initiative&entity_id=1%00").status_code == 400


def test_the_refusal_page_still_knows_who_is_signed_in(app, people) -> None:
    reviewer = sign_in(app.test_client(), people.reviewer)
    response = reviewer.get("/my-work?x=%00")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert people.reviewer.full_name in body and "Sign out" in body
    assert ">Sign in<" not in body
    assert reviewer.get("/my-work").status_code == 200  # and the session goes on


def test_a_form_with_a_nul_character_saves_nothing(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    with open_session(app) as session:
        before = session.exec(select(Initiative).where(Initiative.code == "2.2")).one()
    response = manager.post(
        f"/initiatives/{before.id}/status",
        data={
            "status": "in_progress",
            "rag": "at_risk",
            "rag_note": "Trainer \x00 not confirmed",
            "version": str(before.version),
            "csrf_token": csrf_of(manager),
        },
    )
    assert response.status_code == 400
    with open_session(app) as session:
        after = session.get(Initiative, before.id)
    assert (after.status, after.rag_note, after.version) == (
        before.status,
        before.rag_note,
        before.version,
    )


@pytest.mark.sqlite_only
def test_sqlite_connections_check_foreign_keys_and_let_readers_work_beside_a_writer(
    database_url: str,
) -> None:
    engine = make_engine(database_url, sqlite_busy_timeout_ms=1234)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 1234
    engine.dispose()
