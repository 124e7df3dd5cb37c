"""The summary as .xlsx and CSV: contents, filters, no formula from user text, confidentiality."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from app.db import unit_of_work
from app.fields import clean_text
from app.plan.models import FocusArea, Initiative
from app.progress.models import IndicatorValue
from app.reports.exports import summary_csv, summary_workbook
from app.reports.summary import build_summary
from tests import summary_data
from tests.fixtures_accounts import sign_in
from tests.test_summary import BOTH_QUARTERS, REVIEWER

PAYLOADS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
]


def _workbook(data: bytes):
    return load_workbook(io.BytesIO(data))


def _cells(workbook):
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            yield from row


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def _fixture_summary(session, **changes):
    data = summary_data.make_fixture(session)
    for name, value in changes.items():
        setattr(data.initiative, name, value)
    session.add(data.initiative)
    session.flush()
    return data, build_summary(
        session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY, narratives_limit=None
    )


def test_the_workbook_has_a_sheet_per_focus_area_and_the_figures(session) -> None:
    _data, summary = _fixture_summary(session)
    workbook = _workbook(summary_workbook(summary))
    [focus_area] = summary.focus_areas
    fa_sheet = f"{focus_area.number} {focus_area.title}"
    assert workbook.sheetnames == [
        "About",
        fa_sheet,
        "Initiatives",
        "Participants",
        "Completeness",
        "Narratives",
    ]
    sheet = workbook[fa_sheet]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Strategic goal", "Initiative", "Code", "Indicator"]
    assert header[-2:] == ["2025-Q1", "2025-Q2"]
    rows = {row[2].value: row for row in sheet.iter_rows(min_row=2) if row and row[2].value}
    inc = rows["INC"]
    column = {name: index for index, name in enumerate(header)}
    assert inc[column["Target"]].value == 100
    assert inc[column["Plan to date"]].value == 50
    assert inc[column["% achieved"]].value == pytest.approx(0.5)
    assert inc[column["% achieved"]].number_format == "0.0%"
    assert inc[column["Rating"]].value == "On track"
    assert [inc[column["2025-Q1"]].value, inc[column["2025-Q2"]].value] == [30, 20]
    # Each value carries its own column's format, whatever was written before it in the row.
    assert [inc[column[name]].number_format for name in ("2025-Q1", "Target", "Rating")] == [
        "#,##0.##",
        "#,##0.##",
        "General",
    ]
    assert rows["PCT"][column["Plan to date"]].value == pytest.approx(100 * 91 / 102)
    assert rows["DNB"][column["Rating"]].value == "At risk"

    completeness = workbook["Completeness"]
    assert completeness.freeze_panes == "A2"
    grid = {row[0]: list(row[1:]) for row in completeness.iter_rows(min_row=2, values_only=True)}
    assert grid["Borduria"] == ["Submitted late", "Approved"]
    assert grid["Carpania"] == ["Missing", "Submitted on time"]
    assert grid["Atlantis"] == ["Approved", "Returned for changes"]
    assert grid["Reporting rate"] == ["67%", "100%"]
    about = dict(workbook["About"].iter_rows(min_row=2, values_only=True))
    assert about["Note"] == "Only approved values count."
    narratives = [r[3] for r in workbook["Narratives"].iter_rows(min_row=2, values_only=True)]
    assert sorted(narratives) == ["Atlantis trained 30 officers", "Borduria trained 20 officers"]


def test_the_csv_has_one_row_per_figure(session) -> None:
    _data, summary = _fixture_summary(session)
    rows = _csv_rows(summary_csv(summary))
    assert list(rows[0]) == [
        "section",
        "focus_area",
        "strategic_goal",
        "code",
        "title",
        "member_state",
        "period",
        "measure",
        "value",
    ]

    def figure(code: str, measure: str, period: str = "") -> str:
        [row] = [
            r
            for r in rows
            if r["code"] == code
            and r["measure"] == measure
            and (not period or r["period"] == period)
        ]
        return row["value"]

    assert float(figure("INC", "to_date_value")) == 50
    assert figure("INC", "rating") == "on_track"
    assert float(figure("INC", "approved_value", "2025-Q1")) == 30
    assert figure("DEC", "rating") == "on_track"
    late = [r for r in rows if r["section"] == "completeness" and r["member_state"] == "Borduria"]
    assert [(r["period"], r["value"]) for r in late] == [
        ("2025-Q1", "Submitted late"),
        ("2025-Q2", "Approved"),
    ]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_user_text_never_becomes_a_formula(session, payload) -> None:
    _data, summary = _fixture_summary(session, title=payload, rag_note=payload)
    for row in session.exec(select(IndicatorValue)).all():
        row.narrative = payload
        session.add(row)
    session.flush()
    summary = build_summary(
        session, REVIEWER, BOTH_QUARTERS, today=summary_data.TODAY, narratives_limit=None
    )
    workbook = _workbook(summary_workbook(summary))
    cells = list(_cells(workbook))
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    typed = [c for c in cells if isinstance(c.value, str) and c.value.strip() == payload.strip()]
    assert len(typed) >= 4  # title and note (initiatives sheet), two narratives
    assert all(c.data_type == "s" for c in typed)

    rows = list(csv.reader(io.StringIO(summary_csv(summary))))
    fields = [field for row in rows for field in row]
    assert payload not in fields
    # A lone CR is written as the LF every stored line break is (fields.clean_text).
    written = clean_text(payload)
    assert fields.count("'" + written) >= 3  # title, status and rag rows, narratives
    risky = [f for f in fields if f[:1] in ("=", "+", "-", "@", "\t", "\r", "\n")]
    assert risky == []


def test_exports_honour_the_filters_and_are_named_for_them(app, people) -> None:
    with app.app_context(), unit_of_work() as session:
        summary_data.make_fixture(session)
        focus_area = session.exec(select(FocusArea).where(FocusArea.number == 1)).one()
        focus_area_id = focus_area.id
    client = sign_in(app.test_client(), people.reviewer)
    query = f"?from=2025-Q1&to=2025-Q2&focus_area={focus_area_id}"
    response = client.get("/summary.xlsx" + query)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="RSO-summary-2025-Q1-to-2025-Q2.xlsx"'
    )
    workbook = _workbook(response.data)
    fa_sheets = [name for name in workbook.sheetnames if name[0].isdigit()]
    assert fa_sheets == [f"1 {focus_area.title}"[:31]]
    text = client.get("/summary.csv" + query).get_data(as_text=True)
    assert text.startswith("\ufeffsection,")
    focus_areas = {row["focus_area"] for row in _csv_rows(text) if row["focus_area"]}
    assert focus_areas == {f"1. {focus_area.title}"}
    bad = client.get("/summary.csv?from=2030-Q1&focus_area=nope")
    assert bad.status_code == 200


def test_a_focal_points_exports_hold_no_other_states_rows(app, people) -> None:
    period_id = summary_data.mongolian_rows(app, people)
    focal_point = sign_in(app.test_client(), people.focal_point)
    reviewer = sign_in(app.test_client(), people.reviewer)
    urls = [
        "/summary.xlsx?from=2025-Q3&to=2025-Q3",
        "/summary.csv?from=2025-Q3&to=2025-Q3",
        f"/summary/snapshots/{period_id}.xlsx",
        f"/summary/snapshots/{period_id}.csv",
    ]
    for url in urls:
        mine, everyone = focal_point.get(url), reviewer.get(url)
        assert mine.status_code == everyone.status_code == 200
        if url.split("?")[0].endswith(".xlsx"):
            words = [str(c.value) for c in _cells(_workbook(mine.data)) if c.value is not None]
            seen = [str(c.value) for c in _cells(_workbook(everyone.data)) if c.value is not None]
            text, reviewers_text = "\n".join(words), "\n".join(seen)
        else:
            text, reviewers_text = mine.get_data(as_text=True), everyone.get_data(as_text=True)
        summary_data.assert_only_thai_rows(text)
        assert "Thai narrative" in text and "Thailand" in text
        assert "Mongolian secret narrative" in reviewers_text  # the data is there to leak


def test_the_status_report_uses_the_summary_workbook(app, people) -> None:
    from app.scheduling.status_report import build_report

    with app.app_context(), unit_of_work() as session:
        data = summary_data.make_fixture(session)
        initiative = session.get(Initiative, data.initiative.id)
        data_bytes, headline = build_report(session, data.q2, today=summary_data.TODAY)
    workbook = _workbook(data_bytes)
    assert {"About", "Initiatives", "Completeness"} <= set(workbook.sheetnames)
    about = dict(workbook["About"].iter_rows(min_row=2, values_only=True))
    assert about["Periods chosen"] == "2025-Q2"
    titles = [r[2] for r in workbook["Initiatives"].iter_rows(min_row=2, values_only=True)]
    assert initiative.title in titles
    assert headline["period"] == "2025-Q2" and headline["indicators_rated"] >= 4


def test_reused_cells_keep_each_value_its_own_type_and_format() -> None:
    from datetime import date
    from decimal import Decimal

    from openpyxl import Workbook

    from app.reports.exports import NUMBER, _Sheet

    workbook = Workbook(write_only=True)
    sheet = _Sheet(workbook, "Cells")
    formats = {1: NUMBER, 2: NUMBER, 3: NUMBER}
    sheet.row([date(2025, 3, 1), Decimal("1.5"), "=1+1", 7.0, 3], formats)
    sheet.row(["-risky", True, 2.5, None, "plain"], formats)
    buffer = io.BytesIO()
    workbook.save(buffer)
    first, second = load_workbook(io.BytesIO(buffer.getvalue()))["Cells"].iter_rows()
    assert [c.number_format for c in first] == [
        "yyyy-mm-dd",
        NUMBER,
        "General",
        NUMBER,
        "General",
    ]
    assert [c.data_type for c in first] == [
        "d",
        "n",
        "s",
        "n",
        "n",
    ]  # "=1+1" is text, not a formula
    assert [c.value for c in second] == ["-risky", True, 2.5, None, "plain"]
    assert [c.data_type for c in second][:3] == ["s", "b", "n"]
    assert second[0].number_format == "General"  # the date's format did not follow it


def _with_controls(data, old: str, new: str):
    """``data`` (a snapshot's JSON) with every ``old`` text replaced by ``new``."""
    if isinstance(data, str):
        return data.replace(old, new)
    if isinstance(data, list):
        return [_with_controls(item, old, new) for item in data]
    if isinstance(data, dict):
        return {key: _with_controls(item, old, new) for key, item in data.items()}
    return data


def test_text_stored_with_control_characters_goes_through_every_export(app, people) -> None:
    """Issue 15, item 4: a narrative pasted from Word (vertical tab) and a stray control
    character, stored before the forms refused them, made every .xlsx export a 500 and the
    status report fail; a snapshot frozen with them stayed broken. Each export now drops them."""
    from app.reports.models import SummarySnapshot
    from app.scheduling.status_report import build_report

    period_id = summary_data.mongolian_rows(app, people)
    stored = "Thai\x0bnarrative\x01 kept"
    with app.app_context(), unit_of_work() as session:
        for row in session.exec(select(IndicatorValue)).all():
            row.narrative = row.narrative.replace("Thai narrative", stored)
            session.add(row)
        snapshot = session.exec(
            select(SummarySnapshot).where(SummarySnapshot.reporting_period_id == period_id)
        ).one()
        assert "Thai narrative" in str(snapshot.payload)
        snapshot.payload = _with_controls(snapshot.payload, "Thai narrative", stored)
        session.add(snapshot)
    reviewer = sign_in(app.test_client(), people.reviewer)
    texts = []
    for url in (
        "/summary.xlsx?from=2025-Q3&to=2025-Q3",
        "/summary.csv?from=2025-Q3&to=2025-Q3",
        f"/summary/snapshots/{period_id}.xlsx",
        f"/summary/snapshots/{period_id}.csv",
    ):
        response = reviewer.get(url)
        assert response.status_code == 200, url
        if ".xlsx" in url:
            cells = _cells(_workbook(response.data))
            texts.append("|".join(str(c.value) for c in cells if c.value is not None))
        else:
            texts.append(response.get_data(as_text=True))
    with app.app_context(), unit_of_work() as session:
        from app.plan.models import ReportingPeriod

        period = session.get(ReportingPeriod, period_id)
        report, _headline = build_report(session, period, today=summary_data.TODAY)
    texts.append("|".join(str(c.value) for c in _cells(_workbook(report)) if c.value))
    for text in texts:
        assert "Thai\nnarrative kept" in text.replace("\r\n", "\n")
        assert "\x0b" not in text and "\x01" not in text
