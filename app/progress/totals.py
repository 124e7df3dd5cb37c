"""Totals of approved values, kept current so that a summary never re-adds every value.

Two derived tables (see ``ApprovedPeriodTotal`` and ``ApprovedLatestValue``): per indicator
and period, the approved values summed over the member states; per state, its latest approved
value as of each period. Nothing is adjusted by a delta: the rows a change can touch are
deleted and computed again from the values, in the transaction that made the change, so the
totals always equal what a full aggregation would give. An approval or a correction of state S
in period P touches P's totals and S's latest values, for the indicators it covers.

On PostgreSQL two approvals in one period would each recompute that period's totals without
seeing the other's uncommitted values; a transaction-scoped advisory lock makes the second
wait for the first to commit. SQLite already runs one writer at a time (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Delete, Select, and_, case, delete, func, insert, or_, select, text
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from app.plan.models import ReportingPeriod
from app.progress.models import (
    ApprovedLatestValue,
    ApprovedPeriodTotal,
    IndicatorValue,
    Submission,
)

# Beyond this many changed indicators, recompute all of the submission's instead: an IN list
# of one bound parameter per indicator would pass the database's limit (a 50,000-row upload).
LISTED_INDICATORS_LIMIT = 1000
# Any number unique to this use among the application's advisory locks ("RSOT").
_POSTGRES_LOCK_KEY = 0x52534F54

iv = IndicatorValue

# A percentage counts only from a pair with a positive denominator.
VALID_PAIR = and_(col(iv.numerator).is_not(None), col(iv.denominator) > 0)
# Figures by sex that are partial or do not add up to the total.
SEX_INCOMPLETE = and_(
    or_(col(iv.female).is_not(None), col(iv.male).is_not(None)),
    or_(
        col(iv.value).is_(None),
        col(iv.female).is_(None),
        col(iv.male).is_(None),
        func.abs(iv.female + iv.male - iv.value) > 1e-9,
    ),
)
PAIR_NUMERATOR = case((VALID_PAIR, iv.numerator), else_=None)
PAIR_DENOMINATOR = case((VALID_PAIR, iv.denominator), else_=None)
YES = case((iv.value == 1, 1), else_=0)


def approved_submissions():
    """Ids of the approved submissions: only their values count in summaries."""
    return select(Submission.id).where(Submission.status == "approved")


@dataclass
class TotalsCount:
    period_totals: int
    latest_values: int


def refresh_for_submission(
    session: Session, submission: Submission, indicator_ids: Collection[int] | None = None
) -> None:
    """Recompute what an approval of, or a correction to, this submission can change.

    ``indicator_ids`` narrows it to the indicators whose values changed (all of the
    submission's by default). Does nothing for a submission that is not approved: its values
    do not count yet.
    """
    if submission.status != "approved":
        return
    session.flush()
    _lock(session)
    indicators: list[int] | Select = select(iv.indicator_id).where(
        iv.submission_id == submission.id
    )
    if indicator_ids is not None and len(set(indicator_ids)) <= LISTED_INDICATORS_LIMIT:
        indicators = sorted(set(indicator_ids))
    _replace_period_totals(session, submission.reporting_period_id, indicators)
    _replace_latest_values(session, submission.member_state_id, indicators)


def rebuild_all(session: Session) -> TotalsCount:
    """Recompute both tables from every approved value (after a bulk load, or to check)."""
    session.flush()
    _lock(session)
    _replace_period_totals(session, None, None)
    _replace_latest_values(session, None, None)
    return TotalsCount(
        period_totals=session.execute(
            select(func.count()).select_from(ApprovedPeriodTotal)
        ).scalar_one(),
        latest_values=session.execute(
            select(func.count()).select_from(ApprovedLatestValue)
        ).scalar_one(),
    )


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_LOCK_KEY})


def _in_scope(kept_model, **wanted) -> tuple[Delete, list]:
    """The kept rows to replace, and the conditions on the approved values to compute them
    from, for one scope: each argument that is not None narrows both alike (a number to that
    id, a list or subquery of ids to those)."""
    removed = delete(kept_model)
    chosen = [col(iv.submission_id).in_(approved_submissions())]
    for name, value in wanted.items():
        if value is None:
            continue
        kept, counted = kept_model.__table__.c[name], getattr(IndicatorValue, name)
        if isinstance(value, int):
            removed, condition = removed.where(kept == value), counted == value
        else:
            removed, condition = removed.where(kept.in_(value)), col(counted).in_(value)
        chosen.append(condition)
    return removed, chosen


def _replace_period_totals(session: Session, period_id: int | None, indicators) -> None:
    total = ApprovedPeriodTotal
    removed, chosen = _in_scope(total, reporting_period_id=period_id, indicator_id=indicators)
    sums = (
        select(
            iv.reporting_period_id,
            iv.indicator_id,
            func.sum(iv.value),
            func.count(iv.value),
            func.sum(PAIR_NUMERATOR),
            func.sum(PAIR_DENOMINATOR),
            func.sum(YES),
            func.sum(case((col(iv.corrected_after_close).is_(True), 1), else_=0)),
            func.sum(case((SEX_INCOMPLETE, 1), else_=0)),
        )
        .where(*chosen)
        .group_by(iv.reporting_period_id, iv.indicator_id)
    )
    session.execute(removed)
    session.execute(
        insert(total).from_select(
            [
                "reporting_period_id",
                "indicator_id",
                "value_sum",
                "value_count",
                "numerator_sum",
                "denominator_sum",
                "yes_count",
                "corrected_count",
                "sex_incomplete_count",
            ],
            sums,
        )
    )


def _replace_latest_values(session: Session, state_id: int | None, indicators) -> None:
    latest = ApprovedLatestValue
    removed, chosen = _in_scope(latest, member_state_id=state_id, indicator_id=indicators)
    period = ReportingPeriod
    # Each approved value with the start of the next approved value of the same indicator and
    # state: it is the latest as of every period from its own until that next one.
    spans = (
        select(
            iv.id,
            iv.indicator_id,
            iv.member_state_id,
            iv.reporting_period_id,
            iv.value,
            PAIR_NUMERATOR.label("numerator"),
            PAIR_DENOMINATOR.label("denominator"),
            YES.label("yes"),
            case((SEX_INCOMPLETE, 1), else_=0).label("sex_incomplete"),
            period.start_date.label("starts"),
            func.lead(period.start_date)
            .over(partition_by=(iv.indicator_id, iv.member_state_id), order_by=period.start_date)
            .label("next_starts"),
        )
        .join(period, col(period.id) == iv.reporting_period_id)
        .where(*chosen)
        .subquery("spans")
    )
    as_of = aliased(period)
    rows = select(
        as_of.id,
        spans.c.indicator_id,
        spans.c.member_state_id,
        spans.c.id,
        spans.c.reporting_period_id,
        spans.c.value,
        spans.c.numerator,
        spans.c.denominator,
        spans.c.yes,
        spans.c.sex_incomplete,
    ).join(
        as_of,
        and_(
            as_of.start_date >= spans.c.starts,
            or_(spans.c.next_starts.is_(None), as_of.start_date < spans.c.next_starts),
        ),
    )
    session.execute(removed)
    session.execute(
        insert(latest).from_select(
            [
                "as_of_period_id",
                "indicator_id",
                "member_state_id",
                "indicator_value_id",
                "reporting_period_id",
                "value",
                "numerator",
                "denominator",
                "yes",
                "sex_incomplete",
            ],
            rows,
        )
    )


def differences(session: Session) -> list[str]:
    """Where the kept totals differ from a fresh computation (empty when they agree).

    Recomputes inside the caller's transaction, which the caller rolls back: a check that
    changes nothing. A difference means a write path bypassed ``refresh_for_submission``.
    """
    kept = _contents(session)
    rebuild_all(session)
    fresh = _contents(session)
    found = []
    for table in kept:
        for key in sorted(kept[table].keys() | fresh[table].keys()):
            was, now = kept[table].get(key), fresh[table].get(key)
            if was is None or now is None or not all(map(_same, was, now)):
                found.append(f"{table} {key}: kept {was}, computed {now}")
    return found


def _contents(session: Session) -> dict[str, dict[tuple, tuple]]:
    contents: dict[str, dict[tuple, tuple]] = {}
    for model, key_length in ((ApprovedPeriodTotal, 2), (ApprovedLatestValue, 3)):
        table = model.__table__
        rows = session.execute(select(*table.primary_key.columns, *_payload(table))).all()
        contents[table.name] = {tuple(r[:key_length]): tuple(r[key_length:]) for r in rows}
    return contents


def _payload(table) -> list:
    return [c for c in table.columns if not c.primary_key]


def _same(a: object, b: object) -> bool:
    """Equal, allowing for the order in which floating-point sums were added up."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b
