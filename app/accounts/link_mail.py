"""E-mailing invitation and password-reset links when mail is configured.

The link is always shown to the admin once; it is e-mailed only when SMTP is configured, since
a link kept in the outbox of an install without mail would sit in the database in clear.
"""

from __future__ import annotations

from flask import Flask

from app.accounts.models import User
from app.db import finish_request_session, unit_of_work
from app.scheduling import mail

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


def send_link(app: Flask, user: User, purpose: str, link: str) -> str | None:
    """Queue and send the link now; returns the outcome (sent, failed, deferred) or None when
    mail is not configured. Called at the end of a view: it commits the request's work first,
    so the token exists before anyone can follow the e-mailed link."""
    settings = mail.SmtpSettings.from_config(app.config)
    if settings is None:
        return None
    subject, lead = _WORDING[purpose]
    finish_request_session()
    with unit_of_work() as session:
        message = mail.queue(
            session,
            to_address=user.email,
            to_name=user.full_name,
            subject=subject,
            body_text=f"Dear {mail.clean_header_text(user.full_name)},\n\n{lead}\n\n{link}\n\n"
            "If you did not expect this message, you can ignore it.\n",
            kind="account_link",
        )
        message_id = message.id
    result = mail.deliver_pending(lambda: unit_of_work(), settings, only_ids=[message_id])
    if result.sent:
        return "sent"
    return "failed" if result.failed else "deferred"
