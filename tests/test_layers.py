"""The layers hold (docs/ARCHITECTURE.md, "Layers"): no import hides in a function, and what a
lower layer asks of a higher one goes through a signal or a registry, in the same transaction.

import-linter checks the direction of every import (scripts/test runs `lint-imports`); these
tests check what it cannot: that no import dodges a cycle by hiding in a function, and that
the signals and sections still do their work once the layers no longer import each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from app import signals
from app.db import unit_of_work
from app.plan import seed
from app.plan.models import (
    Activity,
    Indicator,
    IndicatorReportingState,
    MemberState,
    ReportingPeriod,
)
from app.plan.periods import close_period
from app.progress.models import IndicatorValue
from app.reports.models import SummarySnapshot
from app.scheduling.models import JobRun, OutboxMessage
from tests import factories
from tests.conftest import open_session
from tests.fixtures_accounts import People, sign_in

APP = Path(__file__).resolve().parent.parent / "app"

# Modules allowed to import the app inside a function, each with its reason. The factory
# imports its blueprints, CLI and receivers when it builds the app, so importing `app` stays
# cheap and every feature can import core modules from the package.
HIDDEN_IMPORTS_ALLOWED = {"__init__.py": "create_app registers blueprints and receivers"}


def _imports_inside_functions(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom):  # a relative import is the app's own
                names = ["app"]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name == "app" or name.startswith("app."):
                    yield node.lineno, name


def test_no_import_of_the_app_hides_inside_a_function() -> None:
    found = [
        f"app/{path.relative_to(APP)}:{line} imports {name}"
        for path in sorted(APP.rglob("*.py"))
        if str(path.relative_to(APP)) not in HIDDEN_IMPORTS_ALLOWED
        for line, name in _imports_inside_functions(path)
    ]
    assert found == [], "move these imports to the top of their module:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("signal", "receiver"),
    [
        (signals.period_closed, "app.reports.snapshots._freeze_when_closed"),
        (signals.periods_added, "app.progress.receivers._keep_latest_values"),
        (signals.demo_seed_read, "app.progress.receivers._record_demo_values"),
    ],
)
def test_the_factory_connects_every_receiver(app: Flask, signal, receiver: str) -> None:
    connected = {f"{r.__module__}.{r.__qualname__}" for r in signal.receivers_for(None)}
    assert receiver in connected


def _ended_period(session: Session) -> tuple[str, int]:
    """A plan and its first quarter, which ended on 31 March 2025."""
    plan = factories.make_plan(session, period_start=date(2025, 1, 1))
    period = factories.make_period(session, 2025, 1)
    assert period.id is not None
    return plan.code, period.id


def test_closing_a_period_freezes_its_summary_in_the_same_transaction(app: Flask) -> None:
    with app.app_context(), unit_of_work() as session:
        plan_code, period_id = _ended_period(session)
        close_period(session, period_id, today=date(2025, 4, 2))
        # Visible before the commit: the receiver wrote through the sender's session.
        frozen = session.exec(
            select(SummarySnapshot).where(SummarySnapshot.reporting_period_id == period_id)
        ).all()
        assert len(frozen) == 1
    with open_session(app) as session:
        snapshot = session.exec(
            select(SummarySnapshot).where(SummarySnapshot.reporting_period_id == period_id)
        ).one()
        assert snapshot.payload["period_from"] == "2025-Q1"
        assert snapshot.payload["plan_code"] == plan_code


def test_a_failing_receiver_leaves_the_period_open(app: Flask) -> None:
    with app.app_context(), unit_of_work() as session:
        _plan_code, period_id = _ended_period(session)

    def refuse(_period, *, session: Session) -> None:
        raise RuntimeError("the snapshot could not be stored")

    signals.period_closed.connect(refuse)
    try:
        with (
            app.app_context(),
            pytest.raises(RuntimeError, match="could not be stored"),
            unit_of_work() as session,
        ):
            close_period(session, period_id, today=date(2025, 4, 2))
    finally:
        signals.period_closed.disconnect(refuse)
    with open_session(app) as session:
        period = session.get(ReportingPeriod, period_id)
        assert period is not None and period.status == "open" and period.closed_at is None
        assert session.exec(select(SummarySnapshot)).all() == []


def _demo_file(tmp_path: Path, indicator: str, state: str = "THA") -> Path:
    path = tmp_path / "demo.toml"
    path.write_text(
        "schema_version = 1\n\n"
        "[[activities]]\n"
        'initiative = "1.3"\nkind = "regional_meeting"\ntitle = "Layers roundtable"\n'
        'start_date = 2025-02-03\nmember_states = ["THA"]\n\n'
        "[[indicator_values]]\n"
        f'indicator = "{indicator}"\nperiod = "2025-Q1"\nmember_state = "{state}"\n'
        "value = 7\n",
        encoding="utf-8",
    )
    return path


def _number_indicator_thailand_reports(session: Session) -> Indicator:
    return session.exec(
        select(Indicator)
        .join(IndicatorReportingState)
        .join(MemberState)
        .where(
            MemberState.code == "THA",
            Indicator.unit == "number",
            col(Indicator.computed_from).is_(None),
        )
        .order_by(Indicator.code)
    ).first()


def test_the_demo_seed_records_its_figures_through_progress(seeded: Flask, tmp_path) -> None:
    with open_session(seeded) as session:
        indicator = _number_indicator_thailand_reports(session)
    with seeded.app_context(), unit_of_work() as session:
        result = seed.load_demo(session, _demo_file(tmp_path, indicator.code))
    assert result.created == {"activities": 1, "indicator values": 1}
    with open_session(seeded) as session:
        value = session.exec(
            select(IndicatorValue).where(IndicatorValue.indicator_id == indicator.id)
        ).one()
        assert (value.value, value.source) == (7, "seed")


def test_a_demo_figure_with_an_unknown_code_adds_nothing(seeded: Flask, tmp_path) -> None:
    with open_session(seeded) as session:
        activities = len(session.exec(select(Activity)).all())
    with (
        seeded.app_context(),
        pytest.raises(seed.SeedError, match="ZZZ: unknown code"),
        unit_of_work() as session,
    ):
        seed.load_demo(session, _demo_file(tmp_path, "9.9.9", state="ZZZ"))
    with open_session(seeded) as session:
        assert len(session.exec(select(Activity)).all()) == activities  # not half-written
        assert session.exec(select(IndicatorValue)).all() == []


def _failures(session: Session) -> None:
    session.add(JobRun(job="reminders", trigger="schedule", outcome="failed", error="SMTP down"))
    session.add(
        OutboxMessage(
            kind="reminder",
            to_address="someone@example.org",
            subject="Your report is due",
            body_text="Dear someone",
            status="failed",
            last_error="550 mailbox unavailable",
        )
    )


def test_my_work_shows_the_admin_failed_runs_and_undelivered_mail(
    client: FlaskClient, people: People, app: Flask
) -> None:
    with app.app_context(), unit_of_work() as session:
        _failures(session)
    page = sign_in(client, people.admin).get("/my-work").get_data(as_text=True)
    assert "reminders run of" in page and "SMTP down" in page
    assert "Your report is due" in page and "550 mailbox unavailable" in page


def test_my_work_shows_failures_to_no_one_but_an_admin(
    client: FlaskClient, people: People, app: Flask
) -> None:
    with app.app_context(), unit_of_work() as session:
        _failures(session)
    page = sign_in(client, people.manager).get("/my-work").get_data(as_text=True)
    assert "SMTP down" not in page and "550 mailbox unavailable" not in page
