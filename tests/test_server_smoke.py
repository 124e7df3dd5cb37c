"""The production server for real: gunicorn with two workers and deploy/gunicorn.conf.py, over
real HTTP, on each database (PostgreSQL is what an RSO deployment runs on)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.accounts.models import LoginFailure
from app.imports.models import Upload
from app.plan.models import Initiative, InitiativeStatusChange, ReportingPeriod
from app.progress.models import IndicatorValue, Submission
from tests import factories
from tests.conftest import open_session
from tests.live_gunicorn import Client, Server, serve
from tests.workbooks import fill, valid_answers

PERIOD = "2025-Q3"


@pytest.fixture
def server(seeded, people, database_url: str, tmp_path: Path):
    """gunicorn -w 2 over this test's migrated, seeded database, with its users, configured as
    behind one reverse proxy (as docs/DEPLOY.md sets it up)."""
    with serve(database_url, tmp_path, workers=2, settings={"PROXY_HOPS": "1"}) as running:
        yield running


def _signed_in(server: Server, email: str) -> Client:
    client = Client(server.url)
    client.sign_in(email, factories.DEFAULT_PASSWORD)
    return client


def _initiative(app, code: str) -> Initiative:
    with open_session(app) as session:
        return session.exec(select(Initiative).where(Initiative.code == code)).one()


def test_two_workers_serve_the_signed_in_overview(server, people) -> None:
    assert server.booted_workers() == 2
    assert Client(server.url).get("/").status == 302  # signed out: sent to the log-in page
    client = _signed_in(server, people.reviewer.email)
    page = client.get("/")
    assert page.status == 200
    assert "RSO Work Plan 2024-2026" in page.text
    assert server.access_log_shows('"GET / HTTP/1.1" 200')


def test_a_manager_changes_a_status_over_http(server, seeded, people) -> None:
    before = _initiative(seeded, "1.3")
    client = _signed_in(server, people.manager.email)
    page = client.get(f"/initiatives/{before.id}")
    assert page.status == 200 and f'name="version" value="{before.version}"' in page.text

    saved = client.post(
        f"/initiatives/{before.id}/status",
        {
            "csrf_token": page.csrf_token(),
            "version": str(before.version),
            "status": "completed",
            "rag": "on_track",
            "rag_note": "Delivered in Bangkok",
        },
    )

    assert saved.status == 303
    assert saved.headers["Location"].endswith(f"/initiatives/{before.id}")
    after = _initiative(seeded, "1.3")
    assert (after.status, after.rag, after.rag_note) == (
        "completed",
        "on_track",
        "Delivered in Bangkok",
    )
    assert after.version == before.version + 1
    with open_session(seeded) as session:
        latest = session.exec(
            select(InitiativeStatusChange)
            .where(InitiativeStatusChange.initiative_id == before.id)
            .order_by(InitiativeStatusChange.id.desc())  # type: ignore[union-attr]
        ).first()
    assert latest is not None
    assert (latest.status, latest.changed_by_id) == ("completed", people.manager.id)


def test_a_status_change_without_the_csrf_token_is_refused(server, seeded, people) -> None:
    before = _initiative(seeded, "1.3")
    client = _signed_in(server, people.manager.email)
    refused = client.post(
        f"/initiatives/{before.id}/status",
        {"version": str(before.version), "status": "cancelled", "rag": ""},
    )
    assert refused.status == 400
    assert _initiative(seeded, "1.3").status == before.status


def test_a_focal_point_uploads_previews_and_commits_a_workbook(server, seeded, people) -> None:
    with open_session(seeded) as session:
        period_id = session.exec(
            select(ReportingPeriod.id).where(ReportingPeriod.code == PERIOD)
        ).one()
    client = _signed_in(server, people.focal_point.email)
    template = client.get(f"/uploads/template?period_id={period_id}")
    assert template.status == 200
    assert 'filename="RSO-report-THA-2025-Q3.xlsx"' in template.headers["Content-Disposition"]
    answers = valid_answers(template.body)
    token = client.get("/uploads").csrf_token()

    preview = client.post(
        "/uploads",
        {"csrf_token": token},
        files={"workbook": ("thailand-q3.xlsx", fill(template.body, answers))},
    )

    assert preview.status == 200, preview.text[:500]
    assert "nothing has been saved yet" in preview.text
    with open_session(seeded) as session:
        upload = session.exec(select(Upload).order_by(Upload.id.desc())).first()  # type: ignore[union-attr]
        assert session.exec(select(IndicatorValue)).all() == []
    assert upload is not None and upload.outcome == "previewed"

    committed = client.post(f"/uploads/{upload.id}/commit", {"csrf_token": token})

    assert committed.status == 303
    with open_session(seeded) as session:
        values = session.exec(select(IndicatorValue)).all()
        submission = session.exec(select(Submission)).one()
    assert committed.headers["Location"].endswith(f"/submissions/{submission.id}")
    assert len(values) == len(answers)
    assert {v.narrative for v in values} == {answer["Narrative"] for answer in answers.values()}
    assert all(v.source == "upload" and v.submission_id == submission.id for v in values)
    assert submission.member_state_id == people.thailand.id
    archived = Path(server.error_log.parent, "imports", "archive", f"{upload.file_sha256}.xlsx")
    assert archived.is_file()


def test_behind_the_proxy_the_throttle_counts_the_forwarded_address(server, seeded, people) -> None:
    client = Client(server.url)
    token = client.get("/login").csrf_token()
    refused = client.post(
        "/login",
        {"email": people.manager.email, "password": "not the password", "csrf_token": token},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert refused.status == 401
    with open_session(seeded) as session:
        keys = set(session.exec(select(LoginFailure.throttle_key)).all())
    assert "address:203.0.113.9" in keys and "address:127.0.0.1" not in keys


def test_the_environment_file_example_names_only_settings_that_are_read() -> None:
    """A misspelt name in deploy/ would be silently ignored in production."""
    root = Path(__file__).resolve().parent.parent
    readers = "".join(
        (root / name).read_text(encoding="utf-8")
        for name in ("app/__init__.py", "app/config.py", "deploy/gunicorn.conf.py")
    )
    names = [
        line.split("=", 1)[0]
        for line in (root / "deploy" / "rso-tracker.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert {"DATABASE_URL", "SECRET_KEY", "STORAGE_DIR", "REPORTS_DIR", "PUBLIC_URL"} <= set(names)
    assert [name for name in names if f'"{name}"' not in readers] == []
