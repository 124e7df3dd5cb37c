"""Queuing invitation and password-reset links for e-mail, when mail is configured.

The link is always shown to the admin once. It is queued in the request's own transaction, so
the token and its message commit together (a rolled-back request leaves neither), and the
scheduler process delivers it: the request never waits on a mail server. It is queued only when
SMTP is configured, since a link kept in the outbox of an install without mail would sit in the
database in clear; once sent (or given up), the link is removed from the stored message.
A message still waiting loses its link when the link is revoked (the account is disabled, a
password is set, a newer link is made) or expires, and is then never sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import url_for
from sqlmodel import Session, col, select

from app.accounts.models import AccountToken, User
from app.scheduling import mail

KIND = "account_link"
REVOKED_NOTE = (
    "Not sent: the link in it no longer works (the account was disabled, its password was "
    "set, or a newer link was made), so it was removed."
)
SUPERSEDED_NOTE = "Not sent: a newer link was made for this person, so this one was removed."

_WORDING = {
    "invitation": (
        "You are invited to the RSO Work Plan Tracker",
        "you have been given an account on the RSO Work Plan Tracker. Choose your password "
        "with this link (it works once and expires in 7 days):",
    ),
    "password reset": (
        "Reset your RSO Work Plan Tracker password",
        "an administrator created a link for you to choose a new password for the RSO Work "
        "Plan Tracker (it works once and expires in 24 hours):",
    ),
}


def link_for(config: Mapping[str, Any], token: str) -> str:
    """The set-password link, on the configured address (never the request's Host header)."""
    return mail.link_base(config) + url_for("accounts.set_password", token=token)


def queue_link(
    session: Session, config: Mapping[str, Any], user: User, purpose: str, link: str
) -> bool:
    """Queue the link for e-mail in the caller's transaction; False when mail is not set up."""
    if mail.SmtpSettings.from_config(config) is None:
        return False
    subject, lead = _WORDING[purpose]
    mail.cancel_pending(session, user.email, KIND, SUPERSEDED_NOTE)  # one link waits at a time
    mail.queue(
        session,
        to_address=user.email,
        to_name=user.full_name,
        subject=subject,
        body_text=f"Dear {mail.clean_header_text(user.full_name)},\n\n{lead}\n\n{link}\n\n"
        "If you did not expect this message, you can ignore it.\n",
        kind=KIND,
        holds_secret=True,
        link_expires_at=_newest_link_expiry(session, user),
    )
    return True


def cancel_queued_links(session: Session, user: User) -> int:
    """The user's links were revoked: the messages still waiting with one never go."""
    return mail.cancel_pending(session, user.email, KIND, REVOKED_NOTE)


def _newest_link_expiry(session: Session, user: User) -> datetime | None:
    """When the link just issued stops working (the delivery pass then removes it)."""
    return session.exec(
        select(AccountToken.expires_at)
        .where(col(AccountToken.user_id) == user.id, col(AccountToken.used_at).is_(None))
        .order_by(col(AccountToken.id).desc())
    ).first()
