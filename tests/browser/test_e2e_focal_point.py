"""End to end: a focal point downloads a template, fills it, uploads it with a mistake, reads
the problem and its cell, fixes it, uploads again, previews and commits."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlmodel import Session, select

from app.plan.models import MemberState, ReportingPeriod
from app.progress.models import IndicatorValue, Submission
from tests.browser.conftest import add_person, sign_in_through_the_form
from tests.workbooks import COLUMN, fill, rows_by_code, valid_answers

pytestmark = pytest.mark.browser

FOCAL_POINT = "e2e.focal.tha@example.org"
PERIOD = "2025-Q3"


def _period_id(live_server) -> int:
    with Session(live_server.app.extensions["db_engine"]) as session:
        return session.exec(select(ReportingPeriod.id).where(ReportingPeriod.code == PERIOD)).one()


def _stored(live_server) -> tuple[Submission, list[IndicatorValue]]:
    with Session(live_server.app.extensions["db_engine"]) as session:
        submission = session.exec(
            select(Submission)
            .join(MemberState, MemberState.id == Submission.member_state_id)
            .join(ReportingPeriod, ReportingPeriod.id == Submission.reporting_period_id)
            .where(MemberState.code == "THA", ReportingPeriod.code == PERIOD)
        ).one()
        values = session.exec(
            select(IndicatorValue).where(IndicatorValue.submission_id == submission.id)
        ).all()
        return submission, list(values)


def _upload(page, path: Path) -> None:
    page.get_by_label(re.compile("^Workbook")).set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()


def test_a_focal_point_fixes_a_workbook_then_commits_it(signed_out, live_server, tmp_path) -> None:
    add_person(live_server, FOCAL_POINT, ["focal_point"], "THA")
    sign_in_through_the_form(signed_out, FOCAL_POINT)
    page = signed_out.page
    signed_out.goto("/uploads")
    page.get_by_label("Reporting period").select_option(str(_period_id(live_server)))

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download template (.xlsx)").click()
    download = downloading.value
    assert download.suggested_filename == "RSO-report-THA-2025-Q3.xlsx"
    template_path = tmp_path / download.suggested_filename
    download.save_as(template_path)
    template = template_path.read_bytes()

    answers = valid_answers(template)
    code = next(c for c, cells in answers.items() if cells.get("Value") == 7)
    cell = f"{COLUMN['Value']}{rows_by_code(load_workbook(io.BytesIO(template)))[code]}"
    wrong = tmp_path / "with-a-mistake.xlsx"
    wrong.write_bytes(fill(template, {**answers, code: {**answers[code], "Value": "seven"}}))
    _upload(page, wrong)

    result = page.locator("#upload-result")
    expect(result.get_by_role("alert")).to_contain_text("The workbook was not loaded")
    problem = result.locator("table.problems tbody tr").filter(has_text="'seven' is text")
    expect(problem).to_have_count(1)
    expect(problem.locator("td.code")).to_have_text(cell)

    fixed = tmp_path / "fixed.xlsx"
    fixed.write_bytes(fill(template, answers))
    _upload(page, fixed)

    expect(result).to_contain_text("nothing has been saved yet")
    expect(result.locator("ul.counts")).to_contain_text(f"{len(answers)} new")
    page.get_by_role("button", name="Load these values into the report").click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    expect(page.get_by_text(f"Loaded: {len(answers)} values saved in the report.")).to_be_visible()

    submission, values = _stored(live_server)
    assert page.url.endswith(f"/submissions/{submission.id}")
    by_code = {value.indicator_id: value for value in values}
    assert len(by_code) == len(answers)
    assert {v.narrative for v in values} == {cells["Narrative"] for cells in answers.values()}
    assert 7 in {v.value for v in values}
    assert all(v.source == "upload" for v in values)
