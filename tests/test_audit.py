"""The audit trail records who changed what, with values before and after."""

from __future__ import annotations

from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.audit.services import set_actor
from app.db import unit_of_work
from app.plan.models import Initiative
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in


def _events(app, **where) -> list[AuditEvent]:
    with open_session(app) as session:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        return list(session.exec(query).all())


def test_an_update_records_actor_and_before_and_after(app, people) -> None:
    with app.app_context(), unit_of_work() as session:
        set_actor(session, people.manager.id, "Manager <manager@example.org>")
        initiative = session.exec(select(Initiative).where(Initiative.code == "2.2")).one()
        old_title = initiative.title
        initiative.title = "Regional OSINT training, second edition"
        session.add(initiative)
    [event] = _events(app, entity_type="initiative", action="update")
    assert event.actor_id == people.manager.id
    assert event.entity_id == str(initiative.id)
    assert event.before == {"title": old_title}
    assert event.after == {"title": "Regional OSINT training, second edition"}


def test_creating_and_disabling_a_user_through_the_pages_is_audited(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    admin.post(
        "/admin/users",
        data={
            "email": "auditor@example.org",
            "full_name": "Aud Itor",
            "roles": ["reviewer"],
            "csrf_token": csrf_of(admin),
        },
    )
    [created] = [
        e
        for e in _events(app, entity_type="user", action="create")
        if e.after["email"] == "auditor@example.org"
    ]
    assert created.actor_id == people.admin.id
    assert created.after["full_name"] == "Aud Itor"
    assert created.after["password_hash"] is None  # invited: no password yet, never a hash

    admin.post(
        f"/admin/users/{created.entity_id}",
        data={"full_name": "Aud Itor", "roles": ["reviewer"], "csrf_token": csrf_of(admin)},
    )
    updates = _events(app, entity_type="user", action="update", entity_id=created.entity_id)
    assert updates[-1].before["is_active"] is True and updates[-1].after["is_active"] is False


def test_password_hashes_never_reach_the_trail(app, people) -> None:
    client = sign_in(app.test_client(), people.reviewer)
    new = "another long passphrase"
    client.post(
        "/account/password",
        data={
            "current_password": "correct horse battery staple",
            "new_password": new,
            "repeat_password": new,
            "csrf_token": csrf_of(client),
        },
    )
    [change] = [
        e
        for e in _events(app, entity_type="user", action="update")
        if "password_hash" in (e.after or {})
    ]
    assert change.after["password_hash"] == "(changed)"
    assert "argon2" not in str(change.before) + str(change.after)


def test_the_audit_page_filters_by_kind_and_user(app, people) -> None:
    with app.app_context(), unit_of_work() as session:
        set_actor(session, people.manager.id, "Malee <manager@example.org>")
        initiative = session.exec(select(Initiative).where(Initiative.code == "3.1")).one()
        initiative.rag_note = "Venue confirmed"
        session.add(initiative)
    manager = sign_in(app.test_client(), people.manager)
    page = manager.get(f"/audit?entity_type=initiative&actor={people.manager.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "1 change." in body
    assert "Venue confirmed" in body
    fragment = manager.get("/audit?entity_type=user", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).startswith('<div id="audit-results">')


def test_bad_audit_filters_explain_themselves(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    body = manager.get(
        "/audit?entity_type=spaceship&date_from=yesterday&date_to=2020-01-01"
    ).get_data(as_text=True)
    assert "unknown kind &#39;spaceship&#39;" in body
    assert "is not a date" in body


def test_the_trail_cannot_be_changed_through_the_app(app) -> None:
    methods = {
        m
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("audit.")
        for m in rule.methods
    }
    assert methods <= {"GET", "HEAD", "OPTIONS"}


def test_values_written_in_bulk_are_audited_like_any_other_change(app, people) -> None:
    from app.accounts.services import viewer_for
    from app.plan.models import ReportingPeriod
    from app.progress.models import IndicatorValueRevision
    from app.progress.services import ValueInput
    from app.progress.submissions import apply_entries, open_submission, reported_indicators

    with app.app_context(), unit_of_work() as session:
        set_actor(session, people.focal_point.id, "Focal point")
        viewer = viewer_for(session, people.focal_point)
        period = session.exec(
            select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
        ).one()
        state_id = people.focal_point.member_state_id
        indicator = next(
            i for i in reported_indicators(session, state_id, period) if i.unit == "number"
        )
        submission = open_submission(session, state_id, period.id, viewer)

        def entry(value: float) -> ValueInput:
            return ValueInput(indicator.id, period.id, state_id, value=value, narrative="n")

        assert (
            apply_entries(
                session, submission, [entry(4)], viewer, source="web", closed_correction=False
            )
            == 1
        )
        assert (
            apply_entries(
                session, submission, [entry(4)], viewer, source="web", closed_correction=False
            )
            == 0
        )  # unchanged: nothing written
        assert (
            apply_entries(
                session, submission, [entry(6)], viewer, source="upload", closed_correction=False
            )
            == 1
        )
    created, updated = _events(app, entity_type="indicator_value")
    assert (created.action, updated.action) == ("create", "update")
    assert created.actor_id == updated.actor_id == people.focal_point.id
    assert created.after["value"] == 4 and created.after["version"] == 1
    assert updated.before["value"] == 4 and updated.after["value"] == 6
    assert updated.before["source"] == "web" and updated.after["source"] == "upload"
    assert "narrative" not in updated.after  # only what changed
    with open_session(app) as session:
        revisions = session.exec(
            select(IndicatorValueRevision).order_by(col(IndicatorValueRevision.version))
        ).all()
    assert [(r.version, r.value, r.source) for r in revisions] == [(1, 4, "web"), (2, 6, "upload")]
