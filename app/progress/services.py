"""Recording indicator values. Every change writes a revision; nothing is overwritten silently."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from app.audit.services import plain_row as _plain_row
from app.audit.services import record_bulk
from app.plan.models import Indicator, IndicatorReportingState, MemberState, ReportingPeriod
from app.progress.models import IndicatorValue, IndicatorValueRevision
from app.timeutil import utcnow
from app.validation import InputError

MAX_NARRATIVE_CHARS = 4000
# What a reported value holds, beside its indicator, period and state.
VALUE_FIELDS = (
    "value",
    "numerator",
    "denominator",
    "text_value",
    "female",
    "male",
    "narrative",
    "evidence_url",
)


@dataclass
class ValueInput:
    indicator_id: int
    reporting_period_id: int
    member_state_id: int
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    text_value: str | None = None
    female: float | None = None
    male: float | None = None
    narrative: str = ""
    evidence_url: str = ""


@dataclass
class RecordOutcome:
    value: IndicatorValue
    created: bool
    changed: bool


# Rows per IN (...) list: well under SQLite's and PostgreSQL's limits on bound parameters.
_CHUNK = 5000


_STORED_COLUMNS = [
    IndicatorValue.__table__.c[name]  # type: ignore[attr-defined]
    for name in (
        "id",
        "indicator_id",
        "reporting_period_id",
        "member_state_id",
        "version",
        "source",
        "submission_id",
        "corrected_after_close",
        "updated_by_id",
        *VALUE_FIELDS,
    )
]


def _key_of(row: dict[str, Any]) -> tuple[int, int, int]:
    return (row["indicator_id"], row["reporting_period_id"], row["member_state_id"])


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


@dataclass
class _Context:
    """What checking and recording a batch of values needs, read in a few queries, not per row."""

    indicators: dict[int, Indicator]
    periods: dict[int, ReportingPeriod]
    states: dict[int, MemberState]
    reporters: set[tuple[int, int]]  # (indicator id, member state id) pairs that must report
    current: dict[tuple[int, int, int], dict[str, Any]]  # stored values, as plain rows

    @classmethod
    def load(cls, session: Session, entries: list[ValueInput]) -> _Context:
        indicator_ids = sorted({e.indicator_id for e in entries})
        period_ids = {e.reporting_period_id for e in entries}
        state_ids = {e.member_state_id for e in entries}
        context = cls({}, {}, {}, set(), {})
        context.periods = {
            p.id: p
            for p in session.exec(
                select(ReportingPeriod).where(col(ReportingPeriod.id).in_(period_ids))
            )
        }
        context.states = {
            s.id: s
            for s in session.exec(select(MemberState).where(col(MemberState.id).in_(state_ids)))
        }
        for chunk in _chunks(indicator_ids):
            context.indicators.update(
                (i.id, i)
                for i in session.exec(select(Indicator).where(col(Indicator.id).in_(chunk)))
            )
            context.reporters.update(
                session.exec(
                    select(
                        IndicatorReportingState.indicator_id,
                        IndicatorReportingState.member_state_id,
                    ).where(col(IndicatorReportingState.indicator_id).in_(chunk))
                ).all()
            )
            for row in session.exec(
                select(*_STORED_COLUMNS).where(
                    col(IndicatorValue.indicator_id).in_(chunk),
                    col(IndicatorValue.reporting_period_id).in_(period_ids),
                    col(IndicatorValue.member_state_id).in_(state_ids),
                )
            ):
                value = dict(row._mapping)
                key = (
                    value["indicator_id"],
                    value["reporting_period_id"],
                    value["member_state_id"],
                )
                context.current[key] = value
        return context

    def check(self, data: ValueInput) -> Indicator:
        """The indicator, or ``InputError`` naming each field that breaks its rules."""
        indicator = self.indicators.get(data.indicator_id)
        state = self.states.get(data.member_state_id)
        if indicator is None or state is None or data.reporting_period_id not in self.periods:
            raise InputError("unknown indicator, reporting period or member state")
        if indicator.computed_from:
            raise InputError(
                f"{indicator.code} is computed from the activities delivered; it is not reported"
            )
        if (indicator.id, state.id) not in self.reporters:
            raise InputError(
                {"member_state": f"{state.name} does not report indicator {indicator.code}"}
            )
        problems = unit_problems(indicator, data)
        if len(data.narrative or "") > MAX_NARRATIVE_CHARS:
            problems["narrative"] = f"the narrative is longer than {MAX_NARRATIVE_CHARS} characters"
        if data.evidence_url and not data.evidence_url.startswith(("https://", "http://")):
            problems["evidence_url"] = "the evidence link must start with https:// or http://"
        if problems:
            raise InputError(problems)
        return indicator


def validate_value(session: Session, data: ValueInput) -> tuple[Indicator, ReportingPeriod]:
    """Check a value against its indicator's rules; raise ``InputError`` naming each field."""
    context = _Context.load(session, [data])
    return context.check(data), context.periods[data.reporting_period_id]


def unit_problems(indicator: Indicator, data: ValueInput) -> dict[str, str]:
    problems: dict[str, str] = {}
    for name in ("value", "numerator", "denominator", "female", "male"):
        number = getattr(data, name)
        if number is not None and (math.isnan(number) or math.isinf(number)):
            problems[name] = "must be a finite number"
    if problems:
        return problems
    if indicator.unit == "percentage":
        if data.numerator is None or data.denominator is None:
            problems["numerator"] = "a percentage is entered as a numerator and a denominator"
        elif data.denominator <= 0:
            problems["denominator"] = "the denominator must be greater than zero"
        elif data.numerator < 0:
            problems["numerator"] = "the numerator cannot be negative"
        elif data.numerator > data.denominator:
            problems["numerator"] = "the numerator cannot exceed the denominator (over 100%)"
    elif indicator.unit == "number":
        if data.value is None:
            problems["value"] = "a number is required"
        elif data.value < 0:
            problems["value"] = "a count cannot be negative"
    elif indicator.unit == "yes_no":
        if data.value not in (0, 1):
            problems["value"] = "answer yes or no"
    elif indicator.unit == "text" and not (data.text_value or "").strip():
        problems["text_value"] = "a text answer is required"
    for name in ("female", "male"):
        count = getattr(data, name)
        if count is not None and count < 0:
            problems[name] = "a count cannot be negative"
    return problems


def percentage_of(numerator: float | None, denominator: float | None) -> float | None:
    """Percentages are always recomputed from their parts, never averaged."""
    if numerator is None or not denominator:
        return None
    return 100.0 * numerator / denominator


def record_indicator_value(
    session: Session,
    data: ValueInput,
    *,
    source: str,
    changed_by_id: int | None = None,
    reason: str = "",
    only_if_missing: bool = False,
) -> RecordOutcome:
    """Create or update the value for indicator x period x state, keeping every version."""
    [written] = record_indicator_values(
        session,
        [data],
        source=source,
        changed_by_id=changed_by_id,
        reason=reason,
        only_if_missing=only_if_missing,
    )
    value = session.get(IndicatorValue, written.value_id)
    return RecordOutcome(value, created=written.created, changed=written.changed)


@dataclass
class Written:
    value_id: int
    created: bool
    changed: bool


def record_indicator_values(
    session: Session,
    entries: list[ValueInput],
    *,
    source: str,
    changed_by_id: int | None = None,
    reason: str = "",
    only_if_missing: bool = False,
    corrected_after_close: bool = False,
    submission_id: int | None = None,
) -> list[Written]:
    """Record many values at once: every one is checked before any is written (all or none),
    and each change writes a new version, its revision and its audit event.

    A workbook holds thousands of rows, so this writes with bulk statements rather than one
    ORM object per row (which cost about a millisecond a row); the audit trail, which the flush
    hook cannot see here, is written explicitly with the same content.
    """
    if not entries:
        return []
    context = _Context.load(session, entries)
    indicators = [context.check(data) for data in entries]
    extra = {"source": source, "updated_by_id": changed_by_id}
    if submission_id is not None:
        extra["submission_id"] = submission_id
    if corrected_after_close:
        extra["corrected_after_close"] = True
    batch = _Batch(context, extra, only_if_missing, utcnow())
    for data, indicator in zip(entries, indicators, strict=True):
        if indicator.unit == "percentage":
            data.value = percentage_of(data.numerator, data.denominator)
        batch.add(data)
    _insert_values(session, batch.inserts)
    _update_values(session, batch.updates)
    record_bulk(session, "indicator_value", batch.audit_updates)
    results = batch.results()
    changed = [w for w in results if w.changed]
    _insert_revisions(session, context, changed, changed_by_id, reason, batch.now)
    return results


@dataclass
class _Batch:
    """What a batch of values will write: rows to insert, rows to update, and their audit."""

    context: _Context
    extra: dict[str, Any]  # source, who, submission and correction mark, set on every change
    only_if_missing: bool
    now: datetime
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    audit_updates: list[tuple[str, str, dict | None, dict | None]] = field(default_factory=list)
    # One item per entry, in order; a dict is a row whose id the insert gives.
    _outcomes: list[Written | dict[str, Any]] = field(default_factory=list)
    _seen: set[tuple[int, int, int]] = field(default_factory=set)

    def add(self, data: ValueInput) -> None:
        key = (data.indicator_id, data.reporting_period_id, data.member_state_id)
        stored = self.context.current.get(key)
        new_values = {name: getattr(data, name) for name in VALUE_FIELDS}
        if key in self._seen:
            # Forms and workbooks give each indicator once; a caller that does not is refused
            # rather than guessed at (which of the two would be meant?).
            raise InputError(f"indicator {data.indicator_id} is given twice for the same period")
        self._seen.add(key)
        if stored is None:
            self._insert(key, data, new_values)
        elif self.only_if_missing or all(stored[k] == v for k, v in new_values.items()):
            self._outcomes.append(Written(stored["id"], created=False, changed=False))
        else:
            self._update(stored, new_values)

    def _insert(self, key: tuple[int, int, int], data: ValueInput, values: dict) -> None:
        row = {
            "indicator_id": data.indicator_id,
            "reporting_period_id": data.reporting_period_id,
            "member_state_id": data.member_state_id,
            "submission_id": None,
            "corrected_after_close": False,
            **values,
            **self.extra,
            "updated_at": self.now,
            "version": 1,
        }
        self.inserts.append(row)
        self.context.current[key] = row
        self._outcomes.append(row)

    def _update(self, stored: dict[str, Any], values: dict[str, Any]) -> None:
        changed = {**values, **self.extra, "updated_at": self.now, "version": stored["version"] + 1}
        differs = [name for name, value in changed.items() if stored.get(name) != value]
        before = _plain_row({name: stored.get(name) for name in differs})
        after = _plain_row({name: changed[name] for name in differs})
        self.audit_updates.append(("update", str(stored["id"]), before, after))
        stored.update(changed)
        self.updates.append(stored)
        self._outcomes.append(Written(stored["id"], created=False, changed=True))

    def results(self) -> list[Written]:
        """After the inserts: every outcome with its value's id."""
        return [
            Written(item["id"], created=True, changed=True) if isinstance(item, dict) else item
            for item in self._outcomes
        ]


def _insert_values(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = insert(IndicatorValue.__table__).returning(  # type: ignore[attr-defined]
        IndicatorValue.__table__.c.id,  # type: ignore[attr-defined]
        sort_by_parameter_order=True,
    )
    ids = session.connection().execute(statement, rows).scalars().all()
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    record_bulk(
        session,
        "indicator_value",
        [("create", str(row["id"]), None, _plain_row(row)) for row in rows],
    )


_UPDATED = (
    "version",
    "updated_at",
    "source",
    "updated_by_id",
    "submission_id",
    "corrected_after_close",
    *VALUE_FIELDS,
)


def _update_values(session: Session, updates: list[dict[str, Any]]) -> None:
    if not updates:
        return
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    names = _UPDATED
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    session.connection().execute(
        statement,
        [{"row_id": stored["id"], **{f"new_{n}": stored[n] for n in names}} for stored in updates],
    )
    # Objects of these rows already in the session would be stale: reload them on next use.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, IndicatorValue):
            session.expire(obj)


def _insert_revisions(
    session: Session,
    context: _Context,
    changed: list[Written],
    changed_by_id: int | None,
    reason: str,
    now: datetime,
) -> None:
    if not changed:
        return
    by_id = {row["id"]: row for row in context.current.values()}
    session.connection().execute(
        insert(IndicatorValueRevision.__table__),  # type: ignore[attr-defined]
        [
            {
                "indicator_value_id": w.value_id,
                "version": by_id[w.value_id]["version"],
                "source": by_id[w.value_id]["source"],
                "changed_at": now,
                "changed_by_id": changed_by_id,
                "reason": reason,
                "corrected_after_close": bool(by_id[w.value_id]["corrected_after_close"]),
                **{name: by_id[w.value_id][name] for name in VALUE_FIELDS},
            }
            for w in changed
        ],
    )


def value_history(session: Session, value_id: int) -> list[IndicatorValueRevision]:
    return list(
        session.exec(
            select(IndicatorValueRevision)
            .where(IndicatorValueRevision.indicator_value_id == value_id)
            .order_by(IndicatorValueRevision.version)
        ).all()
    )
