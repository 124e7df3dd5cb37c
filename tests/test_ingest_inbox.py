"""The inbox never loads by itself: it checks and files each workbook for a person to load with
the web's rules, and every file leaves the inbox once handled."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlmodel import select

from app.accounts.models import User
from app.accounts.services import viewer_for
from app.db import unit_of_work
from app.imports import inbox as inbox_scan
from app.imports import ingest, services
from app.imports.inbox import UNEXPECTED
from app.imports.models import Upload
from app.imports.safety import Limits
from app.imports.template import META_SHEET
from app.plan.models import Indicator
from app.progress.models import IndicatorValue, IndicatorValueRevision, Submission
from tests.conftest import open_session
from tests.fixtures_accounts import sign_in
from tests.hostile_files import HOSTILE_CASES
from tests.test_imports import PERIOD, _commit, _load, _set_status, _values
from tests.workbooks import fill, valid_answers

REASON = "Figures confirmed by the ministry after review"


def _inbox(app: Flask) -> Path:
    inbox = Path(app.config["STORAGE_DIR"]) / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    return inbox


def _scan(app: Flask, runner, files: dict[str, bytes]) -> str:
    for name, data in files.items():
        (_inbox(app) / name).write_bytes(data)
    result = runner.invoke(args=["imports", "scan"])
    assert result.exit_code == 0, result.output
    return result.output


def _left_in_inbox(app: Flask) -> list[str]:
    return sorted(p.name for p in _inbox(app).iterdir() if p.is_file())


def _filed_in(app: Flask, folder: str) -> list[str]:
    path = _inbox(app) / folder
    return sorted(p.name.split("-", 1)[1] for p in path.iterdir()) if path.exists() else []


def _inbox_upload(app: Flask) -> Upload:
    with open_session(app) as session:
        return session.exec(
            select(Upload).where(Upload.source == "inbox").order_by(Upload.id.desc())  # type: ignore[attr-defined]
        ).first()


@pytest.mark.parametrize(
    ("report", "period", "focal_point_told"),
    [
        ("submitted", None, "This report has been submitted."),
        ("approved", None, "This report has been approved."),
        (None, "closed", "2025-Q3 is closed; ask an RSO manager to record a late report."),
    ],
)
def test_an_inbox_workbook_meeting_a_report_closed_to_entry_waits_for_a_managers_correction(
    app, runner, people, focal, template, report, period, focal_point_told
) -> None:
    """The inbox loaded into a submitted and an approved report and into a closed period, and
    the report's history showed nothing. Now it files the workbook and stops; the focal point
    is told why they cannot load it, and only a manager's correction with a reason loads it."""
    answers = valid_answers(template)
    if report:
        _load(app, focal, fill(template, answers))
    _set_status(app, report=report, period=period)
    before = {v.id: (v.value, v.version) for v in _values(app)}
    code = "3.1.c"
    answers[code]["Value"] = 19

    output = _scan(app, runner, {"late.xlsx": fill(template, answers)})
    upload = _inbox_upload(app)
    assert f"late.xlsx: received as upload {upload.id} for Thailand {PERIOD}" in output
    assert "moved to received/" in output
    assert (upload.outcome, upload.uploaded_by_id, upload.member_state_id) == (
        "previewed",
        None,
        people.thailand.id,
    )
    assert {v.id: (v.value, v.version) for v in _values(app)} == before  # nothing loaded
    assert _left_in_inbox(app) == [] and _filed_in(app, "received") == ["late.xlsx"]

    page = focal.get(f"/uploads/{upload.id}").get_data(as_text=True)
    assert focal_point_told.replace("'", "&#39;") in page and "Load these values" not in page
    refused = _commit(focal, upload.id)
    assert refused.status_code == 409 and focal_point_told in refused.get_data(as_text=True)
    assert {v.id: (v.value, v.version) for v in _values(app)} == before

    manager = sign_in(app.test_client(), people.manager)
    page = manager.get(f"/uploads/{upload.id}").get_data(as_text=True)
    assert "Reason for the correction (required)" in page
    assert _commit(manager, upload.id).status_code == 409
    assert {v.id: (v.value, v.version) for v in _values(app)} == before
    assert _commit(manager, upload.id, reason=REASON).status_code == 303
    with open_session(app) as session:
        loaded = session.get(Upload, upload.id)
        revisions = session.exec(select(IndicatorValueRevision.reason)).all()
    assert (loaded.outcome, loaded.committed_by_id) == ("committed", people.manager.id)
    assert any(REASON in reason for reason in revisions)
    assert 19 in {v.value for v in _values(app)}


def test_an_inbox_workbook_is_loaded_by_its_states_focal_point_as_themselves(
    app, runner, people, focal, template
) -> None:
    answers = valid_answers(template)
    _scan(app, runner, {"q3.xlsx": fill(template, answers)})
    upload = _inbox_upload(app)
    assert _values(app) == []
    assert "Load these values" in focal.get(f"/uploads/{upload.id}").get_data(as_text=True)
    assert _commit(focal, upload.id).status_code == 303
    with open_session(app) as session:
        loaded = session.get(Upload, upload.id)
        who = set(session.exec(select(IndicatorValueRevision.changed_by_id)).all())
    assert (loaded.outcome, loaded.committed_by_id, loaded.uploaded_by_id) == (
        "committed",
        people.focal_point.id,
        None,
    )
    assert who == {people.focal_point.id}
    assert len(_values(app)) == len(answers)


def test_a_workbook_edited_to_name_another_state_never_reaches_a_report_by_itself(
    app, runner, people, focal, template
) -> None:
    """A Thailand workbook edited to say Malaysia went into Malaysia's report. Now it is filed
    under the state it names and waits; Thailand's focal point can neither see nor load it."""

    def say_malaysia(workbook) -> None:
        workbook[META_SHEET]["B2"] = "MYS"

    output = _scan(
        app, runner, {"forged.xlsx": fill(template, valid_answers(template), say_malaysia)}
    )
    upload = _inbox_upload(app)
    assert "forged.xlsx: received as upload" in output and "for Malaysia 2025-Q3" in output
    assert _left_in_inbox(app) == [] and _values(app) == []
    assert (upload.outcome, upload.member_state_id) == ("previewed", people.malaysia.id)

    assert focal.get(f"/uploads/{upload.id}").status_code == 404
    assert _commit(focal, upload.id).status_code == 404
    assert "forged.xlsx" not in focal.get("/uploads").get_data(as_text=True)
    assert "forged.xlsx" not in focal.get("/my-work").get_data(as_text=True)
    # Filed under the state it names, it waits for that state's people, who see what it holds.
    malaysian = sign_in(app.test_client(), people.other_focal_point)
    assert "forged.xlsx" in malaysian.get("/my-work").get_data(as_text=True)
    with open_session(app) as session:
        assert session.exec(select(IndicatorValue)).all() == []


def test_every_file_leaves_the_inbox_and_the_scan_says_what_became_of_it(
    app, runner, people, template, monkeypatch
) -> None:
    workbook = fill(template, valid_answers(template))
    output = _scan(
        app,
        runner,
        {"q3.xlsx": workbook, "notes.txt": b"minutes of the meeting", "empty.xlsx": b""},
    )
    assert "q3.xlsx: received as upload" in output
    assert "notes.txt: refused as upload" in output and "Only .xlsx workbooks" in output
    assert "empty.xlsx: refused as upload" in output
    assert _left_in_inbox(app) == []
    assert _filed_in(app, "received") == ["q3.xlsx"]
    assert _filed_in(app, "refused") == ["empty.xlsx", "notes.txt"]

    again = _scan(app, runner, {"q3 copy.xlsx": workbook})  # the same file sent twice
    waiting = _inbox_upload(app)
    assert f"q3 copy.xlsx: the same file as upload {waiting.id} (waiting to be loaded)" in again
    assert "moved to duplicate/" in again and _filed_in(app, "duplicate") == ["q3 copy.xlsx"]
    with open_session(app) as session:
        assert len(session.exec(select(Upload)).all()) == 3  # the duplicate is not filed again

    def broken(*args, **kwargs):
        raise RuntimeError("a bug met while checking")

    monkeypatch.setattr(ingest, "receive", broken)
    failed = _scan(app, runner, {"odd.xlsx": workbook + b"x"})
    assert "odd.xlsx: could not be checked because of an error on our side" in failed
    assert "Traceback" not in failed and "RuntimeError" not in failed
    assert _left_in_inbox(app) == [] and "odd.xlsx" in _filed_in(app, "refused")
    upload = _inbox_upload(app)
    assert upload.outcome == "refused" and upload.problems[0]["message"] == UNEXPECTED
    assert "is empty" in runner.invoke(args=["imports", "scan"]).output


def test_waiting_workbooks_are_shown_to_their_states_focal_points_and_to_managers(
    app, runner, people, focal, template
) -> None:
    _scan(app, runner, {"thai-q3.xlsx": fill(template, valid_answers(template))})
    manager = sign_in(app.test_client(), people.manager)
    malaysian = sign_in(app.test_client(), people.other_focal_point)
    for client in (focal, manager):
        for page in ("/my-work", "/uploads"):
            body = client.get(page).get_data(as_text=True)
            assert "Workbooks waiting to be loaded" in body and "thai-q3.xlsx" in body, page
    for page in ("/my-work", "/uploads"):
        body = malaysian.get(page).get_data(as_text=True)
        assert "thai-q3.xlsx" not in body and "Workbooks waiting to be loaded" not in body

    assert "Waiting to be loaded</span>" in manager.get("/uploads").get_data(as_text=True)
    upload = _inbox_upload(app)
    assert _commit(focal, upload.id).status_code == 303
    assert "thai-q3.xlsx" not in focal.get("/my-work").get_data(as_text=True)


def test_loading_an_inbox_upload_needs_the_csrf_token(app, runner, focal, template) -> None:
    _scan(app, runner, {"q3.xlsx": fill(template, valid_answers(template))})
    upload = _inbox_upload(app)
    response = focal.post(f"/uploads/{upload.id}/commit", data={"csrf_token": "wrong"})
    assert response.status_code in (400, 403)
    assert _values(app) == []


@pytest.mark.parametrize(("label", "make", "expected"), HOSTILE_CASES)
def test_a_hostile_file_in_the_inbox_is_refused_plainly_and_leaves_it(
    app, runner, template, label, make, expected
) -> None:
    output = _scan(app, runner, {"hostile.xlsx": make(fill(template, valid_answers(template)))})
    upload = _inbox_upload(app)
    assert upload.outcome == "refused", label
    assert expected in " | ".join(p["message"] for p in upload.problems), label
    assert "hostile.xlsx: refused as upload" in output and "Traceback" not in output
    assert _left_in_inbox(app) == [] and _filed_in(app, "refused") == ["hostile.xlsx"]
    assert _values(app) == []


def test_each_inbox_file_is_its_own_unit_of_work(app, template, monkeypatch) -> None:
    """The job's own call: a file whose check fails is filed as refused, and the file checked
    before it stays filed (its unit of work was committed on its own)."""
    inbox = _inbox(app)
    (inbox / "a.xlsx").write_bytes(fill(template, valid_answers(template)))
    (inbox / "b.xlsx").write_bytes(fill(template, {}))
    checked = ingest.receive

    def fails_on_b(session, data, name, *args, **kwargs):
        upload = checked(session, data, name, *args, **kwargs)
        if name == "b.xlsx":
            raise RuntimeError("a bug met after b.xlsx was filed")
        return upload

    monkeypatch.setattr(ingest, "receive", fails_on_b)
    with app.app_context():
        lines = services.scan_inbox(unit_of_work, inbox, app.config["STORAGE_DIR"], Limits())
    assert [line.split(":")[0] for line in lines] == ["a.xlsx", "b.xlsx"]
    assert "error on our side" in lines[1]
    with open_session(app) as session:
        filed = session.exec(select(Upload.original_name, Upload.outcome).order_by(Upload.id)).all()
    assert filed == [("a.xlsx", "previewed"), ("b.xlsx", "refused")]
    assert _left_in_inbox(app) == []


def test_a_preview_overtaken_by_another_load_no_longer_waits_and_its_file_is_checked_again(
    app, runner, people, focal, template
) -> None:
    """Two workbooks waited for the same report; loading one left the other listed as waiting
    for ever (with no Load button), and sending its file again was dropped as a duplicate."""
    answers = valid_answers(template)
    first = fill(template, answers)
    answers["3.1.c"]["Value"] = 11
    second = fill(template, answers)
    assert second != first
    output = _scan(app, runner, {"first.xlsx": first, "second.xlsx": second})
    with open_session(app) as session:
        uploads = session.exec(select(Upload).order_by(Upload.id)).all()  # type: ignore[arg-type]
    assert len(uploads) == 2, output
    assert _commit(focal, uploads[1].id).status_code == 303

    assert "first.xlsx" not in focal.get("/my-work").get_data(as_text=True)
    with open_session(app) as session:
        viewer = viewer_for(session, session.get(User, people.manager.id))
        assert services.waiting_uploads(session, viewer) == []
    again = _scan(app, runner, {"first again.xlsx": first})
    assert "first again.xlsx: received as upload" in again and "duplicate" not in again
    assert _inbox_upload(app).outcome == "previewed"


def test_a_preview_the_plan_has_overtaken_is_refused_plainly_and_loads_nothing(
    app, runner, people, focal, template
) -> None:
    """An indicator's definition changed while a workbook waited: Load was a 500."""
    _scan(app, runner, {"q3.xlsx": fill(template, valid_answers(template))})
    upload = _inbox_upload(app)
    with open_session(app) as session:
        indicator = session.exec(select(Indicator).where(Indicator.code == "3.1.c")).one()
        indicator.unit = "percentage"
        session.add(indicator)
        session.commit()

    refused = _commit(focal, upload.id)
    assert refused.status_code == 409
    assert "The plan changed after this preview" in refused.get_data(as_text=True)
    assert _values(app) == []
    with open_session(app) as session:
        assert session.exec(select(Submission)).all() == []  # no report opened either
        assert session.get(Upload, upload.id).outcome == "stale"


def test_a_file_still_being_copied_in_waits_and_two_scans_never_file_one_file_twice(
    app, runner, template
) -> None:
    """A file read while it was still being written was refused as broken and moved out; two
    scans at once (the job and the command) could both file the same file."""
    app.config["IMPORT_INBOX_SETTLE_SECONDS"] = 60
    (_inbox(app) / "arriving.xlsx").write_bytes(fill(template, valid_answers(template)))
    waiting = runner.invoke(args=["imports", "scan"])
    assert "arriving.xlsx: still being written; left for the next scan" in waiting.output
    assert _left_in_inbox(app) == ["arriving.xlsx"] and _inbox_upload(app) is None

    app.config["IMPORT_INBOX_SETTLE_SECONDS"] = 0
    path = _inbox(app) / "arriving.xlsx"
    data = path.read_bytes()
    claimed = inbox_scan._claim(path, _inbox(app))
    assert claimed is not None and claimed.read_bytes() == data
    assert inbox_scan._claim(path, _inbox(app)) is None  # a second scan finds nothing to take
    assert "arriving.xlsx" not in runner.invoke(args=["imports", "scan"]).output

    # The scan holding it died: after an hour the file is given back and filed once.
    old = time.time() - inbox_scan.ABANDONED_CLAIM_SECONDS - 1
    os.utime(claimed, (old, old))
    filed = runner.invoke(args=["imports", "scan"]).output
    assert "arriving.xlsx: received as upload" in filed
    assert _filed_in(app, "received") == ["arriving.xlsx"] and _left_in_inbox(app) == []
    assert sorted(p.name for p in _inbox(app).iterdir()) == ["received"]


def test_a_scan_whose_job_lost_its_lock_stops_and_files_nothing_as_refused(app, template) -> None:
    """A lost lock is no file's fault: the scan stops instead of filing the file as refused."""
    from contextlib import contextmanager

    from app.db import StopWork

    @contextmanager
    def no_more_units():
        raise StopWork("Lock lost")
        yield  # pragma: no cover

    (_inbox(app) / "q3.xlsx").write_bytes(fill(template, valid_answers(template)))
    with app.app_context(), pytest.raises(StopWork):
        services.scan_inbox(
            no_more_units, _inbox(app), app.config["STORAGE_DIR"], Limits(), settle_seconds=0
        )
    assert _inbox_upload(app) is None and _filed_in(app, "refused") == []


def test_a_workbook_only_a_manager_can_load_waits_on_the_managers_list_only(
    app, runner, people, focal, template
) -> None:
    """An inbox workbook for an approved report was listed on the focal point's to-do, though
    Load could only refuse them."""
    answers = valid_answers(template)
    _load(app, focal, fill(template, answers))
    _set_status(app, report="approved")
    answers["3.1.c"]["Value"] = 19
    _scan(app, runner, {"late.xlsx": fill(template, answers)})
    manager = sign_in(app.test_client(), people.manager)
    assert "late.xlsx" in manager.get("/my-work").get_data(as_text=True)
    assert "late.xlsx" not in focal.get("/my-work").get_data(as_text=True)
    with open_session(app) as session:
        viewer = viewer_for(session, session.get(User, people.focal_point.id))
        assert services.waiting_uploads(session, viewer) == []


def test_a_workbook_naming_an_unknown_state_says_which_it_names(app, runner, template) -> None:
    def unknown_state(workbook) -> None:
        sheet = workbook[META_SHEET]
        for row in sheet.iter_rows():
            if row[0].value == "member_state":
                row[1].value = "ZZZ"

    output = _scan(app, runner, {"zzz.xlsx": fill(template, {}, unknown_state)})
    assert "names member state 'ZZZ', which this system does not know" in output
