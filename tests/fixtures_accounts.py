"""Fixtures for users, roles and signing in (kept apart from the database fixtures)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from app.accounts.models import User
from app.db import unit_of_work
from app.plan.models import MemberState
from tests import factories


@dataclass
class People:
    admin: User
    manager: User  # role rso_manager
    focal_point: User  # reports for Thailand
    other_focal_point: User  # reports for Malaysia
    reviewer: User
    thailand: MemberState
    malaysia: MemberState

    def by_role(self, role: str) -> User:
        return getattr(self, role)


@pytest.fixture
def people(seeded: Flask) -> People:
    """One user per role on top of the seeded plan, committed."""
    with seeded.app_context(), unit_of_work() as session:
        thailand = session.exec(select(MemberState).where(MemberState.code == "THA")).one()
        malaysia = session.exec(select(MemberState).where(MemberState.code == "MYS")).one()
        return People(
            admin=factories.make_user(session, ["admin"], email="admin@example.org"),
            manager=factories.make_user(session, ["rso_manager"], email="manager@example.org"),
            focal_point=factories.make_user(
                session, ["focal_point"], thailand, email="focal.tha@example.org"
            ),
            other_focal_point=factories.make_user(
                session, ["focal_point"], malaysia, email="focal.mys@example.org"
            ),
            reviewer=factories.make_user(session, ["reviewer"], email="reviewer@example.org"),
            thailand=thailand,
            malaysia=malaysia,
        )


def sign_in(client: FlaskClient, user: User) -> FlaskClient:
    """Sign in through the real form, as a person would."""
    with client.session_transaction():
        pass
    page = client.get("/login")
    token = _csrf_from(page.get_data(as_text=True))
    response = client.post(
        "/login",
        data={"email": user.email, "csrf_token": token, "password": factories.DEFAULT_PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def _csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's current session."""
    with client.session_transaction() as session:
        if "csrf" not in session:
            session["csrf"] = "test-csrf-token-" + "x" * 20
        return session["csrf"]


@pytest.fixture
def reviewer_client(client: FlaskClient, people: People) -> FlaskClient:
    return sign_in(client, people.reviewer)
