"""The real app, served over HTTP on 127.0.0.1, driven by a real Chromium through Playwright.

One server and one browser for the whole session (Playwright's sync API must stay on one thread
and cannot be restarted inside a running session cheaply); each test gets a fresh browser
context, already signed in, and leaves a full-page screenshot of its final page in
``test-output/screenshots/``.

Chromium is the distribution's package (``/usr/bin/chromium``, or ``$CHROMIUM``), never a
Playwright download: without it every browser test is skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlmodel import select
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app, schema
from app.accounts.models import User
from app.db import make_engine, unit_of_work
from app.plan import seed as plan_seed
from app.plan.models import MemberState
from tests import factories

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMAIL = "browser.reviewer@example.org"


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    return candidate if os.access(candidate, os.X_OK) else shutil.which("chromium")


@dataclass
class LiveServer:
    url: str
    app: Flask

    def at(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a free port, over a freshly migrated and seeded SQLite file."""
    root = tmp_path_factory.mktemp("browser-app")
    url = f"sqlite:///{root / 'rso.db'}"
    engine = make_engine(url)
    schema.upgrade(engine, url)
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "browser-test-secret-key",
            "INSTANCE_PATH": str(root / "instance"),
            "STORAGE_DIR": str(root / "imports"),
            "REPORTS_DIR": str(root / "reports"),
        }
    )
    with app.app_context():
        with unit_of_work() as session:
            plan_seed.load_plan(session)
        with unit_of_work() as session:
            plan_seed.load_demo(session)
        with unit_of_work() as session:
            factories.make_user(session, ["reviewer"], email=EMAIL, full_name="Rina Reviewer")
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        pytest.skip(
            "Chromium not found at /usr/bin/chromium ($CHROMIUM): "
            "bash scripts/test installs the distribution's package when run as root"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is absent")

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def signed_in_state(browser, live_server: LiveServer) -> dict:
    """Cookies of a reviewer signed in through the real form, reused by every test."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(live_server.at("/login"))
        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(factories.DEFAULT_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(_signed_in_page)
        return context.storage_state()
    finally:
        context.close()


@dataclass
class Visit:
    """A signed-in browser tab, with every request it made."""

    page: object
    server: LiveServer
    requests: list[str] = field(default_factory=list)

    def goto(self, path: str):
        response = self.page.goto(self.server.at(path))
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        return response

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).hostname != "127.0.0.1"]


def _open(browser, live_server, state, request, viewport, **options) -> Iterator[Visit]:
    context = browser.new_context(storage_state=state, viewport=viewport, **options)
    context.set_default_timeout(10_000)
    visit = Visit(page=context.new_page(), server=live_server)
    context.on("request", lambda r: visit.requests.append(r.url))
    try:
        yield visit
    finally:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
        try:
            visit.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        finally:
            context.close()


@pytest.fixture
def visit(browser, live_server, signed_in_state, request) -> Iterator[Visit]:
    """A tab at laptop width (1366x900)."""
    yield from _open(browser, live_server, signed_in_state, request, LAPTOP)


@pytest.fixture
def phone(browser, live_server, signed_in_state, request) -> Iterator[Visit]:
    """A tab the size of a phone (390x844), touch and mobile viewport rules on."""
    yield from _open(
        browser, live_server, signed_in_state, request, PHONE, is_mobile=True, has_touch=True
    )


@pytest.fixture
def no_script(browser, live_server, signed_in_state, request) -> Iterator[Visit]:
    """A tab at laptop width with JavaScript off: whatever passes here needs no script."""
    yield from _open(
        browser, live_server, signed_in_state, request, LAPTOP, java_script_enabled=False
    )


@pytest.fixture
def signed_out(browser, live_server, request) -> Iterator[Visit]:
    """A tab at laptop width with no session: the test signs in through /login itself."""
    yield from _open(browser, live_server, None, request, LAPTOP)


def add_person(
    live_server: LiveServer, email: str, roles: list[str], state_code: str | None = None
) -> None:
    """A user of the live server's app, created once (browser tests share one server)."""
    with live_server.app.app_context(), unit_of_work() as session:
        if session.exec(select(User).where(User.email == email)).first() is not None:
            return
        state = None
        if state_code:
            state = session.exec(select(MemberState).where(MemberState.code == state_code)).one()
        factories.make_user(session, roles, state, email=email)


def sign_in_through_the_form(visit: Visit, email: str) -> None:
    """What a person does: open /login, type the address and password, press Sign in."""
    visit.goto("/login")
    visit.page.get_by_label("E-mail address").fill(email)
    visit.page.get_by_label("Password").fill(factories.DEFAULT_PASSWORD)
    visit.page.get_by_role("button", name="Sign in").click()
    visit.page.wait_for_url(_signed_in_page)


def _signed_in_page(url: str) -> bool:
    # Where a person lands depends on their role (reviewers may land on the summary).
    return urlsplit(url).path != "/login"
