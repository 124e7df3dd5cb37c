"""A session lasts what the configuration says (12 hours by default), counted from sign-in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.accounts.auth import SIGNED_IN_AT
from app.config import ConfigError
from app.timeutil import utcnow
from tests.fixtures_accounts import People, sign_in


def _cookie_lifetime(client) -> timedelta:
    cookie = client.get_cookie("rso_session")
    assert cookie is not None and cookie.expires is not None
    return cookie.expires - utcnow()


def _app(database_url: str, tmp_path: Path, **config) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            **config,
        }
    )


def test_by_default_the_session_cookie_expires_after_twelve_hours(app, people: People) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    lifetime = _cookie_lifetime(client)
    # Flask's own default was 31 days: the configuration's 12 hours now take effect.
    assert timedelta(hours=11, minutes=58) < lifetime <= timedelta(hours=12)


def test_the_configured_lifetime_sets_the_cookie_expiry(
    database_url: str, tmp_path: Path, people: People
) -> None:
    app = _app(database_url, tmp_path, SESSION_LIFETIME_HOURS=2)
    client = sign_in(app.test_client(), people.reviewer)
    assert timedelta(hours=1, minutes=58) < _cookie_lifetime(client) <= timedelta(hours=2)
    app.extensions["db_engine"].dispose()


def test_a_lifetime_that_is_not_a_positive_whole_number_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    for hours in (0, -3, "12"):
        with pytest.raises(ConfigError, match="SESSION_LIFETIME_HOURS"):
            _app(database_url, tmp_path, SESSION_LIFETIME_HOURS=hours)


def _signed_in_ago(client, age: timedelta) -> None:
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] = int((utcnow() - age).timestamp())


def test_a_session_older_than_the_lifetime_is_signed_out(app, people: People) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    # Busy all day: each request re-signs the cookie, but the session still ends 12 hours
    # after sign-in, on the server's word, not only the browser's.
    _signed_in_ago(client, timedelta(hours=12, seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location
    with client.session_transaction() as session:
        assert "uid" not in session
    login_page = client.get(response.location).get_data(as_text=True)
    assert "Your session has ended" in login_page
    assert client.get("/").status_code == 302  # still signed out: nothing brings it back


def test_a_session_within_the_lifetime_keeps_working(app, people: People) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    _signed_in_ago(client, timedelta(hours=11, minutes=59))
    assert client.get("/").status_code == 200


def test_a_cookie_from_before_sign_in_times_were_kept_is_signed_out(app, people: People) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    with client.session_transaction() as session:
        del session[SIGNED_IN_AT]
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location


def test_the_shorter_configured_lifetime_is_what_the_server_checks(
    database_url: str, tmp_path: Path, people: People
) -> None:
    app = _app(database_url, tmp_path, SESSION_LIFETIME_HOURS=1)
    client = sign_in(app.test_client(), people.reviewer)
    _signed_in_ago(client, timedelta(minutes=59))
    assert client.get("/").status_code == 200
    _signed_in_ago(client, timedelta(minutes=61))
    assert client.get("/").status_code == 302
    app.extensions["db_engine"].dispose()
