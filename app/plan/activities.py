"""Recording the activities the RSO delivers, so that counted indicators follow from them.

An activity is typed once: the indicators that count activities, participants or member states
taking part are computed from these rows (``services.computed_value``), never typed again.

The functions here take a ``Session`` and only flush; the request commits. Every problem in a
form is found before anything is written, so a refused form leaves nothing half-saved. Two
managers editing the same activity cannot silently overwrite each other: the form carries a
signature of what it was loaded from, and a save based on an older version is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import zip_longest
from typing import Protocol

from sqlmodel import Session, col, select

from app.fields import DAY, Text, field_problem, normalise_breaks
from app.plan.forms import (
    ACTIVITY_LINK,
    ACTIVITY_PLACE,
    ACTIVITY_SUMMARY,
    ACTIVITY_TITLE,
    HEAD_COUNT,
    MAX_COUNT,
)
from app.plan.models import (
    ACTIVITY_KINDS,
    LABELS,
    Activity,
    ActivityParticipation,
    Initiative,
    MemberState,
    WorkPlan,
)
from app.plan.services import DeliveredActivity, plan_of_initiative
from app.validation import InputError, NotFound, parse_id

BLANK_ROWS = 3
MAX_ROWS = 100
MAX_LINKS = 10
COUNT_FIELDS = ("female", "male", "unspecified")
# The activity's own fields, as named in the form and on the model.
ACTIVITY_FIELDS = (
    "kind",
    "title",
    "start_date",
    "end_date",
    "place",
    "summary",
    "links",
    "participant_total",
    "other_participants",
)
COUNT_WORDS = {"female": "female", "male": "male", "unspecified": "sex not recorded"}


class FormData(Protocol):
    """What a submitted form offers (werkzeug's MultiDict does)."""

    def get(self, key: str, default: str = ...) -> str: ...

    def getlist(self, key: str) -> list[str]: ...


@dataclass
class ParticipantRow:
    """One row of the participants table as typed, kept as text so a bad entry is shown back."""

    member_state_id: str = ""
    female: str = ""
    male: str = ""
    unspecified: str = ""

    @property
    def is_blank(self) -> bool:
        return not any(v.strip() for v in (self.member_state_id, *self.counts().values()))

    def counts(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in COUNT_FIELDS}


@dataclass
class ActivityForm:
    """The activity form as typed: what is re-shown, unchanged, when something is refused."""

    kind: str = ""
    title: str = ""
    start_date: str = ""
    end_date: str = ""
    place: str = ""
    summary: str = ""
    links: str = ""
    participant_total: str = ""
    other_participants: str = ""
    rows: list[ParticipantRow] = field(default_factory=list)
    loaded_signature: str = ""

    def with_another_row(self) -> ActivityForm:
        """The same form with one more blank participants row (the no-JavaScript 'add' button),
        up to the most a form may hold."""
        if len(self.rows) >= MAX_ROWS:
            return self
        return replace(self, rows=[*self.rows, ParticipantRow()])


@dataclass
class Participation:
    member_state_id: int
    female: int | None
    male: int | None
    unspecified: int | None


@dataclass
class CheckedActivity:
    """An activity form that passed every rule, in stored types."""

    kind: str
    title: str
    start_date: date
    end_date: date
    place: str
    summary: str
    links: str
    participant_total: int | None
    other_participants: int
    participations: list[Participation]


class ActivityConflict(Exception):
    """Someone saved the activity after this form was loaded; ``current`` is their version."""

    def __init__(self, current: DeliveredActivity, signature: str) -> None:
        super().__init__(
            "Someone else changed this activity since you opened it; here is the newer version."
        )
        self.current = current
        self.signature = signature


# Reading and filling the form ------------------------------------------------------------------


def read_form(form: FormData) -> ActivityForm:
    """The typed form, rows included, exactly as sent (nothing is checked here)."""
    rows = [
        ParticipantRow(*(value or "" for value in values))
        for values in zip_longest(
            form.getlist("row_member_state_id"),
            *(form.getlist(f"row_{name}") for name in COUNT_FIELDS),
        )
    ]
    # One row past the limit is enough for the check to refuse it; the form is shown again
    # with what was sent, and tens of thousands of rows would make a page of gigabytes.
    del rows[MAX_ROWS + 1 :]
    return ActivityForm(
        **{name: form.get(name, "") for name in ACTIVITY_FIELDS},
        rows=rows,
        loaded_signature=form.get("loaded_signature", ""),
    )


def blank_form() -> ActivityForm:
    """A new activity's form: a few blank rows, since most activities involve several states."""
    return ActivityForm(rows=[ParticipantRow() for _ in range(BLANK_ROWS)])


def form_for(delivered: DeliveredActivity) -> ActivityForm:
    """The stored activity as a form to edit: its rows plus a few blank ones, and its signature."""
    a = delivered.activity
    rows = [
        ParticipantRow(str(p.member_state_id), *(_text(getattr(p, n)) for n in COUNT_FIELDS))
        for p in sorted(delivered.participations, key=lambda p: p.member_state_id)
    ]
    return ActivityForm(
        kind=a.kind,
        title=a.title,
        start_date=a.start_date.isoformat(),
        end_date=a.end_date.isoformat(),
        place=a.place,
        summary=a.summary,
        links=a.links,
        participant_total=_text(a.participant_total),
        other_participants=_text(a.other_participants or None),
        rows=rows + [ParticipantRow() for _ in range(BLANK_ROWS)],
        loaded_signature=activity_signature(delivered),
    )


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


@dataclass
class StateChoices:
    """The member states and organisations a participants row can name, grouped for a select."""

    groups: list[tuple[str, list[MemberState]]]
    names: dict[int, str]


def participant_choices(session: Session) -> StateChoices:
    """Every member, inactive ones too, so an older activity's rows still show their state."""
    states = session.exec(select(MemberState).order_by(MemberState.name)).all()
    groups = [
        ("Member states", [s for s in states if s.kind == "state"]),
        ("Member organisations", [s for s in states if s.kind == "organisation"]),
        ("Observers", [s for s in states if s.kind.startswith("observer")]),
    ]
    return StateChoices(
        groups=[(title, members) for title, members in groups if members],
        names={s.id: s.name for s in states},
    )


# Reading stored activities ----------------------------------------------------------------------


def load_activity(
    session: Session, activity_id: int, *, for_update: bool = False
) -> DeliveredActivity:
    """One activity with its participations; ``for_update`` locks it against a concurrent save."""
    activity = session.get(
        Activity, activity_id, with_for_update=for_update, populate_existing=for_update
    )
    if activity is None:
        raise NotFound("activity")
    participations = session.exec(
        select(ActivityParticipation)
        .where(ActivityParticipation.activity_id == activity_id)
        .execution_options(populate_existing=True)
    ).all()
    return DeliveredActivity(activity, list(participations))


def activity_signature(delivered: DeliveredActivity) -> str:
    """A fingerprint of everything a manager can change, to detect a save based on old data.

    Activity has no version column; hashing its values and participation rows gives the same
    protection without a schema change.
    """
    a = delivered.activity
    content = {
        "initiative_id": a.initiative_id,
        "kind": a.kind,
        "title": a.title,
        "start_date": a.start_date.isoformat(),
        "end_date": a.end_date.isoformat(),
        "place": a.place,
        "summary": a.summary,
        "links": a.links,
        "participant_total": a.participant_total,
        "other_participants": a.other_participants,
        "participations": sorted(
            [p.member_state_id, p.female, p.male, p.unspecified] for p in delivered.participations
        ),
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


# Checking ---------------------------------------------------------------------------------------


def check_activity(session: Session, initiative_id: int, form: ActivityForm) -> CheckedActivity:
    """Every rule at once, so the manager sees all problems in one go; raises ``InputError``."""
    problems: dict[str, str] = {}
    plan = plan_of_initiative(session, initiative_id)
    kind = _check_kind(form.kind, problems)
    title = _check_text(form.title, "title", ACTIVITY_TITLE, problems, required=True)
    place = _check_text(form.place, "place", ACTIVITY_PLACE, problems)
    summary = _check_text(form.summary, "summary", ACTIVITY_SUMMARY, problems)
    start, end = _check_dates(form.start_date, form.end_date, plan, problems)
    links = _check_links(form.links, problems)
    participations = _check_rows(session, form.rows, problems)
    other = _check_count(
        form.other_participants, "other participants", problems, "other_participants"
    )
    total = _check_count(
        form.participant_total, "total participants", problems, "participant_total"
    )
    _check_total(total, other, participations, problems)
    if problems:
        raise InputError(problems)
    return CheckedActivity(
        kind=kind,
        title=title,
        start_date=start,
        end_date=end,
        place=place,
        summary=summary,
        links=links,
        participant_total=total,
        other_participants=other or 0,
        participations=participations,
    )


def _check_kind(kind: str, problems: dict[str, str]) -> str:
    if kind not in ACTIVITY_KINDS:
        words = [LABELS[k].lower() for k in ACTIVITY_KINDS]
        problems["kind"] = f"choose the kind of activity: {', '.join(words[:-1])} or {words[-1]}"
    return kind


def _check_text(
    typed: str, name: str, field: Text, problems: dict[str, str], *, required: bool = False
) -> str:
    text = field_problem(field, typed, name, problems) or ""
    if required and not text and name not in problems:
        problems[name] = f"give the activity a {name}"
    return text


def _parse_date(typed: str, name: str, words: str, problems: dict[str, str]) -> date | None:
    try:
        return DAY(typed)
    except InputError as refused:
        message = refused.problems[""]
        if "year-month-day" in message:
            message = f"give the {words} as a real date, year-month-day, e.g. 2025-06-01"
        problems[name] = message
        return None


def _check_dates(
    start_typed: str, end_typed: str, plan: WorkPlan, problems: dict[str, str]
) -> tuple[date, date]:
    """Start is required; a blank end means a one-day activity. Both fall within the plan."""
    start = _parse_date(start_typed, "start_date", "start date", problems)
    end = _parse_date(end_typed, "end_date", "end date", problems)
    if start is None:
        problems.setdefault("start_date", "give the date the activity started")
        return date.min, date.min
    end = end or start
    if "end_date" not in problems and end < start:
        problems["end_date"] = "the end date cannot be before the start date"
    period = f"{_day(plan.period_start)} to {_day(plan.period_end)}, the period of {plan.title}"
    if not plan.period_start <= start <= plan.period_end:
        problems["start_date"] = f"the activity must fall within {period}"
    if "end_date" not in problems and not plan.period_start <= end <= plan.period_end:
        problems["end_date"] = f"the activity must fall within {period}"
    return start, end


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def _check_links(typed: str, problems: dict[str, str]) -> str:
    """One web address per line; blank lines are dropped."""
    links = [line.strip() for line in normalise_breaks(typed).splitlines() if line.strip()]
    if len(links) > MAX_LINKS:
        problems["links"] = f"give at most {MAX_LINKS} links, one per line (there are {len(links)})"
        return ""
    for number, link in enumerate(links, start=1):
        try:
            ACTIVITY_LINK(link)
        except InputError as refused:
            reason = refused.problems[""]
            if "characters or fewer" not in reason:
                reason = "each link must start with https:// or http://, one per line"
            problems["links"] = f"line {number} is not a web address: {reason}"
            break
    return "\n".join(links)


def _check_count(typed: str, words: str, problems: dict[str, str], name: str) -> int | None:
    """A head count: blank means not known; otherwise a whole number 0 or more."""
    try:
        return HEAD_COUNT(typed)
    except InputError as refused:
        if "at most" in refused.problems[""]:
            problems[name] = f"{words} must be at most {MAX_COUNT:,}"
        else:
            problems[name] = f"{words} must be a whole number 0 or more"
        return None


def _check_rows(
    session: Session, rows: list[ParticipantRow], problems: dict[str, str]
) -> list[Participation]:
    """Participants by member state; blank rows are ignored, each state appears once."""
    if len(rows) > MAX_ROWS:
        problems["participants"] = f"give at most {MAX_ROWS} rows of participants"
        return []
    names = _state_names(session, [r.member_state_id for r in rows])
    first_row: dict[int, int] = {}
    result = []
    for number, row in enumerate(rows, start=1):
        if row.is_blank:
            continue
        checked = _check_row(number, row, names, first_row, problems)
        if checked is not None:
            first_row[checked.member_state_id] = number
            result.append(checked)
    return result


def _state_names(session: Session, typed_ids: Iterable[str]) -> dict[int, str]:
    wanted = {n for n in map(parse_id, typed_ids) if n is not None}
    if not wanted:
        return {}
    rows = session.exec(
        select(MemberState.id, MemberState.name).where(col(MemberState.id).in_(wanted))
    ).all()
    return dict(rows)


def _check_row(
    number: int,
    row: ParticipantRow,
    names: dict[int, str],
    first_row: dict[int, int],
    problems: dict[str, str],
) -> Participation | None:
    key = f"participants_{number}"
    typed_id = row.member_state_id.strip()
    state_id = parse_id(typed_id)
    name = names.get(state_id) if state_id is not None else None
    where = f"participants row {number}" + (f" ({name})" if name else "")
    if not typed_id:
        problems[f"{key}_member_state_id"] = (
            f"{where}: choose the member state or organisation these participants came from"
        )
    elif name is None:
        problems[f"{key}_member_state_id"] = (
            f"{where}: that member state is not in the list; choose one from the list"
        )
    elif state_id in first_row:
        problems[f"{key}_member_state_id"] = (
            f"{where}: {name} is already in row {first_row[state_id]}; "
            "give each member state one row"
        )
    counts = {
        count: _check_count(typed, f"{where}: {COUNT_WORDS[count]}", problems, f"{key}_{count}")
        for count, typed in row.counts().items()
    }
    if f"{key}_member_state_id" in problems or state_id is None:
        return None
    return Participation(state_id, **counts)


def _check_total(
    total: int | None,
    other: int | None,
    participations: list[Participation],
    problems: dict[str, str],
) -> None:
    """A reported head count cannot be smaller than the people counted in the rows.

    Only checked when the rows are sound: a sum that skips a mistyped count would mislead.
    """
    if any(name.startswith(("participants", "other_participants")) for name in problems):
        return
    by_state = sum(sum(getattr(p, count) or 0 for count in COUNT_FIELDS) for p in participations)
    counted = by_state + (other or 0)
    if total is not None and counted and total < counted:
        problems["participant_total"] = (
            f"total participants ({total:,}) cannot be less than the {counted:,} counted by "
            "member state and as other participants; correct the total, or leave it blank "
            "to use the sum"
        )


# Writing ----------------------------------------------------------------------------------------


def create_activity(session: Session, initiative_id: int, form: ActivityForm) -> Activity:
    """Record a delivered activity under an initiative, with its participants by member state."""
    checked = check_activity(session, initiative_id, form)
    activity = Activity(initiative_id=initiative_id, **_activity_values(checked))
    session.add(activity)
    session.flush()
    _replace_participations(session, DeliveredActivity(activity, []), checked.participations)
    return activity


def update_activity(session: Session, activity_id: int, form: ActivityForm) -> Activity:
    """Save changes, unless someone else saved the activity after this form was loaded.

    The row is read for update (on SQLite the write transaction already holds the lock), so of
    two managers saving at once exactly one wins and the other is shown the winner's version.
    """
    if not form.loaded_signature:
        raise InputError("The form is incomplete. Open the activity again and redo the change.")
    current = load_activity(session, activity_id, for_update=True)
    signature = activity_signature(current)
    if form.loaded_signature != signature:
        raise ActivityConflict(current, signature)
    checked = check_activity(session, current.activity.initiative_id, form)
    activity = current.activity
    for name, value in _activity_values(checked).items():
        setattr(activity, name, value)
    session.add(activity)
    _replace_participations(session, current, checked.participations)
    return activity


def delete_activity(session: Session, activity_id: int) -> Activity:
    """Remove an activity and its participations; the counted indicators go down with it."""
    current = load_activity(session, activity_id, for_update=True)
    for participation in current.participations:
        session.delete(participation)
    session.flush()
    session.delete(current.activity)
    session.flush()
    return current.activity


def _activity_values(checked: CheckedActivity) -> dict[str, object]:
    return {name: getattr(checked, name) for name in ACTIVITY_FIELDS}


def _replace_participations(
    session: Session, current: DeliveredActivity, wanted: list[Participation]
) -> None:
    """Bring the stored rows in line with the form: delete, change or add, row by row.

    Changing rows in place (rather than deleting all and re-adding) keeps the audit trail to
    what really changed.
    """
    existing = {p.member_state_id: p for p in current.participations}
    wanted_by_state = {p.member_state_id: p for p in wanted}
    for state_id, row in existing.items():
        if state_id not in wanted_by_state:
            session.delete(row)
    for state_id, figures in wanted_by_state.items():
        row = existing.get(state_id) or ActivityParticipation(
            activity_id=current.activity.id, member_state_id=state_id
        )
        for count in COUNT_FIELDS:
            setattr(row, count, getattr(figures, count))
        session.add(row)
    session.flush()


def initiative_of(session: Session, initiative_id: int) -> Initiative:
    """The initiative an activity is recorded against (404 when there is none)."""
    initiative = session.get(Initiative, initiative_id)
    if initiative is None:
        raise NotFound("initiative")
    return initiative
