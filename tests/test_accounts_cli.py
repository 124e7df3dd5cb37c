"""Bootstrapping an install from the command line."""

from __future__ import annotations

from sqlmodel import select

from app.accounts import services
from app.accounts.models import LoginFailure, User, UserRole
from app.db import unit_of_work
from tests.conftest import open_session


def test_create_the_first_admin_and_sign_in(app, runner, client) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--email",
            "Chief@RSO.example",
            "--name",
            "Chief Admin",
            "--password-stdin",
        ],
        input="a strong admin passphrase\n",
    )
    assert result.exit_code == 0, result.output
    with open_session(app) as session:
        user = session.exec(select(User).where(User.email == "chief@rso.example")).one()
        assert session.get(UserRole, (user.id, "admin")) is not None
    client.get("/login")
    from tests.fixtures_accounts import csrf_of

    response = client.post(
        "/login",
        data={
            "email": "chief@rso.example",
            "password": "a strong admin passphrase",
            "csrf_token": csrf_of(client),
        },
    )
    assert response.status_code == 302


def test_create_admin_refuses_bad_input_plainly(runner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--email",
            "not-an-email",
            "--name",
            "X",
            "--password-stdin",
        ],
        input="short\n",
    )
    assert result.exit_code == 1
    assert "email: enter an e-mail address" in result.output
    assert "password: use at least 12 characters" in result.output
    assert "Traceback" not in result.output


def test_reset_password_from_the_command_line(app, runner, people) -> None:
    result = runner.invoke(
        args=["users", "reset-password", people.reviewer.email, "--password-stdin"],
        input="a fresh new passphrase\n",
    )
    assert result.exit_code == 0, result.output
    missing = runner.invoke(
        args=["users", "reset-password", "ghost@example.org", "--password-stdin"],
        input="a fresh new passphrase\n",
    )
    assert missing.exit_code == 1
    assert "no user has the e-mail address ghost@example.org" in missing.output


def test_a_command_line_reset_revokes_unused_links(app, runner, people) -> None:
    with app.app_context(), unit_of_work() as session:
        token = services.issue_token(session, people.reviewer.id, "reset", people.admin.id)
    link = f"/account/set-password/{token}"
    assert app.test_client().get(link).status_code == 200
    result = runner.invoke(
        args=["users", "reset-password", people.reviewer.email, "--password-stdin"],
        input="a fresh new passphrase\n",
    )
    assert result.exit_code == 0, result.output
    page = app.test_client().get(link)
    assert page.status_code == 400
    assert "no longer valid" in page.get_data(as_text=True)


def test_a_command_line_reset_lifts_the_lockout(app, runner, people) -> None:
    with app.app_context(), unit_of_work() as session:
        for _ in range(services.MAX_FAILURES_PER_ACCOUNT):
            session.add(LoginFailure(throttle_key="account:reviewer@example.org"))
    result = runner.invoke(
        args=["users", "reset-password", "Reviewer@Example.org", "--password-stdin"],
        input="a fresh new passphrase\n",
    )
    assert result.exit_code == 0, result.output
    with open_session(app) as session:
        assert session.exec(select(LoginFailure)).all() == []


def test_demo_seed_creates_one_user_per_role_and_prints_log_ins(app, runner) -> None:
    assert runner.invoke(args=["seed", "plan"]).exit_code == 0
    first = runner.invoke(args=["seed", "demo"])
    assert "demo users: 4 created" in first.output
    again = runner.invoke(args=["seed", "demo"])
    assert "demo users: already present" in again.output
    logins = runner.invoke(args=["users", "demo-logins"]).output.strip().splitlines()
    assert [line.split(":")[0] for line in logins] == [
        "admin",
        "manager",
        "focal_point",
        "reviewer",
    ]
    _role, rest = logins[2].split(": ")
    email, password = rest.split(" / ")
    assert email == "focal.thailand@rso.example" and len(password) >= 12
