"""End to end: a reviewer opens the summary, filters it in place (htmx, the URL follows), and
exports what the filters show.

Needs the summary page (/summary, /summary.xlsx) of issue 7, built on another branch.
"""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def test_a_reviewer_filters_the_summary_and_exports_it(visit, tmp_path) -> None:
    visit.goto("/summary")
    page = visit.page
    expect(page.locator("h1")).to_contain_text("Summary")
    sections = page.locator(".summary-focus-area")
    assert sections.count() == 4
    page.evaluate("window.rsoSameDocument = 'yes'")

    focus_area = page.locator("form.summary-filters select[name=focus_area]")
    with page.expect_response(re.compile(r"/summary\?")) as answered:
        focus_area.select_option(index=1)
    chosen = focus_area.input_value()
    assert answered.value.status == 200
    assert answered.value.request.headers.get("hx-request") == "true"

    page.wait_for_url(re.compile(rf"/summary\?.*focus_area={chosen}"))
    expect(sections).to_have_count(1)
    # The heading is "<span>Focus area N</span>Title": the title is its last text node.
    title = sections.first.locator("h2").evaluate("h => h.lastChild.textContent").strip()
    assert page.evaluate("window.rsoSameDocument") == "yes"  # swapped in place, not reloaded

    export = page.get_by_role("link", name=re.compile(r"workbook \(\.xlsx\)"))
    assert f"focus_area={chosen}" in (export.get_attribute("href") or "")
    with page.expect_download() as downloading:
        export.click()
    path = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(path)
    assert path.suffix == ".xlsx"
    workbook = load_workbook(path, read_only=True)
    # One sheet per focus area shown, named "N Title" (cut to Excel's 31 characters).
    focus_area_sheets = [name for name in workbook.sheetnames if name[:1].isdigit()]
    workbook.close()
    assert len(focus_area_sheets) == 1, workbook.sheetnames
    assert title.startswith(focus_area_sheets[0].split(" ", 1)[1])
