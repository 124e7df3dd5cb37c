"""Signing in and out, sessions that really end, the throttle, tokens, CSRF and headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlmodel import select

from app import create_app
from app.accounts import services
from app.accounts.models import AccountToken, LoginFailure, User
from app.db import unit_of_work
from app.scheduling.jobs import deliver_outbox
from app.scheduling.models import OutboxMessage
from app.timeutil import utcnow
from tests import factories
from tests.conftest import open_session
from tests.fixtures_accounts import People, csrf_of, sign_in

PASSWORD = factories.DEFAULT_PASSWORD


def _login(client, email: str, password: str):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_of(client)}
    )


def test_signing_in_starts_a_new_session(client, people: People) -> None:
    client.get("/login")
    with client.session_transaction() as before:
        before["sid"] = "planted-by-an-attacker"
    response = _login(client, people.reviewer.email, PASSWORD)
    assert response.status_code == 302
    with client.session_transaction() as after:
        assert after["uid"] == people.reviewer.id
        assert after["sid"] != "planted-by-an-attacker"
    assert "RSO Work Plan 2024-2026" in client.get("/").get_data(as_text=True)


def test_the_session_cookie_is_httponly_and_lax(client, people: People) -> None:
    client.get("/login")
    response = _login(client, people.reviewer.email, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("rso_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_over_https_the_cookie_is_secure_with_the_host_prefix(database_url: str, people) -> None:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SESSION_COOKIE_SECURE": True,
            "SECRET_KEY": "k",
            "TESTING": True,
        }
    )
    client = app.test_client()
    client.get("/login", base_url="https://localhost")
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={"email": people.reviewer.email, "password": PASSWORD, "csrf_token": csrf_of(client)},
    )
    assert response.headers["Set-Cookie"].startswith("__Host-rso_session=")
    assert "Secure" in response.headers["Set-Cookie"]
    app.extensions["db_engine"].dispose()


def test_wrong_password_and_unknown_user_get_the_same_refusal(client, people) -> None:
    client.get("/login")
    wrong = _login(client, people.reviewer.email, "not the password at all")
    unknown = _login(client, "nobody@example.org", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "do not match an active account" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "uid" not in session


def test_a_cookie_captured_before_sign_out_does_not_work_after(app, people) -> None:
    victim = sign_in(app.test_client(), people.reviewer)
    captured = victim.get_cookie("rso_session").value
    victim.post("/logout", data={"csrf_token": csrf_of(victim)})

    thief = app.test_client()
    thief.set_cookie("rso_session", captured)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.location


def _change_password(client, current: str, new: str):
    """The change-password form, sent by a signed-in client with the new password twice."""
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "repeat_password": new,
            "csrf_token": csrf_of(client),
        },
    )


def test_changing_the_password_ends_other_sessions(app, people) -> None:
    laptop = sign_in(app.test_client(), people.reviewer)
    phone = sign_in(app.test_client(), people.reviewer)
    new = "a much longer new passphrase"
    response = _change_password(laptop, PASSWORD, new)
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200  # the browser that changed it stays in
    assert phone.get("/").status_code == 302  # every other session is over
    assert _login(app.test_client(), people.reviewer.email, new).status_code == 302


def test_password_change_explains_each_problem(app, people) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    response = _change_password(client, "wrong", "short")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "this is not your current password" in body
    assert "use at least 12 characters" in body


def test_disabling_a_user_ends_their_session(app, people) -> None:
    reviewer = sign_in(app.test_client(), people.reviewer)
    admin = sign_in(app.test_client(), people.admin)
    response = admin.post(
        f"/admin/users/{people.reviewer.id}",
        data={
            "full_name": people.reviewer.full_name,
            "roles": ["reviewer"],
            "csrf_token": csrf_of(admin),
        },
    )  # is_active unticked
    assert response.status_code == 302
    assert reviewer.get("/").status_code == 302
    client = app.test_client()
    client.get("/login")
    assert _login(client, people.reviewer.email, PASSWORD).status_code == 401


def _set_active(admin_client, user: User, active: bool, roles: list[str]):
    data = {"full_name": user.full_name, "roles": roles, "csrf_token": csrf_of(admin_client)}
    if active:
        data["is_active"] = "on"
    response = admin_client.post(f"/admin/users/{user.id}", data=data)
    assert response.status_code == 302
    return response


def test_disabling_a_user_revokes_their_reset_and_invitation_links(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    reset = _reset_link(admin, people.reviewer)
    invitation = _invite(app, admin, "newcomer@example.org")
    someone_elses = _reset_link(admin, people.manager)
    with open_session(app) as session:
        newcomer = session.exec(select(User).where(User.email == "newcomer@example.org")).one()

    _set_active(admin, people.reviewer, False, ["reviewer"])
    _set_active(admin, newcomer, False, ["reviewer"])
    refused = app.test_client().get(reset)
    assert refused.status_code == 400
    # Enabled again, the account does not bring the links sent before back to life.
    _set_active(admin, people.reviewer, True, ["reviewer"])
    _set_active(admin, newcomer, True, ["reviewer"])
    for link in (reset, invitation):
        _assert_revoked(app, link)
    assert (
        _login(app.test_client(), people.reviewer.email, "an attacker's passphrase").status_code
        == 401
    )
    assert app.test_client().get(someone_elses).status_code == 200  # only the disabled users'
    with open_session(app) as session:
        tokens = session.exec(
            select(AccountToken).where(AccountToken.user_id == people.reviewer.id)
        ).all()
    assert [token.used_at for token in tokens] == [None]  # expired, kept on record, never "used"
    assert all(token.expires_at <= utcnow() for token in tokens)


def test_the_throttle_holds_across_workers(database_url: str, people) -> None:
    # Two app instances on one database stand for two gunicorn workers.
    workers = [
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k", "TESTING": True})
        for _ in range(2)
    ]
    for attempt in range(services.MAX_FAILURES_PER_ACCOUNT):
        client = workers[attempt % 2].test_client()
        client.get("/login")
        assert _login(client, people.reviewer.email, "wrong guess").status_code == 401
    client = workers[0].test_client()
    client.get("/login")
    refused = _login(client, people.reviewer.email, PASSWORD)
    assert refused.status_code == 401
    assert "Too many failed log-ins" in refused.get_data(as_text=True)
    for worker in workers:
        worker.extensions["db_engine"].dispose()


def test_the_throttle_forgets_old_failures(app: Flask, people) -> None:
    with app.app_context(), unit_of_work() as session:
        for _ in range(services.MAX_FAILURES_PER_ACCOUNT):
            session.add(
                LoginFailure(
                    throttle_key=f"account:{people.reviewer.email}",
                    failed_at=utcnow() - timedelta(minutes=16),
                )
            )
    client = app.test_client()
    client.get("/login")
    assert _login(client, people.reviewer.email, PASSWORD).status_code == 302


def _invite(app: Flask, admin_client, email: str = "new.person@example.org") -> str:
    response = admin_client.post(
        "/admin/users",
        data={
            "email": email,
            "full_name": "New Person",
            "roles": ["reviewer"],
            "csrf_token": csrf_of(admin_client),
        },
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    start = body.index("/account/set-password/")
    return body[start : body.index('"', start)]


def test_an_invitation_link_works_once(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    link = _invite(app, admin)
    newcomer = app.test_client()
    assert newcomer.get(link).status_code == 200
    new = "my very own passphrase"
    response = newcomer.post(
        link, data={"new_password": new, "repeat_password": new, "csrf_token": csrf_of(newcomer)}
    )
    assert response.status_code == 302
    assert newcomer.get("/").status_code == 200
    again = app.test_client().get(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_with_mail_configured_the_invitation_is_also_emailed(app, people, smtp) -> None:
    admin = sign_in(app.test_client(), people.admin)
    link = _invite(app, admin)
    page = admin.get("/admin/users")  # the admin's session still works after the mail step
    assert page.status_code == 200
    assert smtp.messages == []  # queued by the request, sent by the scheduler process
    deliver_outbox(app)
    [message] = smtp.messages
    assert message["To"].addresses[0].addr_spec == "new.person@example.org"
    assert "invited" in message["Subject"]
    assert link in message.get_content()
    with open_session(app) as session:
        [stored] = session.exec(select(OutboxMessage)).all()
    assert stored.status == "sent" and stored.kind == "account_link"
    assert link not in stored.body_text  # the sent link does not stay in the database


def test_without_mail_the_link_is_only_shown_and_nothing_is_kept_in_the_outbox(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    _invite(app, admin)
    with open_session(app) as session:
        assert session.exec(select(OutboxMessage)).all() == []


def _reset_link(admin_client, user: User) -> str:
    response = admin_client.post(
        f"/admin/users/{user.id}/reset-link", data={"csrf_token": csrf_of(admin_client)}
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    start = body.index("/account/set-password/")
    return body[start : body.index('"', start)]


def _redeem(client, link: str, password: str):
    return client.post(
        link,
        data={"new_password": password, "repeat_password": password, "csrf_token": csrf_of(client)},
    )


def _assert_revoked(app: Flask, link: str) -> None:
    """The link is refused, on sight and on use, and setting a password through it fails."""
    page = app.test_client().get(link)
    assert page.status_code == 400
    assert "no longer valid" in page.get_data(as_text=True)
    assert _redeem(app.test_client(), link, "an attacker's passphrase").status_code == 400


def test_redeeming_a_link_revokes_the_users_other_links(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    older, newer = _reset_link(admin, people.reviewer), _reset_link(admin, people.reviewer)
    someone_elses = _reset_link(admin, people.manager)
    assert _redeem(app.test_client(), newer, "the reviewer's new passphrase").status_code == 302
    _assert_revoked(app, older)
    assert (
        _login(app.test_client(), people.reviewer.email, "an attacker's passphrase").status_code
        == 401
    )
    assert (
        _login(
            app.test_client(), people.reviewer.email, "the reviewer's new passphrase"
        ).status_code
        == 302
    )
    assert app.test_client().get(someone_elses).status_code == 200  # only the reviewer's links


def test_changing_the_password_revokes_unused_links(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    link = _reset_link(admin, people.reviewer)
    reviewer = sign_in(app.test_client(), people.reviewer)
    new = "a much longer new passphrase"
    response = _change_password(reviewer, PASSWORD, new)
    assert response.status_code == 302
    _assert_revoked(app, link)
    assert _login(app.test_client(), people.reviewer.email, new).status_code == 302


def _lock_out(app: Flask, user: User) -> None:
    """Fail to log in until the throttle refuses the account, as the tester did (six tries)."""
    client = app.test_client()
    client.get("/login")
    for _ in range(services.MAX_FAILURES_PER_ACCOUNT + 1):
        assert _login(client, user.email, "a wrong guess at it").status_code == 401
    refused = _login(client, user.email, PASSWORD)
    assert "Too many failed log-ins" in refused.get_data(as_text=True)


def _failures(app: Flask) -> dict[str, int]:
    with open_session(app) as session:
        keys = session.exec(select(LoginFailure.throttle_key)).all()
    return {key: keys.count(key) for key in set(keys)}


def test_a_reset_link_lifts_the_lockout_of_that_account_only(app, people) -> None:
    _lock_out(app, people.reviewer)
    _lock_out(app, people.manager)
    admin = sign_in(app.test_client(), people.admin)  # before the address counter fills up
    link = _reset_link(admin, people.reviewer)
    assert _redeem(app.test_client(), link, "the reviewer's new passphrase").status_code == 302

    limit = services.MAX_FAILURES_PER_ACCOUNT
    # The address counter is not the account's to clear: it guards every other account.
    assert _failures(app) == {"account:manager@example.org": limit, "address:127.0.0.1": 2 * limit}
    new = _login(app.test_client(), people.reviewer.email, "the reviewer's new passphrase")
    assert new.status_code == 302
    assert "Too many" in _login(app.test_client(), people.manager.email, PASSWORD).text


def test_changing_the_password_lifts_the_lockout_count(app, people) -> None:
    reviewer = sign_in(app.test_client(), people.reviewer)  # still signed in on one device
    client = app.test_client()
    client.get("/login")
    for _ in range(services.MAX_FAILURES_PER_ACCOUNT - 1):  # one short of the lockout
        assert _login(client, people.reviewer.email, "a wrong guess at it").status_code == 401
    new = "a much longer new passphrase"
    response = _change_password(reviewer, PASSWORD, new)
    assert response.status_code == 302
    assert "account:reviewer@example.org" not in _failures(app)
    assert _login(app.test_client(), people.reviewer.email, new).status_code == 302


def test_the_current_password_check_is_throttled_like_log_in(app, people) -> None:
    # Someone at a browser left signed in guesses at the password through the change page.
    reviewer = sign_in(app.test_client(), people.reviewer)
    new = "a much longer new passphrase"
    for _ in range(services.MAX_FAILURES_PER_ACCOUNT):
        wrong = _change_password(reviewer, "a wrong guess at it", new)
        assert wrong.status_code == 422
        assert "this is not your current password" in wrong.text
    limit = services.MAX_FAILURES_PER_ACCOUNT
    # The same counters as log-in: the account's and the address's.
    assert _failures(app) == {"account:reviewer@example.org": limit, "address:127.0.0.1": limit}

    refused = _change_password(reviewer, PASSWORD, new)  # even the right password
    assert refused.status_code == 429
    assert "Too many failed log-ins" in refused.text
    assert _failures(app)["account:reviewer@example.org"] == limit  # a refusal is not a guess
    assert (
        "Too many failed log-ins" in _login(app.test_client(), people.reviewer.email, PASSWORD).text
    )
    assert _login(app.test_client(), people.reviewer.email, new).status_code == 401  # unchanged


def test_a_log_in_lockout_also_closes_the_change_page(app, people) -> None:
    reviewer = sign_in(app.test_client(), people.reviewer)
    _lock_out(app, people.reviewer)
    refused = _change_password(reviewer, PASSWORD, "a much longer new passphrase")
    assert refused.status_code == 429
    assert "Too many failed log-ins" in refused.text


def test_an_expired_link_is_refused(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    link = _invite(app, admin)
    with app.app_context(), unit_of_work() as session:
        for token in session.exec(select(AccountToken)).all():
            token.expires_at = utcnow() - timedelta(seconds=1)
            session.add(token)
    response = app.test_client().get(link)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert app.test_client().get("/account/set-password/forged").status_code == 400


def test_only_a_hash_of_the_token_is_stored(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    secret = _invite(app, admin).rsplit("/", 1)[1]
    with open_session(app) as session:
        stored = session.exec(select(AccountToken.token_hash)).all()
    assert secret not in stored and len(stored) == 1


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    for headers, data in [
        ({}, {}),
        ({}, {"csrf_token": "wrong"}),
        ({"HX-Request": "true", "X-CSRF-Token": "wrong"}, {}),
    ]:
        response = admin.post(
            "/admin/users",
            headers=headers,
            data={"email": "sneaky@example.org", "full_name": "Sneaky", "roles": ["admin"], **data},
        )
        assert response.status_code == 400
        assert "Reload the page" in response.get_data(as_text=True)
    with open_session(app) as session:
        assert session.exec(select(User).where(User.email == "sneaky@example.org")).first() is None


def test_an_htmx_post_with_the_header_token_is_accepted(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    response = admin.post(
        "/admin/users",
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(admin)},
        data={"email": "htmx@example.org", "full_name": "Via htmx", "roles": ["reviewer"]},
    )
    assert response.status_code == 200


def test_a_cross_site_origin_is_refused(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    response = admin.post(
        "/admin/users",
        headers={"Origin": "https://evil.example"},
        data={
            "email": "x@example.org",
            "full_name": "X",
            "roles": ["reviewer"],
            "csrf_token": csrf_of(admin),
        },
    )
    assert response.status_code == 400
    assert "another site" in response.get_data(as_text=True)


def test_security_headers(app, people) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_refusal_to_htmx_is_a_visible_fragment(app, people) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    response = client.get("/admin/users", headers={"HX-Request": "true"})
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="error-box" role="alert">')
    assert "You do not have permission" in body


def test_anonymous_htmx_requests_are_sent_to_the_login_page(client) -> None:
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_after_sign_in_only_local_next_addresses_are_followed(client, people) -> None:
    client.get("/login")
    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": people.reviewer.email, "password": PASSWORD, "csrf_token": csrf_of(client)},
    )
    assert response.location == "/summary"  # the reviewer's home, never the other site


@pytest.mark.parametrize("target", ["/\\evil.example", "/%09/evil.example", "/\t/evil.example"])
def test_after_sign_in_a_next_address_a_browser_reads_as_another_site_is_ignored(
    client, people, target: str
) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": people.reviewer.email, "password": PASSWORD, "csrf_token": csrf_of(client)},
    )
    assert response.location == "/summary"


def test_a_focal_point_sees_only_their_own_states_values(app, people) -> None:
    from app.plan.models import Indicator, IndicatorReportingState, ReportingPeriod
    from app.progress.services import ValueInput, record_indicator_value

    with app.app_context(), unit_of_work() as session:
        indicator = session.exec(
            select(Indicator)
            .join(IndicatorReportingState)
            .where(
                Indicator.unit == "number",
                IndicatorReportingState.member_state_id == people.thailand.id,
            )
        ).first()
        for state in (people.thailand, people.malaysia):
            if session.get(IndicatorReportingState, (indicator.id, state.id)) is None:
                session.add(
                    IndicatorReportingState(indicator_id=indicator.id, member_state_id=state.id)
                )
        session.flush()
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q2")
        ).one()
        for state, value in ((people.thailand, 7), (people.malaysia, 4242)):
            record_indicator_value(
                session, ValueInput(indicator.id, period.id, state.id, value=value), source="web"
            )
    thai = sign_in(app.test_client(), people.focal_point)
    page = thai.get(f"/indicators/{indicator.id}").get_data(as_text=True)
    assert ">Thailand</th>" in page and ">Malaysia</th>" not in page
    assert "4,242" not in page.split("Values by period and member state")[1]
    manager = sign_in(app.test_client(), people.manager)
    assert ">Malaysia</th>" in manager.get(f"/indicators/{indicator.id}").get_data(as_text=True)
