"""The seed loads the real plan, is idempotent, and explains a malformed file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select

from app.db import unit_of_work
from app.plan import seed as plan_seed
from app.plan.models import (
    Activity,
    FocusArea,
    Indicator,
    Initiative,
    MemberState,
    ReportingPeriod,
    StrategicGoal,
    WorkPlan,
)
from tests.conftest import open_session

MODELS = (
    WorkPlan,
    FocusArea,
    StrategicGoal,
    Initiative,
    Indicator,
    MemberState,
    ReportingPeriod,
    Activity,
)


def _counts(app) -> dict[str, int]:
    with open_session(app) as session:
        return {m.__name__: session.exec(select(func.count()).select_from(m)).one() for m in MODELS}


def test_the_plan_seed_holds_annex_a(seeded) -> None:
    counts = _counts(seeded)
    assert counts["WorkPlan"] == 1
    assert counts["FocusArea"] == 4
    assert counts["StrategicGoal"] == 4
    assert counts["Initiative"] == 11
    assert counts["ReportingPeriod"] == 12
    assert counts["Activity"] >= 4
    with open_session(seeded) as session:
        kinds = session.exec(
            select(MemberState.kind, func.count()).group_by(MemberState.kind)
        ).all()
        assert dict(kinds) == {"state": 45, "organisation": 4}
        titles = [fa.title for fa in session.exec(select(FocusArea).order_by(FocusArea.number))]
        assert titles == [
            "Enhancing regional cooperation",
            "Capacity building",
            "Knowledge and information sharing",
            "Research and policy support",
        ]
        ipsip = session.exec(
            select(Initiative).where(Initiative.title.contains("IPSIP"))  # type: ignore[attr-defined]
        ).one()
        assert ipsip.code == "2.1"
        assert all(i.is_proposed for i in session.exec(select(Indicator)))
        periods = session.exec(select(ReportingPeriod).order_by(ReportingPeriod.start_date)).all()
        assert (periods[0].code, periods[-1].code) == ("2024-Q1", "2026-Q4")
        assert str(periods[0].due_date) == "2024-04-30"


def test_seeding_twice_changes_nothing(seeded) -> None:
    before = _counts(seeded)
    with seeded.app_context():
        with unit_of_work() as session:
            again = plan_seed.load_plan(session)
        with unit_of_work() as session:
            demo_again = plan_seed.load_demo(session)
    assert not again.changed and not demo_again.changed
    assert _counts(seeded) == before


def test_seeding_keeps_a_managers_edits(seeded) -> None:
    with seeded.app_context(), unit_of_work() as session:
        initiative = session.exec(select(Initiative).where(Initiative.code == "2.2")).one()
        initiative.title = "OSINT training (renamed by a manager)"
    with seeded.app_context(), unit_of_work() as session:
        plan_seed.load_plan(session)
    with open_session(seeded) as session:
        assert session.exec(select(Initiative.title).where(Initiative.code == "2.2")).one() == (
            "OSINT training (renamed by a manager)"
        )


def test_cli_seeds_and_reports_what_it_added(runner) -> None:
    first = runner.invoke(args=["seed", "plan"])
    assert first.exit_code == 0, first.output
    assert "11 initiatives" in first.output
    second = runner.invoke(args=["seed", "plan"])
    assert "nothing to add" in second.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("schema_version = 1\n[work_plan\n", "not valid TOML"),
        ("schema_version = 2\n", "schema_version"),
        (
            'schema_version = 1\n[work_plan]\ncode = "X"\ntitle = "T"\nperiod_start = 2024-01-01\n'
            'period_end = 2023-01-01\nimpact_statement = "I"\n[[member_states]]\ncode = "AA"\n'
            'name = "A"\n[[focus_areas]]\nnumber = 1\ntitle = "F"\n[focus_areas.goal]\n'
            'number = 1\ntitle = "G"\nimpacted_member_states = ["ZZ"]\n',
            "period_end is before period_start",
        ),
        (
            'schema_version = 1\n[work_plan]\ncode = "X"\ntitle = "T"\nperiod_start = 2024-01-01\n'
            'period_end = 2025-01-01\nimpact_statement = "I"\n[[member_states]]\ncode = "AA"\n'
            'name = "A"\n[[focus_areas]]\nnumber = 1\ntitle = "F"\n[focus_areas.goal]\n'
            'number = 1\ntitle = "G"\nimpacted_member_states = ["ZZ"]\n',
            "unknown member state code(s) ZZ",
        ),
        ('schema_version = 1\ncolour = "blue"\n', "colour: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_seed_file_gets_a_clear_error(
    runner,
    tmp_path: Path,
    content: str,
    expected: str,
) -> None:
    bad = tmp_path / "plan.toml"
    bad.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["seed", "plan", "--file", str(bad)])
    assert result.exit_code == 1
    assert expected in result.output
    assert str(bad) in result.output
    assert "Traceback" not in result.output


def test_a_missing_seed_file_is_named(runner, tmp_path: Path) -> None:
    result = runner.invoke(args=["seed", "plan", "--file", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert "cannot read seed file" in result.output


def test_a_failed_seed_writes_nothing(app, tmp_path: Path) -> None:
    bad_demo = tmp_path / "demo.toml"
    bad_demo.write_text(
        'schema_version = 1\n[[activities]]\ninitiative = "1.3"\nkind = "workshop"\n'
        'title = "ok"\nstart_date = 2025-01-01\n[[activities]]\ninitiative = "9.9"\n'
        'kind = "workshop"\ntitle = "bad"\nstart_date = 2025-01-01\n',
        encoding="utf-8",
    )
    with app.app_context():
        with unit_of_work() as session:
            plan_seed.load_plan(session)
        with (
            pytest.raises(plan_seed.SeedError, match=r"unknown initiative '9\.9'"),
            unit_of_work() as session,
        ):
            plan_seed.load_demo(session, bad_demo)
    assert _counts(app)["Activity"] == 0


def test_quarters_cover_the_plan_period() -> None:
    from datetime import date

    quarters = plan_seed.quarters_between(date(2024, 1, 1), date(2026, 12, 31))
    assert len(quarters) == 12
    assert quarters[4] == (2025, 1, date(2025, 1, 1), date(2025, 3, 31))
    assert quarters[-1][3] == date(2026, 12, 31)


def test_a_period_added_by_the_seed_gets_each_states_latest_values(seeded, tmp_path) -> None:
    from datetime import date

    from app.progress import totals
    from app.progress.models import ApprovedLatestValue
    from tests import summary_data

    with seeded.app_context(), unit_of_work() as session:
        q4 = session.exec(select(ReportingPeriod).where(ReportingPeriod.code == "2026-Q4")).one()
        state = session.exec(select(MemberState).where(MemberState.code == "THA")).one()
        indicator = session.exec(select(Indicator).where(Indicator.code == "1.1.a")).one()
        sub = summary_data.submission(session, state, q4, "approved", date(2027, 1, 20))
        summary_data.value(session, indicator, sub, 5)
        key = (indicator.id, state.id)
    longer = tmp_path / "plan.toml"
    longer.write_text(
        plan_seed.PLAN_FILE.read_text().replace(
            "period_end = 2026-12-31", "period_end = 2027-03-31"
        )
    )
    with seeded.app_context(), unit_of_work() as session:
        assert plan_seed.load_plan(session, longer).created == {"reporting periods": 1}
    with seeded.app_context(), unit_of_work() as session:
        q1 = session.exec(select(ReportingPeriod).where(ReportingPeriod.code == "2027-Q1")).one()
        kept = session.get(ApprovedLatestValue, (q1.id, *key))
        assert kept is not None and kept.value == 5 and kept.reporting_period_id == q4.id
        assert totals.differences(session) == []


@pytest.mark.parametrize(
    ("original", "replaced", "expected"),
    [
        ("    target = 6\n", "    target = inf\n", "must be a finite number"),
        ("    target = 6\n", "    target = -6\n", "cannot be negative"),
        (
            'title = "Enhancing regional cooperation"',
            'title = "Enhancing\\u000bregional cooperation"',
            "on one line",
        ),
        ("period_end = 2026-12-31", "period_end = 9999-12-31", "31 Dec 9999 is outside"),
    ],
)
def test_a_seed_file_goes_through_the_shared_field_types(
    app, runner, tmp_path: Path, original: str, replaced: str, expected: str
) -> None:
    """`flask seed plan --file` stored a target of inf (issue 15, item 3), through the back door."""
    source = plan_seed.PLAN_FILE.read_text(encoding="utf-8")
    assert original in source
    bad = tmp_path / "plan.toml"
    bad.write_text(source.replace(original, replaced, 1), encoding="utf-8")
    result = runner.invoke(args=["seed", "plan", "--file", str(bad)])
    assert result.exit_code == 1 and expected in result.output, result.output
    assert "Traceback" not in result.output
    assert _counts(app)["Indicator"] == 0
