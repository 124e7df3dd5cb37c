"""A manager's correction of a report no longer open to entry needs a reason, on the report form
and by workbook alike; without one nothing is written. The reason stays in the history."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.db import unit_of_work
from app.plan.models import Indicator, ReportingPeriod
from app.progress import totals
from app.progress.models import (
    ApprovedPeriodTotal,
    IndicatorValue,
    IndicatorValueRevision,
    Submission,
)
from tests.conftest import open_session
from tests.fixtures_accounts import People, sign_in
from tests.test_imports import _commit, _latest, _period_id, _upload
from tests.test_submissions import _indicators, _open, _post, filled_form
from tests.workbooks import download_template, fill, valid_answers

REASON = "The ministry sent its final count on 3 October"


def _approved_report(app: Flask, people: People) -> tuple[int, Indicator]:
    """Thailand's 2025-Q3 report, entered and submitted by its focal point, approved by a
    manager; returns its id and a plain number indicator whose value is 17."""
    focal = sign_in(app.test_client(), people.focal_point)
    manager = sign_in(app.test_client(), people.manager)
    indicators = _indicators(app, people.thailand.id)
    number = next(i for i in indicators if i.unit == "number" and not i.by_sex)
    sid = _open(focal, app)
    form = filled_form(indicators)
    form[f"{number.id}-value"] = "17"
    assert _post(focal, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid).status_code
    assert _post(manager, f"/submissions/{sid}/approve", {}, sid).status_code == 303
    return sid, number


def _value(app: Flask, indicator_id: int) -> IndicatorValue:
    with open_session(app) as session:
        return session.exec(
            select(IndicatorValue).where(IndicatorValue.indicator_id == indicator_id)
        ).one()


def _revisions(app: Flask, value_id: int) -> list[IndicatorValueRevision]:
    with open_session(app) as session:
        return list(
            session.exec(
                select(IndicatorValueRevision)
                .where(IndicatorValueRevision.indicator_value_id == value_id)
                .order_by(col(IndicatorValueRevision.version))
            ).all()
        )


def _approved_total(app: Flask, indicator_id: int, period_id: int) -> float | None:
    with open_session(app) as session:
        assert totals.differences(session) == []
        return session.get(ApprovedPeriodTotal, (period_id, indicator_id)).value_sum


def _correction_form(app: Flask, people: People, number: Indicator, value: str) -> dict:
    form = filled_form(_indicators(app, people.thailand.id))
    form[f"{number.id}-value"] = value
    return form


def test_a_manager_correcting_an_approved_report_on_the_form_must_give_a_reason(
    app, people
) -> None:
    sid, number = _approved_report(app, people)
    manager = sign_in(app.test_client(), people.manager)
    page = manager.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "Reason for the correction (required)" in page
    before = _value(app, number.id)

    form = _correction_form(app, people, number, "25")
    refused = _post(manager, f"/submissions/{sid}/values", form, sid)
    assert refused.status_code == 422
    assert "give the reason for the correction" in refused.get_data(as_text=True)
    after = _value(app, number.id)
    assert (after.value, after.version) == (17, before.version)  # nothing written
    blank = _post(manager, f"/submissions/{sid}/values", {**form, "correction_reason": "  "}, sid)
    assert blank.status_code == 422 and _value(app, number.id).value == 17
    control = _post(
        manager, f"/submissions/{sid}/values", {**form, "correction_reason": "typo\x01"}, sid
    )
    assert control.status_code == 422 and _value(app, number.id).value == 17
    assert "control characters (U+0001)" in control.get_data(as_text=True)

    saved = _post(manager, f"/submissions/{sid}/values", {**form, "correction_reason": REASON}, sid)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    value = _value(app, number.id)
    assert value.value == 25 and not value.corrected_after_close
    latest = _revisions(app, value.id)[-1]
    assert latest.value == 25 and latest.changed_by_id == people.manager.id
    assert latest.reason == f"correction of an approved report by an RSO manager: {REASON}"
    with open_session(app) as session:
        event = session.exec(
            select(AuditEvent)
            .where(
                AuditEvent.entity_type == "indicator_value", AuditEvent.entity_id == str(value.id)
            )
            .order_by(col(AuditEvent.id).desc())
        ).first()
        status = session.get(Submission, sid).status
    assert event.after["value"] == 25 and REASON in event.reason
    assert status == "approved"  # still approved: the correction says so in its history
    assert _approved_total(app, number.id, value.reporting_period_id) == 25  # totals follow


def test_a_submitted_report_is_corrected_only_with_a_reason_and_a_focal_points_draft_needs_none(
    app, people
) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    manager = sign_in(app.test_client(), people.manager)
    indicators = _indicators(app, people.thailand.id)
    sid = _open(focal, app)
    assert "Reason for the correction" not in focal.get(f"/submissions/{sid}").get_data(
        as_text=True
    )
    form = filled_form(indicators)
    assert _post(focal, f"/submissions/{sid}/values", form, sid).status_code == 303  # a draft
    assert _post(manager, f"/submissions/{sid}/values", form, sid).status_code == 303
    _post(focal, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid)

    changed = filled_form(indicators, base=5)
    refused = _post(manager, f"/submissions/{sid}/values", changed, sid)
    assert refused.status_code == 422
    assert "Correction of a submitted report: give the reason" in refused.get_data(as_text=True)
    saved = _post(
        manager, f"/submissions/{sid}/values", {**changed, "correction_reason": REASON}, sid
    )
    assert saved.status_code == 303
    with open_session(app) as session:
        reasons = set(session.exec(select(IndicatorValueRevision.reason)).all())
    assert f"correction of a submitted report by an RSO manager: {REASON}" in reasons
    assert "" in reasons  # the focal point's and the manager's draft entries need none


def test_a_late_correction_in_a_closed_period_keeps_its_reason_and_its_mark(app, people) -> None:
    sid, number = _approved_report(app, people)
    with app.app_context(), unit_of_work() as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
        ).one()
        period.status = "closed"
        session.add(period)
    manager = sign_in(app.test_client(), people.manager)
    form = _correction_form(app, people, number, "30")
    assert _post(manager, f"/submissions/{sid}/values", form, sid).status_code == 422
    assert _value(app, number.id).value == 17
    saved = _post(manager, f"/submissions/{sid}/values", {**form, "correction_reason": REASON}, sid)
    assert saved.status_code == 303
    value = _value(app, number.id)
    assert value.value == 30 and value.corrected_after_close
    assert _revisions(app, value.id)[-1].reason == (
        f"late correction (2025-Q3 is closed) by an RSO manager: {REASON}"
    )


def _upload_change(app: Flask, people: People, number: Indicator, value: int) -> FlaskClient:
    """The manager uploads Thailand's workbook with ``number`` changed; returns the manager."""
    manager = sign_in(app.test_client(), people.manager)
    template = download_template(manager, _period_id(app), people.thailand.id)
    answers = valid_answers(template)
    answers[number.code] = {"Value": value}
    response = _upload(manager, fill(template, answers))
    assert response.status_code == 200 and _latest(app).outcome == "previewed"
    return manager


def test_a_managers_upload_into_an_approved_report_loads_only_with_a_reason(app, people) -> None:
    _sid, number = _approved_report(app, people)
    manager = _upload_change(app, people, number, 40)
    upload = _latest(app)
    page = manager.get(f"/uploads/{upload.id}").get_data(as_text=True)
    assert "Reason for the correction (required)" in page and "Load these values" in page

    refused = _commit(manager, upload.id)
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "Correction of an approved report: give the reason for the correction." in body
    assert "Reason for the correction (required)" in body  # asked again, not a dead end
    assert _value(app, number.id).value == 17 and _latest(app).outcome == "previewed"
    assert _commit(manager, upload.id, reason=" ").status_code == 409

    assert _commit(manager, upload.id, reason=REASON).status_code == 303
    value = _value(app, number.id)
    assert value.value == 40 and value.source == "upload"
    assert _revisions(app, value.id)[-1].reason == (
        f"workbook upload {upload.id}; correction of an approved report by an RSO manager: {REASON}"
    )
    with open_session(app) as session:
        event = session.exec(
            select(AuditEvent).where(
                AuditEvent.entity_type == "upload", AuditEvent.entity_id == str(upload.id)
            )
        ).one()
        loaded = session.get(type(upload), upload.id)
    assert event.after["correction_reason"] == REASON and REASON in event.reason
    assert event.actor_id == people.manager.id
    assert (loaded.outcome, loaded.committed_by_id) == ("committed", people.manager.id)
    assert _approved_total(app, number.id, value.reporting_period_id) == 40


def test_a_managers_upload_into_a_closed_period_marks_the_late_correction(app, people) -> None:
    _sid, number = _approved_report(app, people)
    manager = _upload_change(app, people, number, 41)
    with app.app_context(), unit_of_work() as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
        ).one()
        period.status = "closed"
        session.add(period)
    upload = _latest(app)
    assert _commit(manager, upload.id).status_code == 409
    assert _commit(manager, upload.id, reason=REASON).status_code == 303
    value = _value(app, number.id)
    assert value.value == 41 and value.corrected_after_close
    assert REASON in _revisions(app, value.id)[-1].reason
