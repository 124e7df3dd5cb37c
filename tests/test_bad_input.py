"""Issue 15, items 3-5, through the web as a person would type them: each refused next to its
field with a plain message, and nothing written."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.accounts.models import AccountToken, User
from app.plan.models import Initiative
from app.progress.models import IndicatorValue
from app.scheduling.models import OutboxMessage
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in
from tests.test_submissions import _indicators, _open, _post


def _report_rows(app, people):
    """A number indicator counted by sex and a plain one, from Thailand's report form."""
    indicators = _indicators(app, people.thailand.id)
    by_sex = next(i for i in indicators if i.unit == "number" and i.by_sex)
    plain = next(i for i in indicators if i.unit == "number" and not i.by_sex)
    return by_sex, plain


def _error(body: str, field: str) -> str:
    start = body.index(f'id="{field}-error">') + len(f'id="{field}-error">')
    return body[start : body.index("<", start)]


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("value", "12.5", "must be a whole number (12, not 12.5)"),  # people are counted whole
        ("female", "2.5", "must be a whole number (2, not 2.5)"),
        ("value", "1.250", "write 1250 for the whole number, or 1.25"),
        ("value", "\u0663", "type the digits 0-9 only"),
        ("value", "\uff13", "type the digits 0-9 only"),
        ("value", "9" * 400, "too large"),
        ("evidence_url", "http://", "a web link must start with https:// or http://"),
        (
            "evidence_url",
            "https://example.org/" + "a" * 481,
            "keep the link to 500 characters or fewer (this one has 501)",
        ),
        ("narrative", "Bell\x01 rung", "contains control characters (U+0001)"),
    ],
)
def test_the_report_form_refuses_what_it_used_to_store(app, people, field, typed, message) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    by_sex, _plain = _report_rows(app, people)
    sid = _open(focal, app)
    form = {f"{by_sex.id}-value": "12", f"{by_sex.id}-{field}": typed}
    response = _post(focal, f"/submissions/{sid}/values", form, sid)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in _error(body, f"{by_sex.id}-{field}")
    with open_session(app) as session:
        assert session.exec(select(IndicatorValue)).all() == []
    assert focal.get(f"/submissions/{sid}").status_code == 200


def test_a_line_break_pasted_from_word_is_kept_as_a_line_break(app, people) -> None:
    focal = sign_in(app.test_client(), people.focal_point)
    _by_sex, plain = _report_rows(app, people)
    sid = _open(focal, app)
    form = {
        f"{plain.id}-value": "1,250",
        f"{plain.id}-narrative": "Two courses\x0bboth full\r\n",
    }
    assert _post(focal, f"/submissions/{sid}/values", form, sid).status_code == 303
    with open_session(app) as session:
        stored = session.exec(select(IndicatorValue)).one()
    assert (stored.value, stored.narrative) == (1250, "Two courses\nboth full")


def test_a_status_note_with_control_characters_is_refused_and_word_breaks_kept(app, people) -> None:
    manager = sign_in(app.test_client(), people.manager)
    with open_session(app) as session:
        initiative = session.exec(select(Initiative).where(Initiative.code == "2.2")).one()
    url = f"/initiatives/{initiative.id}/status"
    base = {"status": initiative.status, "rag": "at_risk", "csrf_token": csrf_of(manager)}
    refused = manager.post(
        url, data={**base, "rag_note": "Venue\x01 unknown", "version": initiative.version}
    )
    assert refused.status_code == 422
    assert "contains control characters (U+0001)" in refused.get_data(as_text=True)
    saved = manager.post(
        url, data={**base, "rag_note": "Venue\x0bunknown", "version": initiative.version}
    )
    assert saved.status_code in (200, 303)
    with open_session(app) as session:
        assert session.get(Initiative, initiative.id).rag_note == "Venue\nunknown"
    assert manager.get("/summary.xlsx").status_code == 200


@pytest.mark.parametrize(
    "address", ["a@b.example,c@evil.example", "a@b.example c@evil.example", "a@b.example;c@d.org"]
)
def test_an_address_naming_two_recipients_is_refused_so_no_link_can_reach_both(
    app, people, address
) -> None:
    admin = sign_in(app.test_client(), people.admin)
    response = admin.post(
        "/admin/users",
        data={
            "email": address,
            "full_name": "Two People",
            "roles": ["reviewer"],
            "csrf_token": csrf_of(admin),
        },
    )
    assert response.status_code == 422
    assert "enter an e-mail address such as name@example.org" in response.get_data(as_text=True)
    with open_session(app) as session:
        assert session.exec(select(User).where(User.full_name == "Two People")).all() == []
        assert session.exec(select(AccountToken)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


def test_an_address_is_stored_in_lower_case(app, people) -> None:
    admin = sign_in(app.test_client(), people.admin)
    response = admin.post(
        "/admin/users",
        data={
            "email": " New.Person@Example.ORG ",
            "full_name": "New Person",
            "roles": ["reviewer"],
            "csrf_token": csrf_of(admin),
        },
    )
    assert response.status_code == 200
    with open_session(app) as session:
        user = session.exec(select(User).where(User.full_name == "New Person")).one()
    assert user.email == "new.person@example.org"
