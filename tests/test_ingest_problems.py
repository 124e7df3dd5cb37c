"""Problem lists are capped with their full count; the annotated problems workbook is built once
and stored, so downloading it is a file read; the upload history reads no problem lists."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from openpyxl import load_workbook
from sqlalchemy import inspect
from sqlmodel import select

from app import schema
from app.accounts.services import viewer_for
from app.imports import annotated, ingest, services
from app.imports.models import MAX_PROBLEMS_KEPT, Upload
from app.imports.template import VALUES_SHEET
from tests.conftest import open_session
from tests.test_imports import _latest, _upload
from tests.workbooks import fill, valid_answers

UNKNOWN_ROWS = 1_100


def _with_unknown_codes(template: bytes, rows: int = UNKNOWN_ROWS) -> bytes:
    """The template, filled, with ``rows`` more rows whose codes the plan does not know."""

    def add(workbook) -> None:
        sheet = workbook[VALUES_SHEET]
        last = sheet.max_row
        for n in range(1, rows + 1):
            sheet[f"A{last + n}"] = f"9.9.{n}"
            sheet[f"F{last + n}"] = 1

    return fill(template, valid_answers(template), add)


def test_only_the_first_thousand_problems_are_kept_with_the_full_count(
    app, focal, template
) -> None:
    response = _upload(focal, _with_unknown_codes(template))
    assert response.status_code == 422
    upload = _latest(app)
    assert upload.problem_count == UNKNOWN_ROWS
    assert len(upload.problems) == MAX_PROBLEMS_KEPT == 1000
    assert "unknown indicator code '9.9.1'" in upload.problems[0]["message"]
    body = response.get_data(as_text=True)
    assert f"{UNKNOWN_ROWS} problems found" in body
    assert "Showing the first 1,000 of 1,100 problems." in body
    assert body.count('<td class="code">') == MAX_PROBLEMS_KEPT
    assert f"{UNKNOWN_ROWS} problems" in focal.get("/uploads").get_data(as_text=True)


def test_the_annotated_workbook_is_built_when_checked_and_downloaded_as_a_file(
    app, focal, template
) -> None:
    _upload(focal, _with_unknown_codes(template, rows=5))
    upload = _latest(app)
    assert upload.annotation == "ready"
    stored = annotated.annotated_path(app.config["STORAGE_DIR"], upload.id)
    assert stored.exists()
    # Without the archived original, the download still works: it is the file built then.
    ingest.archive_path(app.config["STORAGE_DIR"], upload.file_sha256).unlink()
    response = focal.get(f"/uploads/{upload.id}/annotated.xlsx")
    assert response.status_code == 200 and response.data == stored.read_bytes()
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[0] == "Problems"
    first = upload.problems[0]
    assert first["message"] in workbook[first["sheet"]][first["cell"]].comment.text


def test_a_large_workbook_is_annotated_by_the_inbox_job_not_by_the_request(
    app, runner, focal, template, monkeypatch
) -> None:
    monkeypatch.setattr(annotated, "IN_REQUEST_MAX_BYTES", 0)  # every workbook counts as large
    response = _upload(focal, _with_unknown_codes(template, rows=5))
    upload = _latest(app)
    assert upload.annotation == "pending"
    assert "is being prepared" in response.get_data(as_text=True)
    assert "Download your workbook with the problems marked" not in response.get_data(as_text=True)
    assert focal.get(f"/uploads/{upload.id}/annotated.xlsx").status_code == 404
    assert not annotated.annotated_path(app.config["STORAGE_DIR"], upload.id).exists()

    Path(app.config["STORAGE_DIR"], "inbox").mkdir(parents=True, exist_ok=True)
    result = runner.invoke(args=["imports", "scan"])
    assert f"upload {upload.id}: annotated problems workbook built" in result.output
    with open_session(app) as session:
        assert session.get(Upload, upload.id).annotation == "ready"
    page = focal.get(f"/uploads/{upload.id}").get_data(as_text=True)
    assert "Download your workbook with the problems marked" in page
    download = focal.get(f"/uploads/{upload.id}/annotated.xlsx")
    assert download.status_code == 200
    assert load_workbook(io.BytesIO(download.data)).sheetnames[0] == "Problems"
    again = runner.invoke(args=["imports", "scan"])
    assert "annotated" not in again.output  # built once


def test_a_file_that_is_no_workbook_gets_no_annotated_copy(app, focal) -> None:
    response = _upload(focal, b"%PDF-1.4 not a workbook")
    upload = _latest(app)
    assert upload.outcome == "refused" and upload.annotation is None
    assert "problems marked" not in response.get_data(as_text=True)
    assert focal.get(f"/uploads/{upload.id}/annotated.xlsx").status_code == 404


def test_the_upload_history_reads_no_rows_or_problems(app, people, focal, template) -> None:
    _upload(focal, _with_unknown_codes(template, rows=3))
    _upload(focal, fill(template, valid_answers(template)))
    with open_session(app) as session:
        listed = services.history(session, viewer_for(session, people.manager))
        assert len(listed) == 2
        for upload, _state, _period in listed:
            assert {"rows", "problems"} <= inspect(upload).unloaded
            assert "problem_count" not in inspect(upload).unloaded


def test_migration_0012_caps_the_problem_lists_already_stored(app, people) -> None:
    engine, url = app.extensions["db_engine"], app.config["DATABASE_URL"]
    previous = ScriptDirectory.from_config(schema.alembic_config(url)).get_revision("0012")
    schema.downgrade(engine, url, previous.down_revision)
    problems = [
        {"sheet": VALUES_SHEET, "cell": f"F{n}", "message": f"problem {n}"} for n in range(1500)
    ]
    old_upload = sa.table(
        "upload",
        sa.column("received_at", sa.DateTime()),
        sa.column("source", sa.String()),
        sa.column("original_name", sa.String()),
        sa.column("stored_name", sa.String()),
        sa.column("file_sha256", sa.String()),
        sa.column("size_bytes", sa.Integer()),
        sa.column("outcome", sa.String()),
        sa.column("problems", sa.JSON()),
    )
    base = {
        "received_at": sa.func.now(),
        "source": "web",
        "stored_name": "x.xlsx",
        "file_sha256": "0" * 64,
        "size_bytes": 1,
    }
    with engine.begin() as connection:
        connection.execute(
            sa.insert(old_upload).values(
                **base, original_name="many", outcome="refused", problems=problems
            )
        )
        connection.execute(
            sa.insert(old_upload).values(
                **base,
                original_name="not a workbook",
                outcome="refused",
                problems=[{"sheet": "", "cell": "", "message": "a PDF"}],
            )
        )
        connection.execute(
            sa.insert(old_upload).values(**base, original_name="fine", outcome="previewed")
        )
    schema.upgrade(engine, url)
    with open_session(app) as session:
        rows = {u.original_name: u for u in session.exec(select(Upload)).all()}
    many = rows["many"]
    assert (many.problem_count, len(many.problems), many.annotation) == (1500, 1000, "pending")
    assert many.problems[-1]["message"] == "problem 999"
    assert (rows["not a workbook"].problem_count, rows["not a workbook"].annotation) == (1, None)
    assert (rows["fine"].problem_count, rows["fine"].annotation) == (0, None)


def test_a_pending_copy_whose_archived_file_is_gone_fails_once_and_stops_no_scan(
    app, runner, focal, template, monkeypatch
) -> None:
    """One missing archive file (a restored database, a moved folder) made every scan fail."""
    monkeypatch.setattr(annotated, "IN_REQUEST_MAX_BYTES", 0)
    _upload(focal, _with_unknown_codes(template, rows=5))
    upload = _latest(app)
    archived = Path(app.config["STORAGE_DIR"], "archive", f"{upload.file_sha256}.xlsx")
    archived.unlink()
    Path(app.config["STORAGE_DIR"], "inbox").mkdir(parents=True, exist_ok=True)

    result = runner.invoke(args=["imports", "scan"])
    assert result.exit_code == 0, result.output
    assert f"upload {upload.id}: annotated problems workbook could not be built" in result.output
    with open_session(app) as session:
        assert session.get(Upload, upload.id).annotation == "failed"
    assert "annotated" not in runner.invoke(args=["imports", "scan"]).output  # not retried
