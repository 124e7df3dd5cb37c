"""A large synthetic plan on top of the seeded one, for the summary benchmark.

50 member states and organisations, 500 indicators, 12 reporting periods, about 300,000
indicator values (every state reports every indicator every quarter) and 2,000 activities.
Rows go in with bulk INSERTs (executemany through SQLAlchemy Core), in one transaction.

    python bench/generate_large_plan.py sqlite:///instance/large.db   # migrates and seeds first
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.plan.models import (
    ACTIVITY_KINDS,
    Activity,
    ActivityParticipation,
    FocusArea,
    Indicator,
    IndicatorReportingState,
    Initiative,
    MemberState,
    ReportingPeriod,
)
from app.progress import totals
from app.progress.models import IndicatorValue, Submission

STATES = 50
INDICATORS = 500
ACTIVITIES = 2000
CHUNK = 5000
# What a quarter's submission ends as: mostly approved, as in a plan well under way.
SUBMISSION_OUTCOMES = ["approved"] * 17 + ["submitted", "returned", "draft"]


def _chunks(rows: list[dict], size: int = CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _bulk(connection, model, rows: list[dict]) -> None:
    for chunk in _chunks(rows):
        connection.execute(insert(model.__table__), chunk)


def generate(engine: Engine, *, seed: int = 7) -> dict[str, int]:
    """Add states, indicators, submissions, values and activities to the seeded plan."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        plan_id = connection.execute(select(FocusArea.work_plan_id).limit(1)).scalar_one()
        states = _fill_states(connection)
        periods = connection.execute(
            select(
                ReportingPeriod.id, ReportingPeriod.start_date, ReportingPeriod.due_date
            ).order_by(ReportingPeriod.start_date)
        ).all()
        initiatives = connection.execute(select(Initiative.id)).scalars().all()
        indicators = _add_indicators(connection, rng, plan_id, initiatives, states)
        submissions = _add_submissions(connection, rng, states, periods, now)
        values = _add_values(connection, rng, indicators, submissions, now)
        activities = _add_activities(connection, rng, initiatives, states, periods, now)
    # The values went in by bulk INSERT, past the workflow: total them as a rebuild would.
    with Session(engine) as session, session.begin():
        kept = totals.rebuild_all(session)
    _analyze(engine)
    return {
        "member_states": len(states),
        "indicators": connection_count(engine, Indicator),
        "indicators_reported": len(indicators),
        "periods": len(periods),
        "submissions": len(submissions),
        "values": values,
        "activities": activities,
        "approved_latest_values": kept.latest_values,
    }


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum (PostgreSQL) or a periodic
    ANALYZE (SQLite) would give a database in service."""
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def connection_count(engine: Engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def _fill_states(connection) -> list[int]:
    have = connection.execute(select(func.count()).select_from(MemberState)).scalar_one()
    rows = [
        {
            "code": f"ZZ{n:02d}",
            "name": f"Synthetic member {n}",
            "kind": "state",
            "andaman_sea": False,
            "is_active": True,
        }
        for n in range(max(0, STATES - have))
    ]
    if rows:
        _bulk(connection, MemberState, rows)
    return (
        connection.execute(select(MemberState.id).order_by(MemberState.id)).scalars().all()[:STATES]
    )


def _add_indicators(connection, rng, plan_id, initiatives, states) -> list[tuple[int, str]]:
    have = connection.execute(select(func.count()).select_from(Indicator)).scalar_one()
    rows = []
    for n in range(INDICATORS - have):
        unit = rng.choices(["number", "percentage", "yes_no", "text"], [70, 18, 8, 4])[0]
        rows.append(
            {
                "work_plan_id": plan_id,
                "code": f"X{n:04d}",
                "title": f"Synthetic indicator {n}",
                "level": "output",
                "initiative_id": rng.choice(initiatives),
                "unit": unit,
                "direction": rng.choices(["increase", "decrease", "maintain"], [7, 2, 1])[0],
                "aggregation": rng.choice(["per_period", "cumulative"]),
                "baseline_value": float(rng.randint(0, 20)),
                "target_value": float(rng.randint(50, 5000)) if unit != "text" else None,
                "frequency": "quarterly",
                "by_member_state": True,
                "by_sex": unit == "number" and rng.random() < 0.3,
                "activity_kinds": "",
                "means_of_verification": "",
                "is_proposed": False,
                "version": 1,
            }
        )
    _bulk(connection, Indicator, rows)
    new = connection.execute(
        select(Indicator.id, Indicator.unit).where(Indicator.code.like("X%"))
    ).all()
    _bulk(
        connection,
        IndicatorReportingState,
        [{"indicator_id": i, "member_state_id": s} for i, _unit in new for s in states],
    )
    # Every indicator a person reports (not those computed from activities) gets values.
    return connection.execute(
        select(Indicator.id, Indicator.unit).where(Indicator.computed_from.is_(None))
    ).all()


def _add_submissions(connection, rng, states, periods, now) -> list[tuple[int, int, int, str]]:
    rows = []
    for period_id, _start, due in periods:
        for state_id in states:
            late = rng.random() < 0.2
            sent = datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(
                days=rng.randint(1, 20) if late else -rng.randint(1, 20)
            )
            rows.append(
                {
                    "member_state_id": state_id,
                    "reporting_period_id": period_id,
                    "status": rng.choice(SUBMISSION_OUTCOMES),
                    "created_at": now,
                    "submitted_at": sent,
                    "review_comment": "",
                    "version": 1,
                }
            )
    _bulk(connection, Submission, rows)
    return connection.execute(
        select(
            Submission.id,
            Submission.member_state_id,
            Submission.reporting_period_id,
            Submission.status,
        )
    ).all()


def _add_values(connection, rng, indicators, submissions, now) -> int:
    total = 0
    batch: list[dict] = []
    for submission_id, state_id, period_id, _status in submissions:
        for indicator_id, unit in indicators:
            row = {
                "indicator_id": indicator_id,
                "reporting_period_id": period_id,
                "member_state_id": state_id,
                "submission_id": submission_id,
                "value": None,
                "numerator": None,
                "denominator": None,
                "text_value": None,
                "female": None,
                "male": None,
                # About one value in fifty carries a narrative, as in real reports.
                "narrative": "Synthetic narrative." if rng.random() < 0.02 else "",
                "evidence_url": "",
                "source": "seed",
                "corrected_after_close": False,
                "updated_at": now,
                "version": 1,
            }
            if unit == "percentage":
                row["denominator"] = float(rng.randint(10, 200))
                row["numerator"] = float(rng.randint(0, int(row["denominator"])))
                row["value"] = 100 * row["numerator"] / row["denominator"]
            elif unit == "yes_no":
                row["value"] = float(rng.random() < 0.6)
            elif unit == "text":
                row["text_value"] = "Synthetic answer."
            else:
                row["value"] = float(rng.randint(0, 40))
            batch.append(row)
            if len(batch) >= CHUNK:
                _bulk(connection, IndicatorValue, batch)
                total += len(batch)
                batch = []
    _bulk(connection, IndicatorValue, batch)
    return total + len(batch)


def _add_activities(connection, rng, initiatives, states, periods, now) -> int:
    first, last = periods[0][1], periods[-1][1] + timedelta(days=80)
    span = (last - first).days
    rows = []
    for n in range(ACTIVITIES):
        start = first + timedelta(days=rng.randint(0, span))
        rows.append(
            {
                "initiative_id": rng.choice(initiatives),
                "kind": rng.choice(ACTIVITY_KINDS),
                "title": f"Synthetic activity {n}",
                "start_date": start,
                "end_date": start + timedelta(days=rng.randint(0, 3)),
                "place": "",
                "summary": "",
                "links": "",
                "participant_total": None,
                "other_participants": rng.randint(0, 5),
                "created_at": now,
            }
        )
    _bulk(connection, Activity, rows)
    ids = connection.execute(
        select(Activity.id).where(Activity.title.like("Synthetic activity %"))
    ).scalars()
    participations = [
        {
            "activity_id": activity_id,
            "member_state_id": state_id,
            "female": rng.randint(0, 6),
            "male": rng.randint(0, 6),
            "unspecified": rng.randint(0, 1),
        }
        for activity_id in ids
        for state_id in rng.sample(states, 5)
    ]
    _bulk(connection, ActivityParticipation, participations)
    return len(rows)


def main(url: str) -> None:
    from app import create_app, schema
    from app.db import get_engine, unit_of_work
    from app.plan import seed

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        engine = get_engine()
        schema.upgrade(engine, url)
        with unit_of_work() as session:
            seed.load_plan(session)
        with unit_of_work() as session:
            seed.load_demo(session)
        started = time.perf_counter()
        counts = generate(engine)
        print(counts, f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///instance/large.db")
