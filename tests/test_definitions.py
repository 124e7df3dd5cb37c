"""Changing an indicator's definition never loses what was reported against it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import unit_of_work
from app.plan.models import Indicator, IndicatorPeriodTarget, ReportingPeriod
from app.progress.models import IndicatorValue
from app.progress.services import ValueInput, record_indicator_value
from app.validation import InputError
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in


def _indicator_with_a_value(app, people) -> Indicator:
    with app.app_context(), unit_of_work() as session:
        indicator = session.exec(select(Indicator).where(Indicator.code == "3.1.c")).one()
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q1")
        ).one()
        record_indicator_value(
            session, ValueInput(indicator.id, period.id, people.thailand.id, value=12), source="web"
        )
        return indicator


def _form(indicator: Indicator, **changes) -> dict[str, str]:
    form = {
        "title": indicator.title,
        "unit": indicator.unit,
        "direction": indicator.direction,
        "aggregation": indicator.aggregation,
        "target_value": "" if indicator.target_value is None else f"{indicator.target_value:g}",
        "baseline_value": (
            "" if indicator.baseline_value is None else f"{indicator.baseline_value:g}"
        ),
        "baseline_date": indicator.baseline_date.isoformat() if indicator.baseline_date else "",
        "means_of_verification": indicator.means_of_verification,
        "version": str(indicator.version),
    }
    for flag in ("by_member_state", "by_sex", "is_proposed"):
        if getattr(indicator, flag):
            form[flag] = "on"
    form.update(changes)
    return form


def test_changing_the_target_after_values_exist_needs_a_reason(app, people) -> None:
    indicator = _indicator_with_a_value(app, people)
    manager = sign_in(app.test_client(), people.manager)
    url = f"/indicators/{indicator.id}/edit"
    refused = manager.post(
        url, data={**_form(indicator, target_value="2"), "csrf_token": csrf_of(manager)}
    )
    assert refused.status_code == 422
    assert "say why the definition changes" in refused.get_data(as_text=True)
    assert 'value="2"' in refused.get_data(as_text=True)

    saved = manager.post(
        url,
        data={
            **_form(indicator, target_value="2", reason="Co-chairs agreed a faster turnaround"),
            "csrf_token": csrf_of(manager),
        },
    )
    assert saved.status_code == 303
    with open_session(app) as session:
        assert session.get(Indicator, indicator.id).target_value == 2
        assert session.exec(select(IndicatorValue.value)).all() == [12]  # untouched
        event = session.exec(
            select(AuditEvent).where(
                AuditEvent.entity_type == "indicator", AuditEvent.action == "update"
            )
        ).one()
    assert event.reason == "Co-chairs agreed a faster turnaround"
    assert event.after["target_value"] == 2


def test_a_title_change_needs_no_reason_and_period_targets_are_kept(app, people) -> None:
    indicator = _indicator_with_a_value(app, people)
    manager = sign_in(app.test_client(), people.manager)
    with open_session(app) as session:
        q1 = session.exec(select(ReportingPeriod).where(ReportingPeriod.code == "2026-Q1")).one()
    url = f"/indicators/{indicator.id}/edit"
    with_target = manager.post(
        url,
        data={
            **_form(indicator),
            f"target-{q1.id}": "5",
            "reason": "Quarterly milestones agreed",
            "csrf_token": csrf_of(manager),
        },
    )
    assert with_target.status_code == 303
    with open_session(app) as session:
        indicator = session.get(Indicator, indicator.id)
    renamed = manager.post(
        url,
        data={
            **_form(indicator, title="Days to answer a request"),
            f"target-{q1.id}": "5",
            "csrf_token": csrf_of(manager),
        },
    )
    assert renamed.status_code == 303
    with open_session(app) as session:
        assert session.get(Indicator, indicator.id).title == "Days to answer a request"
        assert session.get(IndicatorPeriodTarget, (indicator.id, q1.id)).target_value == 5


def test_bad_definition_input_is_explained(app, people) -> None:
    indicator = _indicator_with_a_value(app, people)
    manager = sign_in(app.test_client(), people.manager)
    response = manager.post(
        f"/indicators/{indicator.id}/edit",
        data={
            **_form(
                indicator,
                unit="percentage",
                target_value="150",
                baseline_date="31/12/2024",
                title="",
            ),
            "csrf_token": csrf_of(manager),
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "a percentage is between 0 and 100" in body
    # 3.1.c is averaged over the states; a percentage combines from its parts instead.
    assert "only a number is averaged over the member states" in body
    assert "enter a date as YYYY-MM-DD" in body
    assert "enter a title" in body


def test_a_stale_definition_edit_is_a_conflict(app, people) -> None:
    indicator = _indicator_with_a_value(app, people)
    manager = sign_in(app.test_client(), people.manager)
    url = f"/indicators/{indicator.id}/edit"
    manager.post(url, data={**_form(indicator, title="First"), "csrf_token": csrf_of(manager)})
    clash = manager.post(
        url, data={**_form(indicator, title="Second"), "csrf_token": csrf_of(manager)}
    )
    assert clash.status_code == 409
    assert 'value="Second"' in clash.get_data(as_text=True)


def test_a_quarter_that_has_not_ended_cannot_be_closed(app, people, monkeypatch) -> None:
    from app.plan import periods
    from app.plan.periods import close_period

    monkeypatch.setattr(periods, "office_today", lambda: date(2026, 11, 23))
    manager = sign_in(app.test_client(), people.manager)
    with open_session(app) as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2026-Q4")
        ).one()
    listing = manager.get("/periods").get_data(as_text=True)
    row = listing[listing.index(">2026-Q4<") : listing.index("</tr>", listing.index(">2026-Q4<"))]
    assert "Not over yet" in row and "Close period" not in row
    response = manager.post(f"/periods/{period.id}/close", data={"csrf_token": csrf_of(manager)})
    assert response.status_code == 303
    page = manager.get(response.location).get_data(as_text=True)
    assert "2026-Q4 runs until 31 Dec 2026: it can be closed from 01 Jan 2027" in page
    with open_session(app) as session:
        assert session.get(ReportingPeriod, period.id).status == "open"
        with pytest.raises(InputError):
            close_period(session, period.id, today=date(2026, 12, 31))
        assert close_period(session, period.id, today=date(2027, 1, 1)).status == "closed"


def test_a_manager_closes_a_period(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    with open_session(app) as session:
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2024-Q1")
        ).one()
    response = manager.post(f"/periods/{period.id}/close", data={"csrf_token": csrf_of(manager)})
    assert response.status_code == 303
    with open_session(app) as session:
        closed = session.get(ReportingPeriod, period.id)
    assert closed.status == "closed" and closed.closed_at is not None
    assert (
        manager.post("/periods/99999/close", data={"csrf_token": csrf_of(manager)}).status_code
        == 404
    )


# Issue 15, item 3: what the definition form let through, and what it now says instead.
@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("target_value", "9" * 400, "too large: at most 15 digits before the decimal point"),
        ("target_value", "1.250", "write 1250 for the whole number, or 1.25 for the decimal"),
        ("target_value", "\u0663", "type the digits 0-9 only"),  # Arabic-Indic three
        ("target_value", "\uff13", "type the digits 0-9 only"),  # full-width three
        ("target_value", "-5", "cannot be negative"),
        ("baseline_value", "-1", "cannot be negative"),
        ("baseline_date", "0001-01-01", "enter a date between 1 Jan 2000 and 31 Dec 2100"),
        ("baseline_date", "9999-12-31", "enter a date between 1 Jan 2000 and 31 Dec 2100"),
    ],
)
def test_impossible_targets_and_dates_are_refused_and_every_page_still_opens(
    app, people, field, typed, message
) -> None:
    indicator = _indicator_with_a_value(app, people)
    manager = sign_in(app.test_client(), people.manager)
    form = _form(indicator, reason="Checking what the form refuses", **{field: typed})
    response = manager.post(
        f"/indicators/{indicator.id}/edit", data={**form, "csrf_token": csrf_of(manager)}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    error = body[body.index(f'id="{field}-error">') :]
    assert message in error[: error.index("<")]
    assert f'value="{typed}"' in body  # shown back as typed
    with open_session(app) as session:
        stored = session.get(Indicator, indicator.id)
        assert (stored.target_value, stored.baseline_value, stored.baseline_date) == (
            indicator.target_value,
            indicator.baseline_value,
            indicator.baseline_date,
        )
        goal_id = indicator.strategic_goal_id
    pages = ["/", f"/indicators/{indicator.id}", f"/indicators/{indicator.id}/edit", "/summary"]
    if goal_id:
        pages.append(f"/goals/{goal_id}")
    for page in pages:
        assert manager.get(page).status_code == 200, page


def test_a_period_target_is_read_by_the_same_rule(app, people) -> None:
    indicator = _indicator_with_a_value(app, people)
    manager = sign_in(app.test_client(), people.manager)
    with open_session(app) as session:
        q1 = session.exec(select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q1")).one()
    url = f"/indicators/{indicator.id}/edit"
    reason = "Targets agreed at the annual meeting"
    refused = manager.post(
        url,
        data={
            **_form(indicator, reason=reason, **{f"target-{q1.id}": "9" * 400}),
            "csrf_token": csrf_of(manager),
        },
    )
    assert refused.status_code == 422
    assert f'id="target-{q1.id}-error">too large' in refused.get_data(as_text=True)
    saved = manager.post(
        url,
        data={
            **_form(indicator, reason=reason, **{f"target-{q1.id}": "1,250"}),
            "csrf_token": csrf_of(manager),
        },
    )
    assert saved.status_code == 303
    with open_session(app) as session:
        assert session.get(IndicatorPeriodTarget, (indicator.id, q1.id)).target_value == 1250
