"""A member state's report for a period: draft, submitted, approved (or returned, resubmitted).

Focal points reach only their own state's submissions, by the queries below (a wrong id is
simply not found). Every status change writes a ``SubmissionEvent``; every value change writes
an ``IndicatorValueRevision``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.services import Viewer
from app.audit.services import reason_given
from app.fields import Text
from app.plan.models import (
    Indicator,
    IndicatorReportingState,
    MemberState,
    ReportingPeriod,
    WorkPlan,
)
from app.progress import totals
from app.progress.forms import read_entry
from app.progress.models import (
    IndicatorValue,
    IndicatorValueRevision,
    Submission,
    SubmissionEvent,
)
from app.progress.services import (
    VALUE_FIELDS,
    ValueInput,
    record_indicator_values,
    validate_value,
)
from app.timeutil import utcnow
from app.validation import InputError, NotFound

EDITABLE = ("draft", "returned")
# The report form's box for a manager's reason for a correction (never an indicator's field).
CORRECTION_REASON_FIELD = "correction_reason"
MAX_COMMENT_CHARS = 2000
_REVIEW_COMMENT = Text(MAX_COMMENT_CHARS, words="the comment")


class Conflict(Exception):
    """Someone saved a newer version first; ``current`` is what is stored now."""

    def __init__(self, message: str, current: object) -> None:
        super().__init__(message)
        self.current = current


class Forbidden(Exception):
    """The person may see this but not do that (e.g. approve their own entries)."""


@dataclass
class ReportRow:
    """One indicator on a state's report form, with the stored value if any."""

    indicator: Indicator
    value: IndicatorValue | None


@dataclass
class SubmissionView:
    submission: Submission
    state: MemberState
    period: ReportingPeriod
    rows: list[ReportRow]
    events: list[SubmissionEvent] = field(default_factory=list)

    @property
    def missing(self) -> list[Indicator]:
        return [r.indicator for r in self.rows if r.value is None]


def _scoped(query, viewer: Viewer):
    """Focal points see their own state's submissions only; the query itself says so."""
    if viewer.is_focal_point_only:
        return query.where(Submission.member_state_id == viewer.member_state_id)
    return query


def get_submission(
    session: Session, submission_id: int, viewer: Viewer, *, for_update: bool = False
) -> Submission:
    """The submission if the viewer may see it; locked for the transaction when changing it."""
    query = _scoped(select(Submission).where(Submission.id == submission_id), viewer)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    submission = session.exec(query).first()
    if submission is None:
        raise NotFound("submission")
    return submission


def open_submission(
    session: Session, member_state_id: int, period_id: int, viewer: Viewer
) -> Submission:
    """The state's submission for the period, created as a draft the first time."""
    if viewer.is_focal_point_only and member_state_id != viewer.member_state_id:
        raise NotFound("member state")
    if not viewer.has("focal_point", "rso_manager"):
        raise Forbidden("Only focal points and RSO managers open reports.")
    state = session.get(MemberState, member_state_id)
    period = session.get(ReportingPeriod, period_id)
    if state is None or period is None:
        raise NotFound("member state or reporting period")
    existing = session.exec(
        select(Submission).where(
            Submission.member_state_id == member_state_id,
            Submission.reporting_period_id == period_id,
        )
    ).first()
    if existing is not None:
        return existing
    if period.status == "closed" and not viewer.has("rso_manager"):
        raise Forbidden(_closed_refusal(period, None))
    submission = Submission(member_state_id=member_state_id, reporting_period_id=period_id)
    try:
        with session.begin_nested():
            session.add(submission)
    except IntegrityError:
        # Opened at the same moment by someone else (two loads of a workbook racing, on
        # PostgreSQL): the unique key kept one; use it.
        return session.exec(
            select(Submission).where(
                Submission.member_state_id == member_state_id,
                Submission.reporting_period_id == period_id,
            )
        ).one()
    _event(session, submission, None, "draft", viewer, "")
    return submission


def reported_indicators_query(member_state_id: int, period: ReportingPeriod, *columns):
    """``columns`` of the indicators this state must report, by code: those it is listed for,
    typed (not computed from activities), in plans whose period covers the reporting period.
    The one statement of that rule, for the report form and for workbook checks alike."""
    return (
        select(*columns)
        .select_from(Indicator)
        .join(IndicatorReportingState)
        .join(WorkPlan, col(WorkPlan.id) == Indicator.work_plan_id)
        .where(
            IndicatorReportingState.member_state_id == member_state_id,
            col(Indicator.computed_from).is_(None),
            WorkPlan.period_start <= period.end_date,
            WorkPlan.period_end >= period.start_date,
        )
        .order_by(Indicator.code)
    )


def reported_indicators(
    session: Session, member_state_id: int, period: ReportingPeriod
) -> list[Indicator]:
    """Indicators this state must report, from plans whose period covers the reporting period."""
    return list(session.exec(reported_indicators_query(member_state_id, period, Indicator)).all())


def submission_view(session: Session, submission: Submission) -> SubmissionView:
    state = session.get(MemberState, submission.member_state_id)
    period = session.get(ReportingPeriod, submission.reporting_period_id)
    indicators = reported_indicators(session, state.id, period)
    values = {
        v.indicator_id: v
        for v in session.exec(
            select(IndicatorValue).where(
                IndicatorValue.member_state_id == state.id,
                IndicatorValue.reporting_period_id == period.id,
            )
        ).all()
    }
    events = list(
        session.exec(
            select(SubmissionEvent)
            .where(SubmissionEvent.submission_id == submission.id)
            .order_by(col(SubmissionEvent.occurred_at).desc(), col(SubmissionEvent.id).desc())
        ).all()
    )
    rows = [ReportRow(i, values.get(i.id)) for i in indicators]
    return SubmissionView(submission, state, period, rows, events)


def parse_entries(
    indicators: list[Indicator], form: dict[str, str]
) -> tuple[dict[int, ValueInput | None], dict[str, str]]:
    """Read the report form (``progress.forms``). Field names are ``<indicator id>-<field>``.

    Returns the entries (None where the row was left blank) and the problems by field name.
    """
    problems: dict[str, str] = {}
    entries: dict[int, ValueInput | None] = {}
    by_row: dict[str, dict[str, str]] = {}
    for name, typed in form.items():
        row, _, field_name = name.partition("-")
        by_row.setdefault(row, {})[field_name] = typed
    for indicator in indicators:
        prefix = f"{indicator.id}-"
        values, found = read_entry(indicator, by_row.get(str(indicator.id), {}))
        problems.update((prefix + name, message) for name, message in found.items())
        entry = ValueInput(indicator.id, 0, 0, **values)
        blank = all(getattr(entry, f) in (None, "") for f in VALUE_FIELDS)
        entries[indicator.id] = None if blank else entry
    return entries, problems


def save_values(
    session: Session,
    submission: Submission,
    form: dict[str, str],
    viewer: Viewer,
    *,
    expected_version: int,
    source: str = "web",
    reason: str = "",
) -> int:
    """Save the typed values into the submission, all or nothing. Returns how many changed.

    A manager's correction (``is_correction``) needs ``reason``; without one nothing is saved.
    """
    check_may_edit(session, submission, viewer)
    check_version(submission, expected_version)
    view = submission_view(session, submission)
    entries, problems = parse_entries([r.indicator for r in view.rows], form)
    closed_correction = view.period.status == "closed"
    refusal = correction_refusal(viewer, view.period, submission.status, reason)
    if refusal:
        problems[CORRECTION_REASON_FIELD] = refusal
    for indicator_id, entry in entries.items():
        if entry is None:
            continue
        entry.reporting_period_id = view.period.id
        entry.member_state_id = view.state.id
        try:
            validate_value(session, entry)
        except InputError as refused:
            for name, message in refused.problems.items():
                problems.setdefault(f"{indicator_id}-{name or 'value'}", message)
    if problems:
        raise InputError(problems)
    correcting = is_correction(viewer, view.period, submission.status)
    return apply_entries(
        session,
        submission,
        [e for e in entries.values() if e is not None],
        viewer,
        source=source,
        closed_correction=closed_correction,
        reason=correction_reason(view.period, submission.status, reason) if correcting else "",
    )


def apply_entries(
    session: Session,
    submission: Submission,
    entries: list[ValueInput],
    viewer: Viewer,
    *,
    source: str,
    closed_correction: bool,
    reason: str = "",
) -> int:
    """Write already-validated values into the submission; returns how many changed.

    ``reason`` (a correction's, from ``correction_reason``) goes into each value's revision and
    into the audit events of this write.
    """
    if closed_correction and not reason:
        reason = "late correction by an RSO manager"
    with reason_given(session, reason):
        outcomes = record_indicator_values(
            session,
            entries,
            source=source,
            changed_by_id=viewer.user_id,
            reason=reason,
            corrected_after_close=closed_correction,
            submission_id=submission.id,
        )
        changed = sum(1 for outcome in outcomes if outcome.changed)
        if changed:
            submission.version += 1
            session.add(submission)
        session.flush()
    return changed


# Why a focal point may no longer change a report, by its status.
LOCKED_STATUSES = {
    "submitted": (
        "This report has been submitted. It can be changed again if a manager returns it."
    ),
    "approved": "This report has been approved. Only an RSO manager can correct it now.",
}


def edit_refusal(
    viewer: Viewer, member_state_id: int, period: ReportingPeriod, status: str | None
) -> str | None:
    """Why this person may not change the state's report for the period, or None if they may.

    ``status`` is None while the state has no report for the period yet. The one statement of
    the rule, for web entry and for workbook uploads (checked on upload and again on loading).
    """
    if viewer.has("rso_manager"):
        return None
    if not (viewer.has("focal_point") and viewer.member_state_id == member_state_id):
        return "Only the state's focal points and RSO managers change this report."
    if period.status == "closed":
        return _closed_refusal(period, status)
    if status is None or status in EDITABLE:
        return None
    return LOCKED_STATUSES[status]


# A correction's reason goes into each revision's reason (500 characters) after a short prefix.
MAX_CORRECTION_REASON_CHARS = 300
_CORRECTION_REASON = Text(MAX_CORRECTION_REASON_CHARS, words="the reason for the correction")


def is_correction(viewer: Viewer, period: ReportingPeriod, status: str | None) -> bool:
    """Whether a change by this viewer to the state's report is a manager's correction.

    A report sent for review or approved, or any report of a closed period, no longer changes
    as ordinary entry: only an RSO manager may change it (``edit_refusal``), and then only with
    a reason, kept with every value's history. The one statement of that rule, for the report
    form and for loading a workbook alike.
    """
    return viewer.has("rso_manager") and (period.status == "closed" or status in LOCKED_STATUSES)


def correction_refusal(
    viewer: Viewer, period: ReportingPeriod, status: str | None, reason: str
) -> str | None:
    """Why this change may not be made with this reason, or None: a correction needs one."""
    if not is_correction(viewer, period, status):
        return None
    try:
        text = _CORRECTION_REASON(reason)
    except InputError as refused:
        return f"The reason for the correction: {refused}."
    if not text:
        what = _correction_of(period, status)
        return f"{what[:1].upper()}{what[1:]}: give the reason for the correction."
    return None


def correction_reason(period: ReportingPeriod, status: str | None, reason: str) -> str:
    """What a correction's revisions and audit event say about it: whose, of what, and why."""
    return f"{_correction_of(period, status)} by an RSO manager: {_CORRECTION_REASON(reason)}"


def _correction_of(period: ReportingPeriod, status: str | None) -> str:
    if period.status == "closed":
        return f"late correction ({period.code} is closed)"
    return f"correction of {'an' if status == 'approved' else 'a'} {status} report"


def _closed_refusal(period: ReportingPeriod, status: str | None) -> str:
    if status is None:
        return f"{period.code} is closed; ask an RSO manager to record a late report."
    return f"{period.code} is closed. Only an RSO manager can correct it now."


def check_may_edit(session: Session, submission: Submission, viewer: Viewer) -> None:
    period = session.get(ReportingPeriod, submission.reporting_period_id)
    refusal = edit_refusal(viewer, submission.member_state_id, period, submission.status)
    if refusal:
        raise Forbidden(refusal)


def edits_only(form: Mapping[str, str]) -> dict[str, str]:
    """What the person changed on the report form they opened: every field whose value differs
    from the ``was-`` copy of what the form showed (a field without a copy counts as changed).

    After someone else saved first, the form is shown again with these over the other person's
    version, so saving again keeps both; the unchanged fields must not carry the old values back.
    """

    def same(typed: str, shown: str) -> bool:
        # Browsers send a textarea's line breaks as CR LF, whatever the page held.
        return typed.replace("\r\n", "\n").strip() == shown.replace("\r\n", "\n").strip()

    return {
        name: value
        for name, value in form.items()
        if not name.startswith("was-")
        and not (f"was-{name}" in form and same(value, form[f"was-{name}"]))
    }


def check_version(submission: Submission, expected_version: int) -> None:
    if expected_version != submission.version:
        raise Conflict(
            "Someone else saved this report after you opened it. Their version is shown; "
            "what you typed is kept below so you can compare and save again.",
            submission,
        )


def _event(
    session: Session,
    submission: Submission,
    from_status: str | None,
    to_status: str,
    viewer: Viewer,
    comment: str,
) -> None:
    session.add(
        SubmissionEvent(
            submission_id=submission.id,
            from_status=from_status,
            to_status=to_status,
            actor_id=viewer.user_id,
            comment=comment,
        )
    )


def _move(
    session: Session, submission: Submission, to_status: str, viewer: Viewer, comment: str = ""
) -> None:
    _event(session, submission, submission.status, to_status, viewer, comment)
    submission.status = to_status
    submission.version += 1
    session.add(submission)
    session.flush()


def submit(
    session: Session, submission: Submission, viewer: Viewer, *, expected_version: int
) -> None:
    """Send the report for review; every indicator the state reports must have a value."""
    check_may_edit(session, submission, viewer)
    check_version(submission, expected_version)
    if submission.status not in EDITABLE:
        raise Forbidden("This report has already been submitted.")
    missing = submission_view(session, submission).missing
    if missing:
        raise InputError(
            {
                "": "Enter a value for every indicator before submitting. Missing: "
                + ", ".join(f"{i.code} {i.title}" for i in missing)
            }
        )
    submission.submitted_at = utcnow()
    submission.submitted_by_id = viewer.user_id
    _move(session, submission, "submitted", viewer)


def entered_by(session: Session, submission: Submission) -> set[int]:
    """Everyone who typed a value into this submission, from the value history."""
    rows = session.exec(
        select(IndicatorValueRevision.changed_by_id)
        .join(IndicatorValue, col(IndicatorValue.id) == IndicatorValueRevision.indicator_value_id)
        .where(IndicatorValue.submission_id == submission.id)
    ).all()
    entrants = {r for r in rows if r is not None}
    if submission.submitted_by_id is not None:
        entrants.add(submission.submitted_by_id)
    return entrants


def _check_reviewable(
    session: Session, submission: Submission, viewer: Viewer, expected_version: int
) -> None:
    if not viewer.has("rso_manager"):
        raise Forbidden("Only RSO managers review reports.")
    check_version(submission, expected_version)
    if submission.status != "submitted":
        raise Forbidden(
            f"Only a submitted report can be reviewed; this one is {submission.status}."
        )


def approve(
    session: Session, submission: Submission, viewer: Viewer, *, expected_version: int
) -> None:
    """Approve: from now on its values count in summaries. Nobody approves their own entries."""
    _check_reviewable(session, submission, viewer, expected_version)
    if viewer.user_id in entered_by(session, submission):
        raise Forbidden("You entered values in this report, so another manager must approve it.")
    submission.reviewed_at = utcnow()
    submission.reviewed_by_id = viewer.user_id
    submission.review_comment = ""
    _move(session, submission, "approved", viewer)
    totals.refresh_for_submission(session, submission)


def return_for_changes(
    session: Session, submission: Submission, viewer: Viewer, comment: str, *, expected_version: int
) -> None:
    """Send the report back to the focal point with a comment saying what to fix."""
    _check_reviewable(session, submission, viewer, expected_version)
    try:
        comment = _REVIEW_COMMENT(comment)
    except InputError as refused:
        raise InputError({"comment": str(refused)}) from None
    if not comment:
        raise InputError({"comment": "say what needs to change, so the focal point can fix it"})
    submission.reviewed_at = utcnow()
    submission.reviewed_by_id = viewer.user_id
    submission.review_comment = comment
    _move(session, submission, "returned", viewer, comment)


@dataclass
class SubmissionSummary:
    submission: Submission
    state: MemberState
    period: ReportingPeriod


def list_submissions(
    session: Session, viewer: Viewer, *, status: str | None = None
) -> list[SubmissionSummary]:
    query = _scoped(
        select(Submission, MemberState, ReportingPeriod)
        .join(MemberState, col(MemberState.id) == Submission.member_state_id)
        .join(ReportingPeriod, col(ReportingPeriod.id) == Submission.reporting_period_id),
        viewer,
    )
    if status:
        query = query.where(Submission.status == status)
    query = query.order_by(col(ReportingPeriod.start_date).desc(), MemberState.name)
    return [SubmissionSummary(s, m, p) for s, m, p in session.exec(query).all()]
