"""Mail: queued in the outbox inside the caller's transaction, then delivered over SMTP.

Every e-mail leaves this way: a service queues it in its own (the request's or the job's)
transaction and returns; only the scheduler process (every OUTBOX_POLL_SECONDS and after each
job) and `flask jobs run` deliver, so no web request ever talks to an SMTP server. A rollback
after queuing leaves no message; an SMTP outage or a silent server (bounded by SMTP_TIMEOUT)
leaves messages pending for a later try; a message is marked "sending" before it is handed to
the server, so a crash can never make the next run send it again (an interrupted send is
reported, not repeated). A message holding a one-time link has its links removed once it is
sent or given up, so no token sits in the database in clear.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from sqlmodel import Session, col, select, update

from app.fields import email_address
from app.scheduling.models import OutboxMessage
from app.timeutil import utcnow
from app.validation import InputError

MAX_ATTEMPTS = 6
RETRY_DELAYS = (0.2, 1.0)  # in-run retries for temporary failures before leaving it pending
BACKOFF = timedelta(minutes=10)
STALE_SENDING = timedelta(minutes=30)
# Where links in mail point when PUBLIC_URL is empty (scripts/run sets it to its own address).
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
_LINK = re.compile(r"https?://[^\s<>\"']+")
LINK_REMOVED = "[one-time link removed once the message was handled]"


def link_base(config: dict) -> str:
    """The address links in mail start with: PUBLIC_URL, never a request's Host header."""
    return (config.get("PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    tls: str = "none"  # none, starttls, ssl
    user: str = ""
    password: str = ""
    mail_from: str = "rso-tracker@localhost"
    timeout: float = 10.0

    @classmethod
    def from_config(cls, config: dict) -> SmtpSettings | None:
        if not config.get("SMTP_HOST"):
            return None
        return cls(
            host=config["SMTP_HOST"],
            port=int(config.get("SMTP_PORT") or 25),
            tls=(config.get("SMTP_TLS") or "none").lower(),
            user=config.get("SMTP_USER") or "",
            password=config.get("SMTP_PASSWORD") or "",
            mail_from=config.get("MAIL_FROM") or "rso-tracker@localhost",
            timeout=float(config.get("SMTP_TIMEOUT") or 10),
        )


def clean_header_text(text: str) -> str:
    """A person's name or a subject on one line: CR, LF and other controls become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def queue(
    session: Session,
    *,
    to_address: str,
    to_name: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    kind: str,
    job_run_id: int | None = None,
    attachment: Path | None = None,
    holds_secret: bool = False,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (it goes only if that commits).

    The address goes through the one e-mail rule: an address stored before that rule (one with a
    comma, "a@b.example,c@evil.example") is kept as a failed message that is never sent, rather
    than reaching two recipients or stopping the job that queued it."""
    refusal = _address_refusal(to_address)
    message = OutboxMessage(
        holds_secret=holds_secret,
        kind=kind,
        to_address=to_address.strip()[:254],
        status="failed" if refusal else "pending",
        last_error=refusal or "",
        to_name=clean_header_text(to_name)[:200],
        subject=clean_header_text(subject)[:300],
        body_text=body_text,
        body_html=body_html,
        job_run_id=job_run_id,
        attachment_path=str(attachment) if attachment else None,
        attachment_name=attachment.name if attachment else None,
    )
    if refusal:
        _remove_secret(message)
    session.add(message)
    session.flush()
    return message


def _address_refusal(address: str) -> str | None:
    """Why a message may not go to this address, or None: it must be one valid address."""
    try:
        email_address(address)
    except InputError as refused:
        shown = clean_header_text(address)[:254]
        return f"Not sent: '{shown}' is not one e-mail address ({refused})."
    return None


def build_email(message: OutboxMessage, settings: SmtpSettings) -> EmailMessage:
    """The message as sent; refused for good unless it goes to exactly one valid address."""
    refusal = _address_refusal(message.to_address)
    if refusal:
        raise _Permanent(refusal)
    email = EmailMessage()
    email["From"] = settings.mail_from
    username, _, domain = message.to_address.partition("@")
    email["To"] = Address(
        display_name=clean_header_text(message.to_name), username=username, domain=domain
    )
    email["Subject"] = clean_header_text(message.subject)
    email["Message-ID"] = make_msgid(idstring=f"rso-outbox-{message.id}")
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    if message.attachment_path and Path(message.attachment_path).exists():
        email.add_attachment(
            Path(message.attachment_path).read_bytes(),
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=message.attachment_name or "report.xlsx",
        )
    return email


class _Temporary(Exception):
    """Worth trying again later (4xx, connection refused, timeout)."""


class _TimedOut(_Temporary):
    """The server did not answer within SMTP_TIMEOUT: not worth retrying within this run."""


class _Permanent(Exception):
    """The server refused for good (5xx): retrying would not help."""


def _timed_out(exc: BaseException) -> bool:
    """smtplib reports a read that timed out as "Connection unexpectedly closed: timed out"."""
    while exc is not None:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _send(email: EmailMessage, settings: SmtpSettings) -> None:
    try:
        if settings.tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.send_message(email)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        error = "; ".join(
            f"{code} {msg.decode(errors='replace')}" for code, msg in exc.recipients.values()
        )
        raise (_Temporary if all(400 <= c < 500 for c in codes) else _Permanent)(error) from exc
    except smtplib.SMTPResponseException as exc:
        text = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"
        raise (_Temporary if 400 <= exc.smtp_code < 500 else _Permanent)(text) from exc
    except (TimeoutError, OSError, smtplib.SMTPException) as exc:
        if _timed_out(exc):
            raise _TimedOut(
                f"the mail server did not answer within {settings.timeout:g} s"
            ) from exc
        raise _Temporary(f"{type(exc).__name__}: {exc}") from exc


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    deferred: int = 0


def deliver_pending(
    session_factory: Callable[[], AbstractContextManager[Session]],
    settings: SmtpSettings | None,
    *,
    only_ids: list[int] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """Send what is due from the outbox, each message in its own short transaction."""
    result = DeliveryResult()
    if settings is None:
        return result
    _report_interrupted(session_factory)
    with session_factory() as session:
        query = (
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())
            .order_by(OutboxMessage.id)
        )
        if only_ids is not None:
            query = query.where(col(OutboxMessage.id).in_(only_ids))
        ids = list(session.exec(query).all())
    for message_id in ids:
        outcome = _deliver_one(session_factory, message_id, settings, sleep)
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def _claim(session_factory, message_id: int) -> OutboxMessage | None:
    with session_factory() as session:
        claimed = session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            .values(status="sending", attempts=OutboxMessage.attempts + 1, next_attempt_at=utcnow())
        )
        if claimed.rowcount != 1:
            return None  # another sender took it
        message = session.get(OutboxMessage, message_id)
        session.expunge(message)
        return message


def _deliver_one(session_factory, message_id: int, settings: SmtpSettings, sleep) -> str:
    for delay in (*RETRY_DELAYS, None):
        message = _claim(session_factory, message_id)
        if message is None:
            return "deferred"
        try:
            _send(build_email(message, settings), settings)
        except _Temporary as exc:
            final = message.attempts >= MAX_ATTEMPTS
            # A silent server is not retried at once: each try would wait SMTP_TIMEOUT again.
            last_try_now = delay is None or isinstance(exc, _TimedOut)
            _finish(
                session_factory,
                message_id,
                "failed" if final else "pending",
                str(exc),
                backoff=last_try_now,
            )
            if final:
                return "failed"
            if last_try_now:
                return "deferred"
            sleep(delay)
            continue
        except _Permanent as exc:
            _finish(session_factory, message_id, "failed", str(exc))
            return "failed"
        _finish(session_factory, message_id, "sent", "")
        return "sent"
    return "deferred"


def _finish(
    session_factory, message_id: int, status: str, error: str, *, backoff: bool = False
) -> None:
    with session_factory() as session:
        message = session.get(OutboxMessage, message_id)
        message.status = status
        message.last_error = error[:2000]
        if status == "sent":
            message.sent_at = utcnow()
        if backoff:
            message.next_attempt_at = utcnow() + BACKOFF * message.attempts
        if status in ("sent", "failed"):
            _remove_secret(message)
        session.add(message)


def _remove_secret(message: OutboxMessage) -> None:
    """Once a message is handled for good, the one-time links it held are of no more use."""
    if message.holds_secret:
        message.body_text = _LINK.sub(LINK_REMOVED, message.body_text)
        message.body_html = _LINK.sub(LINK_REMOVED, message.body_html)


def _report_interrupted(session_factory) -> None:
    """A message left "sending" by a crash may or may not have gone: show it, never resend."""
    with session_factory() as session:
        stale = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.status == "sending",
                OutboxMessage.next_attempt_at < utcnow() - STALE_SENDING,
            )
        ).all()
        for message in stale:
            message.status = "failed"
            message.last_error = (
                "Delivery was interrupted; the message may not have been "
                "sent. Check with the recipient before sending again."
            )
            _remove_secret(message)
            session.add(message)
