"""Recording indicator values. Every change writes a revision; nothing is overwritten silently."""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, insert, literal, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit.services import plain_row as _plain_row
from app.audit.services import record_bulk
from app.fields import PEOPLE, REPORTED, field_problem
from app.plan.models import Indicator, IndicatorReportingState, MemberState, ReportingPeriod
from app.progress import totals
from app.progress.forms import (
    EVIDENCE_LINK,
    NARRATIVE,
    NUMBER_FIELDS,
    TEXT_ANSWER,
    number_rule,
)
from app.progress.models import IndicatorValue, IndicatorValueRevision, Submission
from app.timeutil import utcnow
from app.validation import InputError, number_as_typed

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


@dataclass(slots=True)  # a workbook's load holds 20,000 of them at once
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
# Above this many indicators, a batch reads its context by state and period, not by id lists.
_FEW = 500
# Rows per bulk write: small enough that a workbook's parameters never pile up in memory.
_WRITE_CHUNK = 2000


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
# What checking a value needs of its indicator: a light row, not a whole ORM object, since a
# workbook brings thousands.
_INDICATOR_COLUMNS = (
    Indicator.id,
    Indicator.code,
    Indicator.unit,
    Indicator.by_sex,
    Indicator.computed_from,
)


def _chunks(ids: list, size: int = _CHUNK) -> list[list]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


@dataclass
class _Context:
    """What checking and recording a batch of values needs, read in a few queries, not per row."""

    indicators: dict[int, Any]  # id -> row with id, code, unit, by_sex, computed_from
    periods: dict[int, ReportingPeriod]
    states: dict[int, MemberState]
    reporters: set[tuple[int, int]]  # (indicator id, member state id) pairs that must report
    current: dict[tuple[int, int, int], Any]  # stored values (rows of _STORED_COLUMNS)

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
        connection = session.connection()
        missing = indicator_ids
        if len(indicator_ids) > _FEW:
            # A workbook's worth: read what these states report, and their values for these
            # periods, whole (indexed reads) rather than through lists of thousands of ids.
            for row in connection.execute(
                select(*_INDICATOR_COLUMNS, IndicatorReportingState.member_state_id)
                .join(
                    IndicatorReportingState,
                    col(IndicatorReportingState.indicator_id) == Indicator.id,
                )
                .where(col(IndicatorReportingState.member_state_id).in_(state_ids))
            ):
                context.indicators[row.id] = row
                context.reporters.add((row.id, row.member_state_id))
            context._read_current(
                connection,
                col(IndicatorValue.reporting_period_id).in_(period_ids),
                col(IndicatorValue.member_state_id).in_(state_ids),
            )
            # Any other indicator is not reported by these states: read it for the message.
            missing = [i for i in indicator_ids if i not in context.indicators]
        for chunk in _chunks(missing):
            context.indicators.update(
                (row.id, row)
                for row in connection.execute(
                    select(*_INDICATOR_COLUMNS).where(col(Indicator.id).in_(chunk))
                )
            )
            if missing is not indicator_ids:
                continue
            context.reporters.update(
                connection.execute(
                    select(
                        IndicatorReportingState.indicator_id,
                        IndicatorReportingState.member_state_id,
                    ).where(
                        col(IndicatorReportingState.indicator_id).in_(chunk),
                        col(IndicatorReportingState.member_state_id).in_(state_ids),
                    )
                )
            )
            context._read_current(
                connection,
                col(IndicatorValue.indicator_id).in_(chunk),
                col(IndicatorValue.reporting_period_id).in_(period_ids),
                col(IndicatorValue.member_state_id).in_(state_ids),
            )
        return context

    def _read_current(self, connection: Any, *where: Any) -> None:
        for row in connection.execute(select(*_STORED_COLUMNS).where(*where)):
            self.current[(row.indicator_id, row.reporting_period_id, row.member_state_id)] = row

    def rules_of(self, entries: list[ValueInput]) -> str:
        """The ``rules_fingerprint`` of these entries' indicators as they are now ("" if one
        is not in the plan)."""
        indicators = [self.indicators.get(data.indicator_id) for data in entries]
        return "" if None in indicators else rules_fingerprint(indicators)

    def check(self, data: ValueInput, *, values: bool = True) -> Any:
        """The indicator's row, or ``InputError`` naming each field that breaks its rules.

        With ``values`` false only the indicator is checked (it exists, is reported by the
        state, is not computed): for values already checked under the same rules."""
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
        if not values:
            return indicator
        problems = unit_problems(indicator, data)
        # The report form's rules for its texts, whichever way the value came; what is stored
        # is the text as those rules give it back (line breaks as LF, trimmed).
        for name, parse in _TEXTS:
            typed = getattr(data, name)
            if typed:
                setattr(data, name, field_problem(parse, typed, name, problems) or typed)
        if problems:
            raise InputError(problems)
        return indicator


def validate_value(session: Session, data: ValueInput) -> tuple[Indicator, ReportingPeriod]:
    """Check a value against its indicator's rules; raise ``InputError`` naming each field."""
    context = _Context.load(session, [data])
    indicator = context.check(data)
    return session.get(Indicator, indicator.id), context.periods[data.reporting_period_id]


_TEXTS = (("narrative", NARRATIVE), ("evidence_url", EVIDENCE_LINK), ("text_value", TEXT_ANSWER))
# The settings of the field types a value is checked by (their limits), as part of its rules.
_FIELD_SETTINGS = repr((PEOPLE, REPORTED, NARRATIVE, TEXT_ANSWER, EVIDENCE_LINK)).encode()


def rules_fingerprint(indicators: Iterable[Any]) -> str:
    """A hash of the rules that values for these indicators (rows with id, unit and by_sex)
    are checked by: each indicator's kind, and the field types' settings.

    A workbook's rows are checked when it is previewed; if the fingerprint of their indicators
    is the same when it is loaded, the rows are still valid by the same rules and need not be
    checked one by one again (see ``record_indicator_values``).
    """
    kinds: dict[tuple[str, bool], list[int]] = {}
    for indicator in indicators:
        kinds.setdefault((indicator.unit, bool(indicator.by_sex)), []).append(indicator.id)
    digest = hashlib.sha256(_FIELD_SETTINGS)
    for kind in sorted(kinds):
        digest.update(repr(kind).encode())
        digest.update(array("q", sorted(kinds[kind])).tobytes())
    return digest.hexdigest()


def unit_problems(indicator: Any, data: ValueInput) -> dict[str, str]:
    """What is wrong with a value for its kind of indicator (a row with unit and by_sex)."""
    problems: dict[str, str] = {}
    for name in NUMBER_FIELDS:
        number = getattr(data, name)
        if number is not None:
            field_problem(number_rule(indicator, name).check, number, name, problems)
    if problems:
        return problems
    if indicator.unit == "percentage":
        if data.numerator is None or data.denominator is None:
            problems["numerator"] = "a percentage is entered as a numerator and a denominator"
        elif data.denominator <= 0:
            problems["denominator"] = "the denominator must be greater than zero"
        elif data.numerator > data.denominator:
            problems["numerator"] = "the numerator cannot exceed the denominator (over 100%)"
    elif indicator.unit == "number":
        if data.value is None:
            problems["value"] = "a number is required"
    elif indicator.unit == "yes_no":
        if data.value not in (0, 1):
            problems["value"] = "answer yes or no"
    elif indicator.unit == "text" and not (data.text_value or "").strip():
        problems["text_value"] = "a text answer is required"
    # Women and men are part of the total: fewer is a split not fully known, more is impossible.
    counted = (data.female or 0) + (data.male or 0)
    checkable = indicator.unit == "number" and data.value is not None
    if checkable and counted > data.value and not problems.keys() & {"value", "female", "male"}:
        problems["female"] = (
            f"women and men counted ({number_as_typed(counted)}) are more than the total "
            f"({number_as_typed(data.value)})"
        )
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
    audit_each_value: bool = True,
    checked_under: str | None = None,
) -> list[Written]:
    """Record many values at once: every one is checked before any is written (all or none),
    and each change writes a new version and its revision (who, when, source, reason, values).

    A workbook holds thousands of rows, so this writes with bulk statements in chunks rather
    than one ORM object per row (which cost about a millisecond a row), and copies each changed
    value into its revision inside the database (INSERT ... SELECT). The audit trail, which the
    flush hook cannot see here, gets one event per changed value with the same content, unless
    ``audit_each_value`` is false: a workbook import records one event for the whole commit
    instead, and the revisions (reason naming the upload) are the per-value history.

    ``checked_under`` is the ``rules_fingerprint`` the values were already checked under (a
    workbook's preview): while it is the fingerprint of their indicators now, each value's
    own rules are not run again; their indicators are, always.
    """
    if not entries:
        return []
    context = _Context.load(session, entries)
    recheck = checked_under is None or checked_under != context.rules_of(entries)
    indicators = [context.check(data, values=recheck) for data in entries]
    extra: dict[str, Any] = {"source": source, "updated_by_id": changed_by_id}
    if submission_id is not None:
        extra["submission_id"] = submission_id
    if corrected_after_close:
        extra["corrected_after_close"] = True
    batch = _Batch(context, extra, only_if_missing, utcnow())
    for data, indicator in zip(entries, indicators, strict=True):
        if indicator.unit == "percentage":
            data.value = percentage_of(data.numerator, data.denominator)
        batch.add(data)
    created_ids = _insert_values(session, batch, audit_each_value)
    _update_values(session, batch, audit_each_value)
    _insert_revisions(session, batch, reason)
    results = batch.results(created_ids)
    if submission_id is not None:
        # Into an approved report (a manager's correction, on the web or by workbook), a
        # change alters what the summaries count: their kept totals follow in this transaction.
        changed = [data.indicator_id for data, w in zip(entries, results, strict=True) if w.changed]
        if changed:
            totals.refresh_for_submission(session, session.get(Submission, submission_id), changed)
    return results


@dataclass
class _Batch:
    """What a batch of values will write: entries to insert, stored rows to update."""

    context: _Context
    extra: dict[str, Any]  # source, who, submission and correction mark, set on every change
    only_if_missing: bool
    now: datetime
    inserts: list[ValueInput] = field(default_factory=list)
    updates: list[tuple[Any, ValueInput]] = field(default_factory=list)  # (stored row, new)
    # One item per entry, in order: a Written, or the key of a row the insert gives an id.
    _outcomes: list[Written | tuple[int, int, int]] = field(default_factory=list)
    _seen: set[tuple[int, int, int]] = field(default_factory=set)

    def add(self, data: ValueInput) -> None:
        key = (data.indicator_id, data.reporting_period_id, data.member_state_id)
        if key in self._seen:
            # Forms and workbooks give each indicator once; a caller that does not is refused
            # rather than guessed at (which of the two would be meant?).
            raise InputError(f"indicator {data.indicator_id} is given twice for the same period")
        self._seen.add(key)
        stored = self.context.current.get(key)
        if stored is None:
            self.inserts.append(data)
            self._outcomes.append(key)
        elif self.only_if_missing or all(
            getattr(stored, name) == getattr(data, name) for name in VALUE_FIELDS
        ):
            self._outcomes.append(Written(stored.id, created=False, changed=False))
        else:
            self.updates.append((stored, data))
            self._outcomes.append(Written(stored.id, created=False, changed=True))

    def new_marks(self) -> dict[str, Any]:
        """What every new value of the batch is stamped with: who, when, how, version 1."""
        return {
            "submission_id": None,
            "corrected_after_close": False,
            **self.extra,
            "updated_at": self.now,
            "version": 1,
        }

    def new_row(self, data: ValueInput) -> dict[str, Any]:
        return {
            "indicator_id": data.indicator_id,
            "reporting_period_id": data.reporting_period_id,
            "member_state_id": data.member_state_id,
            **{name: getattr(data, name) for name in VALUE_FIELDS},
            **self.new_marks(),
        }

    def changed_row(self, stored: Any, data: ValueInput) -> dict[str, Any]:
        """The stored row as it becomes: the new values, the batch's marks, the next version."""
        return {
            **{name: getattr(data, name) for name in VALUE_FIELDS},
            **self.extra,
            "updated_at": self.now,
            "version": stored.version + 1,
        }

    def changed(self) -> list[ValueInput]:
        return [*self.inserts, *(data for _stored, data in self.updates)]

    def results(self, created_ids: dict[tuple[int, int, int], int]) -> list[Written]:
        """After the inserts: every outcome with its value's id."""
        return [
            Written(created_ids[item], created=True, changed=True)
            if isinstance(item, tuple)
            else item
            for item in self._outcomes
        ]


def _insert_values(session: Session, batch: _Batch, audit: bool) -> dict[tuple[int, int, int], int]:
    """Insert the new values in chunks; returns each one's id by its key.

    The rows go to the driver's ``executemany`` as plain tuples: through SQLAlchemy's insert
    with RETURNING, building and binding a parameter dict per row cost more than the database
    spent writing them. The ids are read back in one query per report (see ``_ids_of``).
    """
    if not batch.inserts:
        return {}
    connection = session.connection()
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    marks = batch.new_marks()
    statement, bind = _driver_insert(connection, table, _INSERTED_PER_ROW, tuple(marks))
    constants = tuple(bind(name, marks[name]) for name in marks)
    per_row = attrgetter(*_INSERTED_PER_ROW)
    # A float column's bind processor (None where the driver takes Python floats as they are).
    floats = [
        (index, processor)
        for index, name in enumerate(_INSERTED_PER_ROW)
        if (processor := _bind_processor(table.c[name], connection.dialect)) is not None
    ]
    for chunk in _chunks(batch.inserts, _WRITE_CHUNK):
        rows = [per_row(data) for data in chunk]
        if floats:
            rows = [_bound_row(row, floats) for row in rows]
        connection.exec_driver_sql(statement, [row + constants for row in rows])
    ids = _ids_of(connection, [_key_of(data) for data in batch.inserts])
    if audit:
        for chunk in _chunks(batch.inserts, _WRITE_CHUNK):
            record_bulk(
                session,
                "indicator_value",
                [
                    (
                        "create",
                        str(ids[_key_of(data)]),
                        None,
                        _plain_row({"id": ids[_key_of(data)], **batch.new_row(data)}),
                    )
                    for data in chunk
                ],
            )
    return ids


# What each new value brings of its own; the rest (``_Batch.new_marks``) is the batch's.
_INSERTED_PER_ROW = ("indicator_id", "reporting_period_id", "member_state_id", *VALUE_FIELDS)


def _key_of(data: ValueInput) -> tuple[int, int, int]:
    return (data.indicator_id, data.reporting_period_id, data.member_state_id)


def _bound_row(row: tuple, processors: list[tuple[int, Any]]) -> tuple:
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return tuple(values)


def _driver_insert(
    connection: Any, table: Any, per_row: tuple[str, ...], constant: tuple[str, ...]
) -> tuple[str, Callable[[str, Any], Any]]:
    """An INSERT of ``per_row`` then ``constant`` columns in the driver's own placeholders, and
    a function binding one value to its column as SQLAlchemy would (a date as SQLite's text)."""
    dialect = connection.dialect
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}[dialect.paramstyle]
    names = (*per_row, *constant)
    # Only the table's own name and column names go into the text; every value is bound.
    statement = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
        f"VALUES ({', '.join(marker for _ in names)})"
    )

    def bind(name: str, value: Any) -> Any:
        processor = _bind_processor(table.c[name], dialect)
        return processor(value) if processor else value

    return statement, bind


def _bind_processor(column: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """How SQLAlchemy hands this column's values to the driver on this database (through the
    dialect's own type: a date becomes SQLite's text, without its time zone)."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _ids_of(connection: Any, keys: list[tuple[int, int, int]]) -> dict[tuple[int, int, int], int]:
    """The stored ids of these (indicator, period, state) keys: by report when there are many
    (one indexed read), by lists of indicator ids when there are few."""
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    by_place: dict[tuple[int, int], list[int]] = {}
    for indicator_id, period_id, state_id in keys:
        by_place.setdefault((period_id, state_id), []).append(indicator_id)
    ids: dict[tuple[int, int, int], int] = {}
    for (period_id, state_id), indicator_ids in by_place.items():
        place = (
            table.c.reporting_period_id == period_id,
            table.c.member_state_id == state_id,
        )
        wanted = set(indicator_ids)
        chunks = [None] if len(indicator_ids) > _FEW else _chunks(indicator_ids)
        for chunk in chunks:
            where = place if chunk is None else (*place, table.c.indicator_id.in_(chunk))
            for indicator_id, value_id in connection.execute(
                select(table.c.indicator_id, table.c.id).where(*where)
            ):
                if indicator_id in wanted:
                    ids[(indicator_id, period_id, state_id)] = value_id
    return ids


_UPDATED = (
    "version",
    "updated_at",
    "source",
    "updated_by_id",
    "submission_id",
    "corrected_after_close",
    *VALUE_FIELDS,
)


def _update_values(session: Session, batch: _Batch, audit: bool) -> None:
    if not batch.updates:
        return
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in _UPDATED})
    )
    connection = session.connection()
    for chunk in _chunks(batch.updates, _WRITE_CHUNK):
        parameters, events = [], []
        for stored, data in chunk:
            changed = batch.changed_row(stored, data)
            new = {**stored._asdict(), **changed}
            parameters.append({"row_id": stored.id, **{f"new_{n}": new[n] for n in _UPDATED}})
            if audit:
                differs = [n for n, v in changed.items() if getattr(stored, n, None) != v]
                before = _plain_row({n: getattr(stored, n, None) for n in differs})
                after = _plain_row({n: changed[n] for n in differs})
                events.append(("update", str(stored.id), before, after))
        connection.execute(statement, parameters)
        record_bulk(session, "indicator_value", events)
    # Objects of these rows already in the session would be stale: reload them on next use.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, IndicatorValue):
            session.expire(obj)


_REVISION_COPIED = ("version", *VALUE_FIELDS, "source", "corrected_after_close")


def _insert_revisions(session: Session, batch: _Batch, reason: str) -> None:
    """Each changed value's new version, copied into its revision inside the database."""
    changed = batch.changed()
    if not changed:
        return
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    by_place: dict[tuple[int, int], list[int]] = {}
    for data in changed:
        by_place.setdefault((data.reporting_period_id, data.member_state_id), []).append(
            data.indicator_id
        )
    connection = session.connection()
    for (period_id, state_id), indicator_ids in by_place.items():
        place = (table.c.reporting_period_id == period_id, table.c.member_state_id == state_id)
        many = len(indicator_ids) > _FEW
        if many and _copy_stamped(session, place, batch, reason, len(indicator_ids)):
            continue
        for chunk in _chunks(indicator_ids):
            connection.execute(_revisions_of(reason, *place, table.c.indicator_id.in_(chunk)))


def _revisions_of(reason: str, *where: Any) -> Any:
    """INSERT ... SELECT of the revisions of the values ``where`` selects, as they are now."""
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    revisions = IndicatorValueRevision.__table__  # type: ignore[attr-defined]
    copied = select(
        table.c.id,
        *[table.c[name] for name in _REVISION_COPIED],
        table.c.updated_at,  # the batch's time, when it changed
        table.c.updated_by_id,  # who changed it
        literal(reason, revisions.c.reason.type),
    ).where(*where)
    return insert(revisions).from_select(
        ["indicator_value_id", *_REVISION_COPIED, "changed_at", "changed_by_id", "reason"],
        copied,
    )


class _NotOnlyThisBatch(Exception):
    """Another value of the report carries the batch's time stamp: copy by indicator instead."""


def _copy_stamped(
    session: Session, place: tuple[Any, ...], batch: _Batch, reason: str, expected: int
) -> bool:
    """A workbook's worth of one report's values: copied in one statement, as the values of the
    report that carry this batch's time stamp, instead of by lists of thousands of ids (which
    took a quarter of a load on PostgreSQL). Those include this batch's rows, and are exactly
    them if as many were copied as it changed: otherwise the copy is undone (a savepoint) and
    this returns False.
    """
    table = IndicatorValue.__table__  # type: ignore[attr-defined]
    stamped = table.c.updated_at == batch.now
    try:
        with session.begin_nested():
            statement = _revisions_of(reason, *place, stamped)
            # psycopg's count of inserted rows is kept only when asked for (SQLAlchemy 2).
            copied = session.connection().execute(
                statement.execution_options(preserve_rowcount=True)
            )
            if copied.rowcount != expected:
                raise _NotOnlyThisBatch
    except (_NotOnlyThisBatch, IntegrityError):  # (its revision is there: the same version)
        return False
    return True


def value_history(session: Session, value_id: int) -> list[IndicatorValueRevision]:
    return list(
        session.exec(
            select(IndicatorValueRevision)
            .where(IndicatorValueRevision.indicator_value_id == value_id)
            .order_by(IndicatorValueRevision.version)
        ).all()
    )
