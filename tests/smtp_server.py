"""A real SMTP server on localhost (aiosmtpd) for the mail tests, with scripted replies."""

from __future__ import annotations

import smtplib
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """Keeps every message it accepts; `replies` scripts the answers to the next DATA commands."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.replies: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.replies:
            reply = self.replies.pop(0)
            if not reply.startswith("250"):
                return reply
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


class LocalSmtp:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> LocalSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server on localhost for this test; any other SMTP connection fails the test."""
    from app.scheduling import mail

    server = LocalSmtp().start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, MAIL_FROM="rso@example.org")
    real_connect = smtplib.SMTP.connect
    server.allowed_ports = {server.port}

    def only_ours(self, host="localhost", port=0, source_address=None):
        if host != "127.0.0.1" or int(port) not in server.allowed_ports:
            pytest.fail(f"an SMTP connection to {host}:{port}, not the test server")
        return real_connect(self, host, port, source_address)

    monkeypatch.setattr(smtplib.SMTP, "connect", only_ours)
    monkeypatch.setattr(mail, "RETRY_DELAYS", (0.01, 0.01))
    yield server
    server.stop()


class SilentSmtp:
    """A socket that accepts connections and never answers: a mail server that hangs."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> SilentSmtp:
        self.listener.settimeout(0.2)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _address = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(connection)  # kept open, never written to

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for connection in self.connections:
            connection.close()
        self.listener.close()


@pytest.fixture
def silent_smtp(app):
    """SMTP_HOST points at a server that accepts and never answers (SMTP_TIMEOUT of 1 s)."""
    server = SilentSmtp().start()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=1, MAIL_FROM="rso@example.org"
    )
    yield server
    server.stop()


class SilentAfterMessageSmtp:
    """Answers every command, takes the whole message, then never answers it: the case where
    the message may have been delivered although the sender saw only a timeout."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.messages_received = 0
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> SilentAfterMessageSmtp:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                connection, _address = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            threading.Thread(target=self._converse, args=(connection,), daemon=True).start()

    def _converse(self, connection: socket.socket) -> None:
        lines = connection.makefile("rb")
        try:
            connection.sendall(b"220 localhost ready\r\n")
            in_message = False
            for line in lines:
                if in_message:
                    if line == b".\r\n":
                        self.messages_received += 1  # taken, and never answered
                        in_message = False
                    continue
                command = line[:4].upper()
                if command == b"DATA":
                    connection.sendall(b"354 go ahead\r\n")
                    in_message = True
                elif command == b"QUIT":
                    connection.sendall(b"221 bye\r\n")
                    return
                elif command == b"EHLO":
                    connection.sendall(b"250-localhost\r\n250 8BITMIME\r\n")
                else:
                    connection.sendall(b"250 ok\r\n")
        except OSError:
            return

    def stop(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def smtp_silent_after_message(app):
    """SMTP_HOST points at a server that takes the message and never confirms it (1 s)."""
    server = SilentAfterMessageSmtp().start()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=1, MAIL_FROM="rso@example.org"
    )
    yield server
    server.stop()
