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
from datetime import datetime, timedelta
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
INTERRUPTED_NOTE = (
    "Delivery was interrupted after the message was handed to the mail server, so it may "
    "have been sent; it is not sent again. Check with the recipient before resending."
)
LINK_EXPIRED_NOTE = (
    "Not sent: its one-time link expired before it could be sent, and was removed. Create a "
    "new link if it is still needed."
)


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
    link_expires_at: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (it goes only if that commits).

    The address goes through the one e-mail rule: an address stored before that rule (one with a
    comma, "a@b.example,c@evil.example") is kept as a failed message that is never sent, rather
    than reaching two recipients or stopping the job that queued it."""
    refusal = _address_refusal(to_address)
    message = OutboxMessage(
        holds_secret=holds_secret,
        link_expires_at=link_expires_at,
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


class _MaybeSent(Exception):
    """The whole message reached the server before the connection failed: it may have gone."""


class _TracksTheMessage:
    """Knows whether the whole message (DATA's body and its final dot) reached the server.

    smtplib's ``data()`` sends the DATA command, then, after the server's 354, the message;
    so the second ``send`` inside ``data()`` is the message. Before it, a failure is safe to
    retry (the server has no message); after it, the server may have accepted it."""

    message_sent = False
    _sends_in_data: int | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        self._sends_in_data = 0
        try:
            return super().data(msg)
        finally:
            self._sends_in_data = None

    def send(self, s: bytes | str) -> None:
        super().send(s)
        if self._sends_in_data is not None:
            self._sends_in_data += 1
            if self._sends_in_data > 1:
                self.message_sent = True


class _SMTP(_TracksTheMessage, smtplib.SMTP):
    pass


class _SMTPSSL(_TracksTheMessage, smtplib.SMTP_SSL):
    pass


def _send(email: EmailMessage, settings: SmtpSettings) -> None:
    smtp: _SMTP | _SMTPSSL | None = None
    try:
        smtp = _connect(settings)
        smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        if smtp is not None:
            smtp.close()
        sent = smtp is not None and smtp.message_sent
        raise _classified(exc, settings, message_sent=sent) from exc
    _quit(smtp)


def _connect(settings: SmtpSettings) -> _SMTP | _SMTPSSL:
    if settings.tls == "ssl":
        smtp: _SMTP | _SMTPSSL = _SMTPSSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = _SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _classified(exc: Exception, settings: SmtpSettings, *, message_sent: bool) -> Exception:
    """What a failure means for the message: try again (_Temporary), never (_Permanent), or
    never because it may have gone (_MaybeSent)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        error = "; ".join(
            f"{code} {msg.decode(errors='replace')}" for code, msg in exc.recipients.values()
        )
        return (_Temporary if all(400 <= c < 500 for c in codes) else _Permanent)(error)
    if isinstance(exc, smtplib.SMTPResponseException):
        # An answer, even to the message itself, says for sure it was not accepted.
        text = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"
        return (_Temporary if 400 <= exc.smtp_code < 500 else _Permanent)(text)
    if message_sent:  # no answer after the whole message: the server may have accepted it
        return _MaybeSent(INTERRUPTED_NOTE)
    if _timed_out(exc):
        return _TimedOut(f"the mail server did not answer within {settings.timeout:g} s")
    return _Temporary(f"{type(exc).__name__}: {exc}")


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; the message is accepted already, so nothing the server does now counts."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        smtp.close()


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
    _drop_expired_links(session_factory)  # even without SMTP: no dead token waits in clear
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
        except (_Permanent, _MaybeSent) as exc:  # a message that may have gone never goes again
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


def cancel_pending(session: Session, to_address: str, kind: str, note: str) -> int:
    """Give up, in the caller's transaction, the messages of ``kind`` still waiting to go to
    this address: each is marked failed with ``note``, and any one-time link it held removed."""
    waiting = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.to_address == to_address,
            OutboxMessage.kind == kind,
            OutboxMessage.status == "pending",
        )
    ).all()
    for message in waiting:
        _give_up(message, note)
        session.add(message)
    return len(waiting)


def _drop_expired_links(session_factory) -> None:
    with session_factory() as session:
        expired = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.holds_secret == True,  # noqa: E712
                OutboxMessage.status == "pending",
                col(OutboxMessage.link_expires_at) <= utcnow(),
            )
        ).all()
        for message in expired:
            _give_up(message, LINK_EXPIRED_NOTE)
            session.add(message)


def _give_up(message: OutboxMessage, note: str) -> None:
    message.status = "failed"
    message.last_error = note
    _remove_secret(message)


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
            message.last_error = INTERRUPTED_NOTE
            _remove_secret(message)
            session.add(message)
