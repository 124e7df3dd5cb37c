"""Mail leaves only through the outbox: requests queue, the scheduler process delivers."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlmodel import select

from app.accounts import link_mail, services
from app.accounts.link_mail import queue_link
from app.accounts.models import AccountToken, User
from app.db import unit_of_work
from app.scheduling import mail
from app.scheduling.jobs import deliver_outbox, run_job
from app.scheduling.models import OutboxMessage
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in

LINK_START = "/account/set-password/"


def _messages(app: Flask) -> list[OutboxMessage]:
    with open_session(app) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def _shown_link(body: str) -> str:
    start = body.index('value="', body.index('aria-label="Link to send"') - 200) + len('value="')
    return body[start : body.index('"', start)]


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _invite(admin, email: str = "new.person@example.org"):
    return admin.post(
        "/admin/users",
        data={
            "email": email,
            "full_name": "New Person",
            "roles": ["reviewer"],
            "csrf_token": csrf_of(admin),
        },
    )


def test_a_silent_mail_server_never_holds_up_a_request(app, people, silent_smtp) -> None:
    admin = sign_in(app.test_client(), people.admin)
    app.config["SMTP_TIMEOUT"] = 30  # a request that talked to this server would hang 30 s

    reset, seconds = _timed(
        lambda: admin.post(
            f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)}
        )
    )
    assert reset.status_code == 200 and seconds < 2
    page = reset.get_data(as_text=True)
    assert LINK_START in _shown_link(page)
    assert "queued for e-mail to reviewer@example.org" in page

    invite, seconds = _timed(lambda: _invite(admin))
    assert invite.status_code == 200 and seconds < 2
    assert LINK_START in _shown_link(invite.get_data(as_text=True))

    run_now, seconds = _timed(
        lambda: admin.post("/admin/jobs/reminders/run", data={"csrf_token": csrf_of(admin)})
    )
    assert run_now.status_code == 303 and seconds < 2
    assert silent_smtp.connections == []  # no request opened a connection to the server
    assert [m.status for m in _messages(app)] == ["pending", "pending"]


def test_delivery_to_a_silent_server_gives_up_after_the_timeout_and_retries_later(
    app, people, silent_smtp
) -> None:
    admin = sign_in(app.test_client(), people.admin)
    admin.post(f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)})
    started = time.monotonic()
    result = deliver_outbox(app)  # as the scheduler process does, with SMTP_TIMEOUT=1
    assert time.monotonic() - started < 5  # one try, bounded by the timeout, no in-run retries
    assert (result.sent, result.failed, result.deferred) == (0, 0, 1)
    [message] = _messages(app)
    assert message.status == "pending"  # not stuck "sending": it is tried again later
    assert message.attempts == 1 and message.next_attempt_at > datetime.now(UTC)
    assert "did not answer within 1 s" in message.last_error
    assert LINK_START in message.body_text  # still to be sent: the link stays until then


def test_a_server_silent_after_taking_the_message_never_gets_it_twice(
    app, people, smtp_silent_after_message
) -> None:
    """Once the whole message is handed over, a timeout means "may have been sent"."""
    admin = sign_in(app.test_client(), people.admin)
    admin.post(f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)})
    result = deliver_outbox(app)
    assert (result.sent, result.failed, result.deferred) == (0, 1, 0)
    assert smtp_silent_after_message.messages_received == 1
    [message] = _messages(app)
    assert (message.status, message.attempts) == ("failed", 1)
    assert message.last_error == mail.INTERRUPTED_NOTE
    assert "may have been sent" in message.last_error and "before resending" in message.last_error
    assert LINK_START not in message.body_text  # given up: its link is removed
    with app.app_context(), unit_of_work() as session:  # even once any back-off has passed
        session.get(OutboxMessage, message.id).next_attempt_at = datetime(2000, 1, 1, tzinfo=UTC)
    assert deliver_outbox(app).failed == 0
    assert smtp_silent_after_message.messages_received == 1


def test_a_server_silent_before_the_message_leaves_it_pending(app, people, silent_smtp) -> None:
    """Nothing was handed over (no greeting even): safe to try again later."""
    admin = sign_in(app.test_client(), people.admin)
    admin.post(f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)})
    deliver_outbox(app)
    [message] = _messages(app)
    assert message.status == "pending" and message.last_error != mail.INTERRUPTED_NOTE


def test_a_link_is_queued_in_the_requests_transaction_and_a_rollback_leaves_no_mail(
    app, people, smtp
) -> None:
    with pytest.raises(RuntimeError), app.test_request_context(), unit_of_work() as session:
        user = session.get(User, people.reviewer.id)
        assert queue_link(session, app.config, user, "password reset", "http://x/y")
        raise RuntimeError("the request failed after queuing")
    assert _messages(app) == []


def test_without_smtp_no_link_is_queued_and_the_page_says_mail_is_not_configured(
    app, people
) -> None:
    admin = sign_in(app.test_client(), people.admin)
    page = admin.post(
        f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)}
    ).get_data(as_text=True)
    assert "Mail is not configured" in page and LINK_START in _shown_link(page)
    assert _messages(app) == []


def test_a_sent_link_is_removed_from_the_stored_message(app, people, smtp) -> None:
    admin = sign_in(app.test_client(), people.admin)
    page = admin.post(
        f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)}
    ).get_data(as_text=True)
    link = _shown_link(page)
    deliver_outbox(app)
    [sent] = smtp.messages
    assert link in sent.get_content()
    [stored] = _messages(app)
    assert stored.status == "sent" and link not in stored.body_text
    assert mail.LINK_REMOVED in stored.body_text and "Dear" in stored.body_text


def test_a_link_refused_for_good_is_removed_too(app, people, smtp) -> None:
    smtp.handler.replies = ["550 No such user here"]
    admin = sign_in(app.test_client(), people.admin)
    admin.post(f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)})
    deliver_outbox(app)
    [stored] = _messages(app)
    assert stored.status == "failed" and LINK_START not in stored.body_text


@pytest.mark.parametrize("public_url", ["https://tracker.example.org/", ""])
def test_a_forged_host_header_never_reaches_a_link(app, people, smtp, public_url) -> None:
    app.config["PUBLIC_URL"] = public_url
    expected = (public_url or mail.DEFAULT_PUBLIC_URL).rstrip("/") + LINK_START
    admin = sign_in(app.test_client(), people.admin)
    # The admin's own session, sent with a request that names another host (as a proxy that
    # passes the client's Host header on would deliver it).
    token = csrf_of(admin)
    cookie = admin.get_cookie(app.config["SESSION_COOKIE_NAME"])
    admin.set_cookie(cookie.key, cookie.value, domain="evil.example")
    response = admin.post(
        f"/admin/users/{people.reviewer.id}/reset-link",
        data={"csrf_token": token},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 200 and response.request.host == "evil.example"
    page = response.get_data(as_text=True)
    assert _shown_link(page).startswith(expected)
    assert "evil.example" not in page
    [stored] = _messages(app)
    assert expected in stored.body_text and "evil.example" not in stored.body_text


def test_reminders_link_to_the_same_configured_address(app, people) -> None:
    app.config["PUBLIC_URL"] = "https://tracker.example.org"
    with app.app_context(), unit_of_work() as session:
        from app.plan.models import ReportingPeriod

        for period in session.exec(select(ReportingPeriod)).all():
            if period.code < "2025-Q3":
                period.status = "closed"
                session.add(period)
    app.config["JOBS_TODAY"] = "2025-10-20"
    run = run_job(app, "reminders", "cli")
    assert run.outcome == "succeeded", run.error
    bodies = [m.body_text for m in _messages(app)]
    assert bodies and all("https://tracker.example.org/" in body for body in bodies)
    assert not any(mail.DEFAULT_PUBLIC_URL in body for body in bodies)


def test_an_address_stored_with_a_comma_never_gets_mail(app, people, smtp) -> None:
    """An address saved before the one e-mail rule ("a@b.example,c@evil.example") is refused
    when a message is queued for it: the reset link reaches neither recipient."""
    forged = "reviewer@example.org,attacker@evil.example"
    with unit_of_work(app.extensions["db_engine"]) as session:
        session.get(User, people.reviewer.id).email = forged
    admin = sign_in(app.test_client(), people.admin)
    page = admin.post(
        f"/admin/users/{people.reviewer.id}/reset-link", data={"csrf_token": csrf_of(admin)}
    )
    assert page.status_code == 200
    deliver_outbox(app)
    assert smtp.messages == []
    [stored] = _messages(app)
    assert stored.status == "failed" and "is not one e-mail address" in stored.last_error
    assert LINK_START not in stored.body_text


def test_a_message_already_waiting_for_a_listed_address_is_refused_at_sending(
    app, people, smtp
) -> None:
    with unit_of_work(app.extensions["db_engine"]) as session:
        mail.queue(
            session,
            to_address="a@b.example",
            to_name="A",
            subject="Hello",
            body_text="Hello",
            kind="test",
        ).to_address = "a@b.example,c@evil.example"
    deliver_outbox(app)
    assert smtp.messages == []
    [stored] = _messages(app)
    assert stored.status == "failed" and "is not one e-mail address" in stored.last_error


def _reset_link(admin, user_id: int) -> str:
    page = admin.post(f"/admin/users/{user_id}/reset-link", data={"csrf_token": csrf_of(admin)})
    return _shown_link(page.get_data(as_text=True))


def test_disabling_a_user_cancels_their_waiting_link(app, people, smtp) -> None:
    admin = sign_in(app.test_client(), people.admin)
    link = _reset_link(admin, people.reviewer.id)
    disabled = admin.post(
        f"/admin/users/{people.reviewer.id}",
        data={
            "full_name": people.reviewer.full_name,
            "roles": ["reviewer"],
            "csrf_token": csrf_of(admin),
        },
    )
    assert disabled.status_code == 302
    [message] = _messages(app)
    assert (message.status, message.last_error) == ("failed", link_mail.REVOKED_NOTE)
    assert link not in message.body_text and mail.LINK_REMOVED in message.body_text
    deliver_outbox(app)
    assert smtp.messages == []  # the disabled person gets nothing


def test_setting_a_password_cancels_the_waiting_link(app, people, smtp) -> None:
    admin = sign_in(app.test_client(), people.admin)
    link = _reset_link(admin, people.reviewer.id)
    with app.app_context(), unit_of_work() as session:
        services.set_password_directly(session, people.reviewer.email, "a long new passphrase 42")
    [message] = _messages(app)
    assert message.status == "failed" and link not in message.body_text
    deliver_outbox(app)
    assert smtp.messages == []


def test_a_newer_link_replaces_the_one_still_waiting(app, people, smtp) -> None:
    admin = sign_in(app.test_client(), people.admin)
    older = _reset_link(admin, people.reviewer.id)
    newer = _reset_link(admin, people.reviewer.id)
    first, second = _messages(app)
    assert (first.status, first.last_error) == ("failed", link_mail.SUPERSEDED_NOTE)
    assert older not in first.body_text
    assert second.status == "pending" and newer in second.body_text
    deliver_outbox(app)
    [sent] = smtp.messages
    assert newer in sent.get_content() and older not in sent.get_content()


def test_a_waiting_link_that_expired_is_removed_even_without_smtp(app, people, smtp) -> None:
    admin = sign_in(app.test_client(), people.admin)
    link = _reset_link(admin, people.reviewer.id)
    with open_session(app) as session:
        token = session.exec(
            select(AccountToken).where(AccountToken.user_id == people.reviewer.id)
        ).one()
    [message] = _messages(app)
    assert message.link_expires_at == token.expires_at
    with app.app_context(), unit_of_work() as session:
        session.get(OutboxMessage, message.id).link_expires_at = datetime(2020, 1, 1, tzinfo=UTC)
    app.config["SMTP_HOST"] = ""  # mail switched off since: the link must not wait in clear
    deliver_outbox(app)
    [message] = _messages(app)
    assert (message.status, message.last_error) == ("failed", mail.LINK_EXPIRED_NOTE)
    assert link not in message.body_text
