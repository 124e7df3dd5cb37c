"""Every route against every role: a route without a declared rule fails this suite."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlmodel import select

from app.accounts.policy import rule_for
from app.plan.models import (
    Activity,
    FocusArea,
    Indicator,
    Initiative,
    ReportingPeriod,
    StrategicGoal,
)
from tests.conftest import open_session
from tests.fixtures_accounts import People, csrf_of, sign_in

ROLES = ("admin", "manager", "focal_point", "reviewer")
EVERYONE = {"anonymous", *ROLES}
SIGNED_IN = set(ROLES)

# endpoint -> who may use it. Adding a route means adding it here, on purpose.
EXPECTED: dict[str, set[str]] = {
    "static": EVERYONE,
    "vendor_asset": EVERYONE,
    "accounts.login": EVERYONE,
    "accounts.set_password": EVERYONE,
    "accounts.logout": SIGNED_IN,
    "accounts.change_password": SIGNED_IN,
    "accounts.users": {"admin"},
    "accounts.invite_user": {"admin"},
    "accounts.edit_user": {"admin"},
    "accounts.reset_link": {"admin"},
    "audit.trail": {"admin", "manager"},
    "plan.overview": SIGNED_IN,
    "plan.focus_area": SIGNED_IN,
    "plan.goal": SIGNED_IN,
    "plan.initiative": SIGNED_IN,
    "plan.indicator": SIGNED_IN,
    "plan.member_states": SIGNED_IN,
    "plan.periods": SIGNED_IN,
    "plan.update_status": {"manager"},
    "plan.edit_indicator": {"manager"},
    "plan.close_period": {"manager"},
    "imports.index": {"manager", "focal_point"},
    "imports.template": {"manager", "focal_point"},
    "imports.upload": {"manager", "focal_point"},
    "imports.show": {"manager", "focal_point"},
    "imports.commit": {"manager", "focal_point"},
    "imports.annotated": {"manager", "focal_point"},
    "imports.original": {"manager", "admin"},
    "scheduling.schedules": {"admin"},
    "scheduling.edit_schedule": {"admin"},
    "scheduling.run_now": {"admin"},
    "scheduling.runs": {"admin"},
    "scheduling.outbox": {"admin"},
    "scheduling.message": {"admin"},
    "progress.work": SIGNED_IN,
    "progress.index": {"manager", "focal_point"},
    "progress.open_report": {"manager", "focal_point"},
    "progress.show": {"manager", "focal_point"},
    "progress.save": {"manager", "focal_point"},
    "progress.approve": {"manager"},
    "progress.send_back": {"manager"},
    "activities.new_activity": {"manager"},
    "activities.edit_activity": {"manager"},
    "activities.delete_activity": {"manager"},
    "activities.participant_row": {"manager"},
    "reports.summary": SIGNED_IN,
    "reports.summary_xlsx": SIGNED_IN,
    "reports.summary_csv_export": SIGNED_IN,
    "reports.snapshot": SIGNED_IN,
    "reports.snapshot_xlsx": SIGNED_IN,
    "reports.snapshot_csv": SIGNED_IN,
}


def test_every_route_is_listed_and_declares_a_rule(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(EXPECTED), "a route was added or removed: update EXPECTED"
    undeclared = [e for e in endpoints if rule_for(app, e) is None]
    assert undeclared == []


def _thai_submission_id(app: Flask, people: People) -> int:
    from app.accounts.services import viewer_for
    from app.db import unit_of_work
    from app.progress.submissions import open_submission

    with app.app_context(), unit_of_work() as session:
        period = session.exec(select(ReportingPeriod)).first()
        viewer = viewer_for(session, people.manager)
        return open_submission(session, people.thailand.id, period.id, viewer).id


def _thai_upload_id(app: Flask, people: People, submission_id: int) -> int:
    """A refused upload for Thailand, archived, so every upload route has something to show."""
    from pathlib import Path

    from app.db import unit_of_work
    from app.imports.models import Upload

    archive = Path(app.config["STORAGE_DIR"], "archive")
    archive.mkdir(parents=True, exist_ok=True)
    (archive / ("0" * 64 + ".xlsx")).write_bytes(b"not a workbook")
    with app.app_context(), unit_of_work() as session:
        upload = Upload(
            original_name="x.xlsx",
            stored_name="0" * 64 + ".xlsx",
            file_sha256="0" * 64,
            size_bytes=14,
            outcome="refused",
            member_state_id=people.thailand.id,
            submission_id=submission_id,
            problems=[{"sheet": "", "cell": "", "message": "not a workbook"}],
        )
        session.add(upload)
        session.flush()
        return upload.id


def _sample_args(app: Flask, people: People) -> dict[str, dict]:
    submission_id = _thai_submission_id(app, people)
    upload_id = _thai_upload_id(app, people, submission_id)
    with open_session(app) as session:
        ids = {
            "focus_area_id": session.exec(select(FocusArea.id)).first(),
            "goal_id": session.exec(select(StrategicGoal.id)).first(),
            "initiative_id": session.exec(select(Initiative.id)).first(),
            "indicator_id": session.exec(select(Indicator.id)).first(),
            "period_id": session.exec(select(ReportingPeriod.id)).first(),
            "activity_id": session.exec(select(Activity.id)).first(),
        }
    return {
        "static": {"filename": "css/app.css"},
        "vendor_asset": {"name": "htmx.min.js"},
        "accounts.set_password": {"token": "not-a-real-token"},
        "accounts.edit_user": {"user_id": people.reviewer.id},
        "accounts.reset_link": {"user_id": people.reviewer.id},
        "plan.focus_area": {"focus_area_id": ids["focus_area_id"]},
        "plan.goal": {"goal_id": ids["goal_id"]},
        "plan.initiative": {"initiative_id": ids["initiative_id"]},
        "plan.update_status": {"initiative_id": ids["initiative_id"]},
        "scheduling.edit_schedule": {"schedule_id": 1},
        "scheduling.run_now": {"job": "imports-scan"},
        "scheduling.message": {"message_id": 1},
        **{
            endpoint: {"upload_id": upload_id}
            for endpoint in (
                "imports.show",
                "imports.commit",
                "imports.annotated",
                "imports.original",
            )
        },
        **{
            endpoint: {"submission_id": submission_id}
            for endpoint in (
                "progress.show",
                "progress.save",
                "progress.approve",
                "progress.send_back",
            )
        },
        "plan.indicator": {"indicator_id": ids["indicator_id"]},
        "plan.edit_indicator": {"indicator_id": ids["indicator_id"]},
        "plan.close_period": {"period_id": ids["period_id"]},
        **{
            endpoint: {"period_id": ids["period_id"]}
            for endpoint in ("reports.snapshot", "reports.snapshot_xlsx", "reports.snapshot_csv")
        },
        "activities.new_activity": {"initiative_id": ids["initiative_id"]},
        "activities.edit_activity": {"activity_id": ids["activity_id"]},
        "activities.delete_activity": {"activity_id": ids["activity_id"]},
    }


def _requests(app: Flask, people: People) -> list[tuple[str, str, str]]:
    args = _sample_args(app, people)
    result = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            url = url_for(rule.endpoint, **args.get(rule.endpoint, {}))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                result.append((rule.endpoint, method, url))
    # Signing out ends the session, so it goes last.
    return sorted(result, key=lambda r: r[0] == "accounts.logout")


@pytest.mark.parametrize("who", ["anonymous", *ROLES])
def test_each_role_gets_exactly_what_the_policy_says(app, people, who) -> None:
    client = app.test_client()
    if who != "anonymous":
        sign_in(client, people.by_role({"manager": "manager"}.get(who, who)))
    outcomes = {}
    for endpoint, method, url in _requests(app, people):
        data = {"csrf_token": csrf_of(client)}
        response = client.open(url, method=method, data=data if method == "POST" else None)
        allowed = who in EXPECTED[endpoint]
        if allowed:
            # A refused log-in (401) is the log-in page doing its job, not a denial.
            refused = response.status_code == 403 or (
                response.status_code == 401 and endpoint != "accounts.login"
            )
            ok = not refused and not (
                response.status_code == 302
                and "/login" in response.location
                and endpoint not in ("accounts.logout", "accounts.login")
            )
        elif who == "anonymous":
            ok = response.status_code == 302 and "/login?next=" in response.location
        else:
            ok = response.status_code == 403 and b"You do not have permission" in response.data
        outcomes[(endpoint, method)] = (ok, response.status_code)
        response.close()
    wrong = {k: v[1] for k, v in outcomes.items() if not v[0]}
    assert wrong == {}
