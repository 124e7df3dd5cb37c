"""The app under gunicorn on 127.0.0.1, started with deploy/gunicorn.conf.py, and a small HTTP
client with its own cookies, as one person's browser would have (the standard library only).

Used by the smoke and concurrency tests and by bench/. Whatever starts a server here stops it:
``serve`` is a context manager, every wait is bounded, and requests only ever go to 127.0.0.1.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
REQUEST_TIMEOUT_S = 60
PASSWORD_FIELD = "password"
_LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    error_log: Path
    access_log: Path

    def booted_workers(self) -> int:
        return self.error_log.read_text(encoding="utf-8").count("Booting worker with pid")

    def access_log_shows(self, text: str, within_s: float = 10) -> bool:
        """Whether ``text`` appears in the access log (a worker writes it after it answers)."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if self.access_log.exists() and text in self.access_log.read_text(encoding="utf-8"):
                return True
            time.sleep(0.05)
        return False


@contextmanager
def serve(
    database_url: str,
    root: Path,
    *,
    workers: int = 2,
    threads: int = 4,
    settings: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run gunicorn on a free port of 127.0.0.1 over ``database_url``; always stopped after."""
    root.mkdir(parents=True, exist_ok=True)
    error_log, access_log = root / "gunicorn-error.log", root / "gunicorn-access.log"
    environment = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "gunicorn-test-secret-key",
        "INSTANCE_PATH": str(root / "instance"),
        "STORAGE_DIR": str(root / "imports"),
        "REPORTS_DIR": str(root / "reports"),
        "GUNICORN_BIND": "127.0.0.1:0",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_ACCESS_LOG": str(access_log),
        "GUNICORN_ERROR_LOG": str(error_log),
        **(settings or {}),
    }
    process = subprocess.Popen(  # our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "--config", str(CONFIG), "wsgi:app"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the workers can be stopped with it
    )
    try:
        url = _wait_for_address(process, error_log)
        server = Server(url, process, error_log, access_log)
        _wait_until_serving(server, workers)
        yield server
    finally:
        _stop(process)


def _wait_for_address(process: subprocess.Popen, error_log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}: {_tail(error_log)}")
        found = (
            _LISTENING.search(error_log.read_text(encoding="utf-8")) if error_log.exists() else None
        )
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen within {START_TIMEOUT_S} s: {_tail(error_log)}")


def _wait_until_serving(server: Server, workers: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.booted_workers() >= workers and Client(server.url).get("/login").status == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not serve within {START_TIMEOUT_S} s")


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8")[-2000:] if log.exists() else "(no log)"


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM lets gunicorn stop its workers gracefully; SIGKILL to the group if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def csrf_token(self) -> str:
        found = _CSRF.search(self.text)
        assert found, f"no CSRF token in the page ({self.status})"
        return found.group(1)


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to check (a 303 after a save), not to follow silently."""

    def redirect_request(self, *_args, **_kwargs):
        return None


class Client:
    """One person's HTTP session: its own cookie jar; no proxy, so traffic stays on loopback."""

    def __init__(self, base_url: str) -> None:
        assert base_url.startswith("http://127.0.0.1:"), base_url
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.cookies),
            _KeepRedirects(),
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        request = urllib.request.Request(  # always http://127.0.0.1
            self.base_url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with self._opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as answer:  # 3xx, 4xx and 5xx are answers too
            with answer:
                return Reply(answer.code, dict(answer.headers), answer.read())

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        path: str,
        form: dict[str, str],
        *,
        files: dict[str, tuple[str, bytes]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if files:
            body, content_type = multipart(form, files)
        else:
            body, content_type = urlencode(form).encode(), "application/x-www-form-urlencoded"
        return self.request(
            "POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})}
        )

    def sign_in(self, email: str, password: str) -> Reply:
        """Through the real form: its CSRF token first, then the POST."""
        token = self.get("/login").csrf_token()
        reply = self.post("/login", {"email": email, PASSWORD_FIELD: password, "csrf_token": token})
        assert reply.status == 302, f"sign-in refused ({reply.status}): {reply.text[:300]}"
        return reply


def multipart(form: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body, as a browser sends a form with a file."""
    boundary = secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in form.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, (filename, content) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
