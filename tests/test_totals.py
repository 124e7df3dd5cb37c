"""The approved totals the summaries read: kept equal to the values by every write path."""

from __future__ import annotations

import threading
from datetime import date

from flask import Flask
from sqlmodel import Session, select

from app.accounts.services import viewer_for
from app.db import unit_of_work
from app.plan.models import Indicator
from app.progress import totals
from app.progress.models import ApprovedLatestValue, ApprovedPeriodTotal, Submission
from app.progress.submissions import approve, submit
from tests import factories, summary_data
from tests.conftest import open_session
from tests.fixtures_accounts import People, sign_in
from tests.test_submissions import _indicators, _open, _post, filled_form


def _period_total(session: Session, indicator_id: int, period_id: int) -> ApprovedPeriodTotal:
    return session.get(ApprovedPeriodTotal, (period_id, indicator_id))


def test_approving_then_correcting_a_report_keeps_the_totals(app: Flask, people: People) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    manager = sign_in(app.test_client(), people.manager)
    indicators = _indicators(app, people.thailand.id)
    number = next(i for i in indicators if i.unit == "number" and not i.by_sex)
    sid = _open(focal, app)
    form = filled_form(indicators)
    form[f"{number.id}-value"] = "17"
    _post(focal, f"/submissions/{sid}/values", {**form, "then": "submit"}, sid)
    with open_session(app) as session:
        period_id = session.get(Submission, sid).reporting_period_id
        assert _period_total(session, number.id, period_id) is None  # submitted only

    assert _post(manager, f"/submissions/{sid}/approve", {}, sid).status_code == 303
    with open_session(app) as session:
        assert _period_total(session, number.id, period_id).value_sum == 17
        latest = session.exec(
            select(ApprovedLatestValue).where(
                ApprovedLatestValue.indicator_id == number.id,
                ApprovedLatestValue.member_state_id == people.thailand.id,
            )
        ).all()
        # As of the period reported and every later one, never an earlier one.
        assert latest and {row.value for row in latest} == {17}
        assert all(row.reporting_period_id == period_id for row in latest)
        assert totals.differences(session) == []

    form[f"{number.id}-value"] = "25"  # a manager corrects the approved report
    form["correction_reason"] = "The ministry sent the final count"
    corrected = _post(manager, f"/submissions/{sid}/values", form, sid)
    assert corrected.status_code == 303, corrected.get_data(as_text=True)
    with open_session(app) as session:
        assert _period_total(session, number.id, period_id).value_sum == 25
        assert totals.differences(session) == []


def test_each_state_s_latest_value_stands_until_a_newer_one_is_approved(session: Session) -> None:
    data = summary_data.make_fixture(session)
    q3 = factories.make_period(session, 2025, 3)
    running = factories.make_indicator(
        session, data.initiative, [data.atlantis], code="RUN", aggregation="cumulative"
    )
    q1 = session.exec(
        select(Submission).where(
            Submission.member_state_id == data.atlantis.id,
            Submission.reporting_period_id == data.q1.id,
        )
    ).one()
    summary_data.value(session, running, q1, 4)
    later = summary_data.submission(session, data.atlantis, q3, "submitted", date(2025, 10, 1))
    summary_data.value(session, running, later, 9)  # not approved yet: Q1's 4 still stands

    def as_of(period_id: int) -> float | None:
        row = session.get(ApprovedLatestValue, (period_id, running.id, data.atlantis.id))
        return None if row is None else row.value

    assert [as_of(p.id) for p in (data.q1, data.q2, q3)] == [4, 4, 4]
    manager = factories.make_user(session, ["rso_manager"])
    approve(session, later, viewer_for(session, manager), expected_version=later.version)
    assert [as_of(p.id) for p in (data.q1, data.q2, q3)] == [4, 4, 9]
    assert totals.differences(session) == []


def test_only_approved_values_are_totalled(session: Session) -> None:
    data = summary_data.make_fixture(session)
    # Atlantis Q1 (approved) 30; Borduria Q1 (submitted) 1000 is left out.
    assert _period_total(session, data.increase.id, data.q1.id).value_sum == 30
    # Borduria Q2 (approved) 20; Atlantis Q2 (returned) 500 is left out.
    assert _period_total(session, data.increase.id, data.q2.id).value_sum == 20
    pct = _period_total(session, data.percentage.id, data.q2.id)
    assert (pct.numerator_sum, pct.denominator_sum) == (90, 100)
    assert totals.differences(session) == []


def test_the_check_command_finds_a_total_that_drifted_and_rebuild_mends_it(
    app: Flask, runner
) -> None:
    with app.app_context(), unit_of_work() as session:
        data = summary_data.make_fixture(session)
        indicator_id, period_id = data.increase.id, data.q1.id
    assert runner.invoke(args=["totals", "check"]).exit_code == 0

    with app.app_context(), unit_of_work() as session:
        _period_total(session, indicator_id, period_id).value_sum = 31  # written past the app
    checked = runner.invoke(args=["totals", "check"])
    assert checked.exit_code == 1
    assert f"approved_period_total ({period_id}, {indicator_id})" in checked.output
    assert "kept (31.0" in checked.output and "computed (30.0" in checked.output
    assert "totals rebuild" in checked.output

    rebuilt = runner.invoke(args=["totals", "rebuild"])
    assert rebuilt.exit_code == 0 and "rebuilt:" in rebuilt.output
    assert runner.invoke(args=["totals", "check"]).exit_code == 0
    with app.app_context(), unit_of_work() as session:
        assert _period_total(session, indicator_id, period_id).value_sum == 30


def test_two_approvals_in_one_period_at_once_both_count(app: Flask) -> None:
    """The second approval waits for the first to commit, then totals both states' values
    (without the lock, each would total the period without the other's values)."""
    with app.app_context(), unit_of_work() as session:
        data = summary_data.make_fixture(session)
        q3 = factories.make_period(session, 2025, 3)
        manager = factories.make_user(session, ["rso_manager"])
        ids = []
        for state, number in ((data.atlantis, 3), (data.borduria, 5)):
            sub = summary_data.submission(session, state, q3, "submitted", date(2025, 10, 1))
            summary_data.value(session, data.increase, sub, number)
            ids.append(sub.id)
        manager_id, indicator_id, period_id = manager.id, data.increase.id, q3.id

    first_approved = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def approve_in_own_transaction(submission_id: int, hold: bool) -> None:
        try:
            with app.app_context(), unit_of_work() as session:
                viewer = viewer_for(session, session.get(type(manager), manager_id))
                sub = session.get(Submission, submission_id)
                approve(session, sub, viewer, expected_version=sub.version)
                if hold:
                    first_approved.set()
                    release_first.wait(10)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    first = threading.Thread(target=approve_in_own_transaction, args=(ids[0], True))
    second = threading.Thread(target=approve_in_own_transaction, args=(ids[1], False))
    first.start()
    assert first_approved.wait(10)
    second.start()
    second.join(1.0)
    assert second.is_alive(), "the second approval should wait for the first to commit"
    release_first.set()
    first.join(20)
    second.join(20)
    assert not errors, errors
    with open_session(app) as session:
        assert _period_total(session, indicator_id, period_id).value_sum == 8


def test_the_migration_totals_the_values_already_stored(app: Flask, database_url: str) -> None:
    from app import schema

    with app.app_context(), unit_of_work() as session:
        summary_data.make_fixture(session)
    engine = app.extensions["db_engine"]
    schema.downgrade(engine, database_url, "0006")  # before the totals existed
    schema.upgrade(engine, database_url)
    with open_session(app) as session:
        kept = session.exec(select(ApprovedPeriodTotal)).all()
        assert {(t.value_sum, t.yes_count) for t in kept} >= {(30.0, 0), (20.0, 0)}
        assert session.exec(select(ApprovedLatestValue)).first() is not None
        assert totals.differences(session) == []


def test_a_managers_upload_into_an_approved_report_keeps_the_totals(app: Flask, people) -> None:
    from tests.test_imports import _commit, _latest, _period_id, _upload
    from tests.workbooks import download_template, fill, valid_answers

    manager = sign_in(app.test_client(), people.manager)
    template = download_template(manager, _period_id(app), people.malaysia.id)
    answers = valid_answers(template)
    code = next(c for c, a in answers.items() if a.get("Value") == 7)
    _upload(manager, fill(template, answers))
    assert _commit(manager, _latest(app).id).status_code == 303
    with app.app_context(), unit_of_work() as session:
        sub = session.exec(select(Submission)).one()
        approver = factories.make_user(session, ["rso_manager"])
        submit(session, sub, viewer_for(session, people.manager), expected_version=sub.version)
        approve(session, sub, viewer_for(session, approver), expected_version=sub.version)
        indicator_id = session.exec(select(Indicator.id).where(Indicator.code == code)).one()
        period_id = sub.reporting_period_id
    with open_session(app) as session:
        assert _period_total(session, indicator_id, period_id).value_sum == 7

    answers[code]["Value"] = 12  # the manager corrects the approved report by workbook
    _upload(manager, fill(template, answers))
    assert _commit(manager, _latest(app).id, reason="Final count").status_code == 303
    with open_session(app) as session:
        assert _period_total(session, indicator_id, period_id).value_sum == 12
        assert totals.differences(session) == []


def test_a_huge_list_of_changed_indicators_is_not_sent_as_parameters(session: Session) -> None:
    """A 50,000-row upload changes as many indicators: more than PostgreSQL's 65,535 bound
    parameters once listed twice; the refresh then recomputes the whole submission."""
    data = summary_data.make_fixture(session)
    approved = session.exec(
        select(Submission).where(
            Submission.member_state_id == data.atlantis.id,
            Submission.reporting_period_id == data.q1.id,
        )
    ).one()
    many = [data.increase.id, *range(10_000_000, 10_070_000)]
    totals.refresh_for_submission(session, approved, many)
    assert _period_total(session, data.increase.id, data.q1.id).value_sum == 30
    assert totals.differences(session) == []


def test_upgrading_recomputes_totals_a_migration_left_behind(app: Flask, runner) -> None:
    """Migration 0013 turns stored infinities into NULL; the totals derived from them are
    recomputed by `flask db upgrade`, so the summaries never read what the values no longer say."""
    with app.app_context(), unit_of_work() as session:
        data = summary_data.make_fixture(session)
        indicator_id, period_id = data.increase.id, data.q1.id
    with app.app_context(), unit_of_work() as session:
        _period_total(session, indicator_id, period_id).value_sum = 31  # as a migration left it

    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "approved totals recomputed from the values" in upgraded.output
    with app.app_context(), unit_of_work() as session:
        assert _period_total(session, indicator_id, period_id).value_sum == 30
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0 and "recomputed" not in again.output  # only when they differ
