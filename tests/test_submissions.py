"""The reporting loop: draft, submit, return with a comment, resubmit, approve."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from app.accounts.services import viewer_for
from app.db import unit_of_work
from app.plan.models import Indicator, ReportingPeriod
from app.plan.services import indicator_progress
from app.progress.models import IndicatorValue, Submission, SubmissionEvent
from app.progress.submissions import open_submission, reported_indicators
from tests import factories
from tests.conftest import open_session
from tests.fixtures_accounts import People, csrf_of, sign_in

PERIOD = "2025-Q3"


def _period(app: Flask, code: str = PERIOD) -> ReportingPeriod:
    with open_session(app) as session:
        return session.exec(select(ReportingPeriod).where(ReportingPeriod.code == code)).one()


def _indicators(app: Flask, state_id: int, code: str = PERIOD) -> list[Indicator]:
    with open_session(app) as session:
        return reported_indicators(session, state_id, _period(app, code))


def filled_form(indicators: list[Indicator], base: int = 3) -> dict[str, str]:
    """A valid answer for every indicator, whatever its unit."""
    form = {}
    for n, indicator in enumerate(indicators):
        p = f"{indicator.id}-"
        if indicator.unit == "percentage":
            form[p + "numerator"], form[p + "denominator"] = str(base), str(base * 4)
        elif indicator.unit == "yes_no":
            form[p + "value"] = "yes"
        elif indicator.unit == "text":
            form[p + "text_value"] = "A text answer"
        else:
            form[p + "value"] = str(base + n)
            if indicator.by_sex:
                form[p + "female"], form[p + "male"] = "1", str(base + n - 1)
        form[p + "narrative"] = f"Narrative for {indicator.code}"
    return form


def _open(client: FlaskClient, app: Flask, code: str = PERIOD) -> int:
    response = client.post(
        "/submissions/open",
        data={"period_id": _period(app, code).id, "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.location.rsplit("/", 1)[1])


def _version(client: FlaskClient, submission_id: int) -> str:
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def _post(client: FlaskClient, url: str, data: dict, submission_id: int, version=None):
    return client.post(
        url,
        data={
            **data,
            "csrf_token": csrf_of(client),
            "version": version or _version(client, submission_id),
        },
    )


def _status(app: Flask, submission_id: int) -> str:
    with open_session(app) as session:
        return session.get(Submission, submission_id).status


def test_the_whole_reporting_loop(app, people: People) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    manager = sign_in(app.test_client(), people.manager)
    indicators = _indicators(app, people.thailand.id)
    assert len(indicators) >= 5
    sid = _open(focal, app)

    form = filled_form(indicators)
    saved = _post(focal, f"/submissions/{sid}/values", {**form, "then": "draft"}, sid)
    assert saved.status_code == 303
    assert _status(app, sid) == "draft"

    submitted = _post(focal, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid)
    assert submitted.status_code == 303 and _status(app, sid) == "submitted"
    assert "Submitted for review" in focal.get(f"/submissions/{sid}").get_data(as_text=True)

    refused = _post(manager, f"/submissions/{sid}/return", {"comment": ""}, sid)
    assert refused.status_code == 422 and "say what needs to change" in refused.get_data(
        as_text=True
    )
    # The comment is a text like any other: no control characters, its length from one rule.
    control = _post(manager, f"/submissions/{sid}/return", {"comment": "Split\x01 it"}, sid)
    assert control.status_code == 422 and _status(app, sid) == "submitted"
    assert "control characters (U+0001)" in control.get_data(as_text=True)
    long = _post(manager, f"/submissions/{sid}/return", {"comment": "x" * 2001}, sid)
    assert long.status_code == 422 and "2,000 characters or fewer" in long.get_data(as_text=True)
    returned = _post(
        manager,
        f"/submissions/{sid}/return",
        {"comment": "Please split the officers trained by sex."},
        sid,
    )
    assert returned.status_code == 303 and _status(app, sid) == "returned"

    page = focal.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "Please split the officers trained by sex." in page
    assert "Please split the officers trained by sex." in focal.get("/my-work").get_data(
        as_text=True
    )

    form[f"{indicators[0].id}-narrative"] = "Corrected after review"
    resubmitted = _post(focal, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid)
    assert resubmitted.status_code == 303 and _status(app, sid) == "submitted"

    assert "Reports waiting for your review" in manager.get("/my-work").get_data(as_text=True)
    approved = _post(manager, f"/submissions/{sid}/approve", {}, sid)
    assert approved.status_code == 303 and _status(app, sid) == "approved"

    with open_session(app) as session:
        events = session.exec(
            select(SubmissionEvent.to_status)
            .where(SubmissionEvent.submission_id == sid)
            .order_by(SubmissionEvent.id)
        ).all()
        assert events == ["draft", "submitted", "returned", "submitted", "approved"]
        submission = session.get(Submission, sid)
        assert submission.reviewed_by_id == people.manager.id


def test_only_approved_values_count_in_the_summaries(app, people: People) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    manager = sign_in(app.test_client(), people.manager)
    indicators = _indicators(app, people.thailand.id)
    number = next(i for i in indicators if i.unit == "number" and not i.by_sex)
    sid = _open(focal, app)
    form = filled_form(indicators)
    form[f"{number.id}-value"] = "17"

    def progress() -> float | None:
        with open_session(app) as session:
            return indicator_progress(session, [number], [])[number.id].achieved

    _post(focal, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid)
    assert progress() is None  # submitted, not yet approved
    _post(manager, f"/submissions/{sid}/approve", {}, sid)
    assert progress() == 17


def test_a_manager_cannot_approve_what_they_entered(app, people: People) -> None:
    manager = sign_in(app.test_client(), people.manager)
    with app.app_context(), unit_of_work() as session:
        other_manager = factories.make_user(session, ["rso_manager"])
        sid = open_submission(
            session, people.thailand.id, _period(app).id, viewer_for(session, people.manager)
        ).id
    form = filled_form(_indicators(app, people.thailand.id))
    _post(manager, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid)
    refused = _post(manager, f"/submissions/{sid}/approve", {}, sid)
    assert refused.status_code == 403
    assert "another manager must approve it" in refused.get_data(as_text=True)
    assert _status(app, sid) == "submitted"

    colleague = sign_in(app.test_client(), other_manager)
    assert _post(colleague, f"/submissions/{sid}/approve", {}, sid).status_code == 303
    assert _status(app, sid) == "approved"


def test_two_people_saving_at_once_do_not_overwrite_each_other(app, people: People) -> None:
    first = sign_in(app.test_client(), people.focal_point)
    second = sign_in(app.test_client(), people.manager)
    indicators = _indicators(app, people.thailand.id)
    number = next(i for i in indicators if i.unit == "number" and not i.by_sex)
    sid = _open(first, app)
    stale_version = _version(second, sid)

    form = filled_form(indicators)
    _post(first, f"/submissions/{sid}/values", {**form, f"{number.id}-value": "5"}, sid)
    clash = _post(
        second,
        f"/submissions/{sid}/values",
        {**form, f"{number.id}-value": "9"},
        sid,
        version=stale_version,
    )
    body = clash.get_data(as_text=True)
    assert clash.status_code == 409
    assert "Someone else saved this report after you opened it" in body
    assert f'name="{number.id}-value" value="9"' in body  # what the second person typed is kept
    with open_session(app) as session:
        stored = session.exec(
            select(IndicatorValue.value).where(
                IndicatorValue.indicator_id == number.id,
                IndicatorValue.member_state_id == people.thailand.id,
            )
        ).one()
    assert stored == 5


def _form_fields(html: str) -> dict[str, str]:
    """The report form as a browser would send it untouched: every input and textarea."""
    fields = dict(
        re.findall(r'<input type="(?:text|hidden|url)"[^>]*?name="([^"]+)" value="([^"]*)"', html)
    )
    fields.update(re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', html))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[name] = chosen.group(1) if chosen else ""
    return {k: unescape(v) for k, v in fields.items() if k not in ("csrf_token",)}


def test_after_a_clash_only_what_this_person_changed_is_kept_over_the_other_version(
    app, people: People
) -> None:
    first = sign_in(app.test_client(), people.focal_point)
    second = sign_in(app.test_client(), people.manager)
    indicators = _indicators(app, people.thailand.id)
    numbers = [i for i in indicators if i.unit == "number" and not i.by_sex]
    mine, theirs = numbers[0], numbers[1]
    sid = _open(first, app)
    _post(first, f"/submissions/{sid}/values", filled_form(indicators), sid)
    # Both open the report as it now stands.
    opened_first = _form_fields(first.get(f"/submissions/{sid}").get_data(as_text=True))
    opened_second = _form_fields(second.get(f"/submissions/{sid}").get_data(as_text=True))
    assert opened_second[f"was-{theirs.id}-value"] == opened_second[f"{theirs.id}-value"]

    saved = _post(
        first,
        f"/submissions/{sid}/values",
        {
            **opened_first,
            f"{theirs.id}-value": "41",
            f"{theirs.id}-narrative": "Line one\r\nline two",
        },
        sid,
        version=opened_first["version"],
    )
    assert saved.status_code == 303
    clash = _post(
        second,
        f"/submissions/{sid}/values",
        {**opened_second, f"{mine.id}-value": "6"},
        sid,
        version=opened_second["version"],
    )
    assert clash.status_code == 409
    shown = _form_fields(clash.get_data(as_text=True))
    assert shown[f"{theirs.id}-value"] == "41"  # the other person's value, not the stale one
    assert shown[f"{theirs.id}-narrative"].splitlines() == ["Line one", "line two"]
    assert shown[f"{mine.id}-value"] == "6"  # what this person changed is kept
    again = _post(second, f"/submissions/{sid}/values", shown, sid, version=shown["version"])
    assert again.status_code == 303
    with open_session(app) as session:
        stored = dict(
            session.exec(
                select(IndicatorValue.indicator_id, IndicatorValue.value).where(
                    IndicatorValue.submission_id == sid
                )
            ).all()
        )
    assert (stored[theirs.id], stored[mine.id]) == (41, 6)


def test_numbers_come_back_exactly_as_typed_so_saving_again_changes_nothing(
    app, people: People
) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    indicators = _indicators(app, people.thailand.id)
    first, second = [i for i in indicators if i.unit == "number" and not i.by_sex][:2]
    sid = _open(focal, app)
    typed = {f"{first.id}-value": "1234567.5", f"{second.id}-value": "3.14159265"}
    assert _post(focal, f"/submissions/{sid}/values", typed, sid).status_code == 303
    shown = _form_fields(focal.get(f"/submissions/{sid}").get_data(as_text=True))
    assert (shown[f"{first.id}-value"], shown[f"{second.id}-value"]) == ("1234567.5", "3.14159265")
    again = _post(focal, f"/submissions/{sid}/values", shown, sid, version=shown["version"])
    assert again.status_code == 303
    assert "Saved: nothing had changed." in focal.get(f"/submissions/{sid}").get_data(as_text=True)
    with open_session(app) as session:
        stored = session.exec(
            select(IndicatorValue.value).where(IndicatorValue.indicator_id == second.id)
        ).one()
    assert stored == 3.14159265


def test_a_submitted_report_and_the_indicator_page_answer_yes_or_no(app, people) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    indicators = _indicators(app, people.thailand.id)
    answer = next(i for i in indicators if i.unit == "yes_no")
    form = {**filled_form(indicators), f"{answer.id}-value": "no"}
    sid = _open(focal, app)
    assert (
        _post(focal, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid).status_code
        == 303
    )
    report = focal.get(f"/submissions/{sid}").get_data(as_text=True)
    row = report[report.index(f">{answer.code}<") :]
    assert row[: row.index("</tr>")].count('<td class="num">No</td>') == 1
    indicator_page = focal.get(f"/indicators/{answer.id}").get_data(as_text=True)
    assert re.search(r'<td class="num">No<br><span class="tag">submitted', indicator_page)


def test_bad_values_are_refused_next_to_their_fields_and_nothing_is_saved(app, people) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    indicators = _indicators(app, people.thailand.id)
    number = next(i for i in indicators if i.unit == "number" and not i.by_sex)
    percentage = next(i for i in indicators if i.unit == "percentage")
    sid = _open(focal, app)
    form = filled_form(indicators)
    form.update(
        {
            f"{number.id}-value": "twelve",
            f"{percentage.id}-numerator": "50",
            f"{percentage.id}-denominator": "40",
            f"{indicators[0].id}-narrative": "x" * 4001,
            f"{indicators[1].id}-evidence_url": "javascript:alert(1)",
        }
    )
    response = _post(focal, f"/submissions/{sid}/values", form, sid)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{number.id}-value-error">enter a number such as 12 or 3.5' in body
    assert "cannot exceed the denominator" in body
    assert "keep the narrative to 4,000 characters or fewer" in body
    assert "must start with https://" in body
    assert 'value="twelve"' in body  # what was typed is kept
    with open_session(app) as session:
        assert session.exec(select(IndicatorValue)).all() == []


def test_a_negative_count_is_refused(app, people) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    indicators = _indicators(app, people.thailand.id)
    number = next(i for i in indicators if i.unit == "number" and not i.by_sex)
    sid = _open(focal, app)
    response = _post(focal, f"/submissions/{sid}/values", {f"{number.id}-value": "-3"}, sid)
    assert response.status_code == 422
    assert "cannot be negative" in response.get_data(as_text=True)


def test_submitting_with_missing_values_names_them(app, people) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    indicators = _indicators(app, people.thailand.id)
    sid = _open(focal, app)
    form = filled_form(indicators[:1])
    response = _post(focal, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid)
    body = response.get_data(as_text=True)
    assert "Enter a value for every indicator before submitting" in body
    assert indicators[-1].code in body
    assert _status(app, sid) == "draft"
    with open_session(app) as session:  # the draft values themselves were kept
        assert len(session.exec(select(IndicatorValue)).all()) == 1


def test_a_closed_period_refuses_focal_points_and_marks_manager_corrections(app, people) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    manager = sign_in(app.test_client(), people.manager)
    indicators = _indicators(app, people.thailand.id)
    sid = _open(focal, app)
    with app.app_context(), unit_of_work() as session:
        period = session.get(ReportingPeriod, _period(app).id)
        period.status = "closed"
        session.add(period)
    refused = _post(focal, f"/submissions/{sid}/values", filled_form(indicators), sid)
    assert refused.status_code == 403
    assert "is closed" in refused.get_data(as_text=True)

    reason = {"correction_reason": "Late figures from the ministry"}
    corrected = _post(manager, f"/submissions/{sid}/values", filled_form(indicators) | reason, sid)
    assert corrected.status_code == 303
    with open_session(app) as session:
        values = session.exec(select(IndicatorValue)).all()
    assert values and all(v.corrected_after_close for v in values)


def test_a_focal_point_cannot_reach_another_states_report(app, people) -> None:
    thai = sign_in(app.test_client(), people.focal_point)
    sid = _open(thai, app)
    malaysian = sign_in(app.test_client(), people.other_focal_point)
    assert malaysian.get(f"/submissions/{sid}").status_code == 404
    response = malaysian.post(
        f"/submissions/{sid}/values", data={"csrf_token": csrf_of(malaysian), "version": "1"}
    )
    assert response.status_code == 404
    # Naming Thailand in the form opens Malaysia's own report, never Thailand's.
    own = malaysian.post(
        "/submissions/open",
        data={
            "member_state_id": people.thailand.id,
            "period_id": _period(app).id,
            "csrf_token": csrf_of(malaysian),
        },
    )
    with open_session(app) as session:
        opened = session.get(Submission, int(own.location.rsplit("/", 1)[1]))
    assert opened.member_state_id == people.malaysia.id
    listing = malaysian.get("/submissions").get_data(as_text=True)
    assert "Malaysia" in listing and "Thailand" not in listing


def test_my_work_shows_what_is_due(app, people) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    page = focal.get("/my-work").get_data(as_text=True)
    assert "Reports for Thailand" in page
    assert "2025-Q3" in page and "Start report" in page
    manager = sign_in(app.test_client(), people.manager)
    assert "Initiatives whose status is older than" in manager.get("/my-work").get_data(
        as_text=True
    )
