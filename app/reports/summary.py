"""Summaries for the co-chairs: the plan's figures for a chosen range of reporting periods and
for the plan to date, per focus area and strategic goal, from approved values only.

Every figure is aggregated by the database, so a summary takes the same fixed number of queries
whatever the number of values, activities, member states or periods; Python only arranges the
grouped rows, whose number depends on the size of the plan (indicators x periods), never on the
number of values. The plan-wide figures come from totals that approvals and corrections keep up
to date (``app.progress.totals``): per indicator and period, and each state's latest value as of
each period; so the cost of a summary does not grow with the plan's history either.

Confidentiality lives in the queries: a focal point's summary reads the rows of their own state
only (completeness, participants by state, narratives, the per-state column). Plan-wide totals
(an indicator's figure over all states, the participants of an activity) stay whole.

The result is plain data (pydantic models, no ORM rows), so that closing a period can freeze
its summary as JSON (``SummarySnapshot``) and show it later exactly as it was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import (
    Date,
    Integer,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    union_all,
)
from sqlmodel import Session, col, select

from app.accounts.services import Viewer
from app.figures import expected_share, rate_progress

# Indicators are rated by ``rate_progress``, the one rule of every page (the plan's pages too):
# its thresholds and the figure it rates are in ``app.figures``. Re-exported: this
# module was their home and callers import them from here.
from app.figures import rate_indicator as rate_indicator
from app.plan.models import (
    Activity,
    ActivityParticipation,
    FocusArea,
    Indicator,
    IndicatorReportingState,
    Initiative,
    MemberState,
    ReportingPeriod,
    StrategicGoal,
    WorkPlan,
)
from app.plan.periods import office_timezone
from app.plan.services import current_work_plan, last_ended_period
from app.progress import totals as totals_kept
from app.progress.models import (
    ApprovedLatestValue,
    ApprovedPeriodTotal,
    IndicatorValue,
    Submission,
)
from app.reports.models import SummarySnapshot
from app.timeutil import utcnow
from app.validation import NotFound, parse_id

SCHEMA_VERSION = 1
NARRATIVES_SHOWN = 100  # on the page; the workbook has them all

# --- Reporting completeness -------------------------------------------------------------------
# One category per member state and period, like a DHIS2 reporting-rate report. A report is on
# time when it was (last) submitted by the end of the due date, office time.
COMPLETENESS_CATEGORIES = {
    "approved": ("Approved", "✓"),
    "on_time": ("Submitted on time", "●"),
    "late": ("Submitted late", "◐"),
    "returned": ("Returned for changes", "↩"),
    "missing": ("Missing", "✕"),
    "not_due": ("Not yet due", "·"),
}
RECEIVED = ("approved", "on_time", "late", "returned")

RATING_LABELS = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}


# --- What a summary holds ---------------------------------------------------------------------


class PeriodRef(BaseModel):
    id: int
    code: str
    start_date: date
    end_date: date
    due_date: date
    status: str


class IndicatorLine(BaseModel):
    id: int
    code: str
    title: str
    level: str
    unit: str
    direction: str
    aggregation: str
    is_proposed: bool = False
    computed_from: str | None = None
    by_sex: bool = False
    initiative_code: str | None = None
    baseline: float | None = None
    target: float | None = None
    latest_value: float | None = None
    latest_period: str | None = None
    latest_text: str | None = None
    range_value: float | None = None
    to_date_value: float | None = None
    rated_value: float | None = None
    percent: float | None = None
    rating: str | None = None
    trend: list[tuple[str, float | None]] = Field(default_factory=list)
    state_value: float | None = None
    incomplete: bool = False
    corrected_in: list[str] = Field(default_factory=list)


class InitiativeLine(BaseModel):
    id: int
    code: str
    title: str
    status: str
    rag: str | None = None
    rag_note: str = ""
    status_updated_at: datetime | None = None


class ActivityTotals(BaseModel):
    range_count: int = 0
    range_participants: int = 0
    range_female: int = 0
    range_male: int = 0
    to_date_count: int = 0
    to_date_participants: int = 0


class GoalSummary(BaseModel):
    id: int
    number: int
    title: str
    initiatives: list[InitiativeLine] = Field(default_factory=list)
    indicators: list[IndicatorLine] = Field(default_factory=list)
    activities: ActivityTotals = Field(default_factory=ActivityTotals)


class FocusAreaSummary(BaseModel):
    id: int
    number: int
    title: str
    goals: list[GoalSummary] = Field(default_factory=list)

    @property
    def initiatives(self) -> list[InitiativeLine]:
        return [i for goal in self.goals for i in goal.initiatives]

    @property
    def indicators(self) -> list[IndicatorLine]:
        return [i for goal in self.goals for i in goal.indicators]

    @property
    def rag_counts(self) -> dict[str | None, int]:
        return _tally((line.rag for line in self.initiatives), RATINGS)

    @property
    def status_counts(self) -> dict[str, int]:
        return _tally((line.status for line in self.initiatives), LIFECYCLE)

    @property
    def rating_counts(self) -> dict[str | None, int]:
        return _tally((line.rating for line in self.indicators), RATINGS)


# Every key appears in a tally, at zero when nothing has it, so charts keep their order.
RATINGS: tuple[str | None, ...] = ("on_track", "at_risk", "off_track", None)
LIFECYCLE = ("planned", "in_progress", "completed", "cancelled")


def _tally(values: Iterable[object], keys: tuple) -> dict:
    counts = dict.fromkeys(keys, 0)
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


class ParticipantRow(BaseModel):
    member_state_id: int | None = None
    code: str = ""
    name: str
    activities: int = 0
    female: int = 0
    male: int = 0
    unspecified: int = 0

    @property
    def total(self) -> int:
        return self.female + self.male + self.unspecified


class ParticipantTotals(BaseModel):
    """Plan-wide totals for the activities shown: every state, and head counts without a split."""

    activities: int = 0
    participants: int = 0
    female: int = 0
    male: int = 0
    member_states: int = 0

    @property
    def sex_not_recorded(self) -> int:
        return max(0, self.participants - self.female - self.male)


class CompletenessCell(BaseModel):
    period_code: str
    category: str
    submitted_at: datetime | None = None
    late: bool | None = None

    @property
    def label(self) -> str:
        return COMPLETENESS_CATEGORIES[self.category][0]

    @property
    def symbol(self) -> str:
        return COMPLETENESS_CATEGORIES[self.category][1]


class CompletenessRow(BaseModel):
    member_state_id: int
    code: str
    name: str
    cells: list[CompletenessCell] = Field(default_factory=list)


class PeriodRate(BaseModel):
    period_code: str
    expected: int
    received: int
    on_time: int
    counts: dict[str, int]

    @property
    def received_percent(self) -> float | None:
        return 100.0 * self.received / self.expected if self.expected else None

    @property
    def on_time_percent(self) -> float | None:
        return 100.0 * self.on_time / self.expected if self.expected else None


class Completeness(BaseModel):
    periods: list[PeriodRef] = Field(default_factory=list)
    rows: list[CompletenessRow] = Field(default_factory=list)

    @property
    def rates(self) -> list[PeriodRate]:
        """Reporting rate per period, counted over the rows shown (the grid, not the values)."""
        rates = []
        for index, period in enumerate(self.periods):
            cells = [row.cells[index] for row in self.rows]
            counts = {key: 0 for key in COMPLETENESS_CATEGORIES}
            for cell in cells:
                counts[cell.category] += 1
            received = sum(counts[key] for key in RECEIVED)
            on_time = sum(1 for c in cells if c.category in RECEIVED and c.late is False)
            rates.append(
                PeriodRate(
                    period_code=period.code,
                    expected=len(cells),
                    received=received,
                    on_time=on_time,
                    counts=counts,
                )
            )
        return rates


class NarrativeLine(BaseModel):
    indicator_id: int
    indicator_code: str
    indicator_title: str
    period_code: str
    member_state_id: int
    member_state_name: str
    text: str
    evidence_url: str = ""
    corrected: bool = False


class Choice(BaseModel):
    id: int
    label: str
    parent_id: int | None = None


class FilterChoices(BaseModel):
    periods: list[str] = Field(default_factory=list)
    focus_areas: list[Choice] = Field(default_factory=list)
    goals: list[Choice] = Field(default_factory=list)
    member_states: list[Choice] = Field(default_factory=list)


class SnapshotRef(BaseModel):
    period_id: int
    period_code: str
    frozen_at: datetime


class Summary(BaseModel):
    """Everything a summary page, its exports and a frozen snapshot show."""

    schema_version: int = SCHEMA_VERSION
    plan_code: str
    plan_title: str
    generated_at: datetime
    frozen_at: datetime | None = None
    period_from: str | None = None
    period_to: str | None = None
    range_periods: list[str] = Field(default_factory=list)
    to_date_periods: list[str] = Field(default_factory=list)
    focus_area_id: int | None = None
    goal_id: int | None = None
    member_state_id: int | None = None
    member_state_name: str | None = None
    own_state_only: bool = False
    notices: list[str] = Field(default_factory=list)
    expected_percent: float | None = None
    focus_areas: list[FocusAreaSummary] = Field(default_factory=list)
    participants_by_state: list[ParticipantRow] = Field(default_factory=list)
    participant_totals: ParticipantTotals = Field(default_factory=ParticipantTotals)
    completeness: Completeness = Field(default_factory=Completeness)
    narratives: list[NarrativeLine] = Field(default_factory=list)
    narratives_total: int = 0
    choices: FilterChoices = Field(default_factory=FilterChoices)
    snapshots: list[SnapshotRef] = Field(default_factory=list)

    @property
    def range_label(self) -> str:
        if not self.range_periods:
            return "no period"
        if len(self.range_periods) == 1:
            return self.range_periods[0]
        return f"{self.range_periods[0]} to {self.range_periods[-1]}"

    @property
    def to_date_label(self) -> str:
        return f"plan to date (to the end of {self.period_to})" if self.period_to else "to date"

    @property
    def indicators(self) -> list[IndicatorLine]:
        return [i for fa in self.focus_areas for i in fa.indicators]

    @property
    def corrected_indicators(self) -> list[IndicatorLine]:
        return [i for i in self.indicators if i.corrected_in]

    def filter_args(self) -> dict[str, str]:
        """The query string that reproduces this summary (for export links and bookmarks)."""
        args = {"from": self.period_from, "to": self.period_to}
        if self.focus_area_id:
            args["focus_area"] = str(self.focus_area_id)
        if self.goal_id:
            args["goal"] = str(self.goal_id)
        if self.member_state_id and not self.own_state_only:
            args["member_state"] = str(self.member_state_id)
        return {k: v for k, v in args.items() if v}

    def restricted_to_state(self, member_state_id: int | None) -> Summary:
        """A copy showing one state's rows only (a focal point reading a frozen snapshot)."""
        copy = self.model_copy(deep=True)
        copy.participants_by_state = [
            r for r in copy.participants_by_state if r.member_state_id == member_state_id
        ]
        copy.completeness.rows = [
            r for r in copy.completeness.rows if r.member_state_id == member_state_id
        ]
        copy.narratives = [n for n in copy.narratives if n.member_state_id == member_state_id]
        copy.narratives_total = len(copy.narratives)
        copy.choices.member_states = [
            c for c in copy.choices.member_states if c.id == member_state_id
        ]
        copy.own_state_only = True
        copy.member_state_id = member_state_id
        copy.member_state_name = next((c.label for c in copy.choices.member_states), None)
        for line in copy.indicators:
            line.state_value = None
            line.latest_text = None  # a text answer is one state's row, not a total
        return copy


# --- Filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryFilters:
    """What the person asked for, as typed (a query string or a job's settings)."""

    period_from: str | None = None
    period_to: str | None = None
    focus_area_id: str | int | None = None
    goal_id: str | int | None = None
    member_state_id: str | int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> SummaryFilters:
        def get(name: str) -> str | None:
            value = (args.get(name) or "").strip()
            return value[:40] or None

        return cls(
            period_from=get("from"),
            period_to=get("to"),
            focus_area_id=get("focus_area"),
            goal_id=get("goal"),
            member_state_id=get("member_state"),
        )


def _as_id(raw: str | int | None) -> int | str | None:
    """An id, None when not given, or the raw text back when it is not a whole number."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    number = parse_id(text)
    return text if number is None else number


@dataclass
class _Scope:
    plan: WorkPlan
    periods: list[ReportingPeriod]
    range_periods: list[ReportingPeriod]
    to_date_periods: list[ReportingPeriod]
    focus_areas: list[FocusArea]
    goals: list[StrategicGoal]
    focus_area_id: int | None
    goal_id: int | None
    state: MemberState | None  # whose rows are shown (None: every state's)
    own_state_only: bool
    notices: list[str]

    @property
    def goal_ids(self) -> list[int]:
        return [g.id for g in self.goals]

    @property
    def range_ids(self) -> list[int]:
        return [p.id for p in self.range_periods]

    @property
    def to_date_ids(self) -> list[int]:
        return [p.id for p in self.to_date_periods]

    @property
    def state_id(self) -> int | None:
        return self.state.id if self.state else None

    @property
    def shape(self) -> tuple[bool, bool]:
        """What changes the summary's statements, not only their values."""
        return self.state is not None, self.own_state_only

    @property
    def parameters(self) -> dict[str, Any]:
        """The values of the bind parameters of ``_Bound``, for this scope."""
        first, last = self.range_periods[:1], self.to_date_periods[-1:]
        return {
            "plan_id": self.plan.id,
            "goal_ids": self.goal_ids,
            "range_ids": self.range_ids,
            "to_date_ids": self.to_date_ids,
            "period_ids": [p.id for p in self.periods],
            "range_start": first[0].start_date if first else None,
            "range_end": self.range_periods[-1].end_date if first else None,
            "to_date_start": self.to_date_periods[0].start_date if last else None,
            "to_date_end": last[0].end_date if last else None,
            "last_period_id": last[0].id if last else None,
            "state_id": self.state_id,
        }


class _Bound:
    """A scope's values as bind parameters: the summary's statements are made from this once per
    shape and process (``_statement``), then run with each summary's ``_Scope.parameters``.
    Making them anew for every summary cost about as much as the seeded plan's queries took to
    run. Each query builder below takes one of these and returns its statement."""

    plan_id = bindparam("plan_id", type_=Integer)
    goal_ids = bindparam("goal_ids", type_=Integer, expanding=True)
    range_ids = bindparam("range_ids", type_=Integer, expanding=True)
    to_date_ids = bindparam("to_date_ids", type_=Integer, expanding=True)
    period_ids = bindparam("period_ids", type_=Integer, expanding=True)
    range_start = bindparam("range_start", type_=Date)
    range_end = bindparam("range_end", type_=Date)
    to_date_start = bindparam("to_date_start", type_=Date)
    to_date_end = bindparam("to_date_end", type_=Date)
    last_period_id = bindparam("last_period_id", type_=Integer)

    def __init__(self, with_state: bool, own_state_only: bool) -> None:
        self.state_id = bindparam("state_id", type_=Integer) if with_state else None
        self.own_state_only = own_state_only


@lru_cache(maxsize=256)
def _statement(builder, shape: tuple[bool, bool], *options):
    return builder(_Bound(*shape), *options)


def _run(session: Session, scope: _Scope, builder, *options) -> list:
    """The rows of ``builder``'s statement for this scope (made once per shape and options),
    run through Core: figures need no ORM bookkeeping (identity map, loading), which costs more
    than the query on a large plan."""
    statement = _statement(builder, scope.shape, *options)
    return session.connection().execute(statement, scope.parameters).all()


def _quote(text: str) -> str:
    return "“" + str(text)[:40] + "”"


def _resolve(
    session: Session, viewer: Viewer, filters: SummaryFilters, today: date, plan_on: date
) -> tuple[_Scope, FilterChoices]:
    """Turn what was asked into what is shown; every correction becomes a notice."""
    plan = current_work_plan(session, plan_on)
    if plan is None:
        raise NotFound("work plan")
    notices: list[str] = []
    periods = list(
        session.exec(
            select(ReportingPeriod)
            .where(
                ReportingPeriod.end_date >= plan.period_start,
                ReportingPeriod.start_date <= plan.period_end,
            )
            .order_by(ReportingPeriod.start_date)
        ).all()
    )
    focus_areas = list(
        session.exec(
            select(FocusArea).where(FocusArea.work_plan_id == plan.id).order_by(FocusArea.number)
        ).all()
    )
    goals = list(
        session.exec(
            select(StrategicGoal)
            .join(FocusArea)
            .where(FocusArea.work_plan_id == plan.id)
            .order_by(FocusArea.number, StrategicGoal.number)
        ).all()
    )
    states_query = select(MemberState).order_by(col(MemberState.kind).desc(), MemberState.name)
    if viewer.is_focal_point_only:
        states_query = states_query.where(MemberState.id == viewer.member_state_id)
    states = list(session.exec(states_query).all())

    # Reporting periods: the range defaults to the last quarter that has ended.
    range_periods: list[ReportingPeriod] = []
    to_date_periods: list[ReportingPeriod] = []
    if periods:
        by_code = {p.code: p for p in periods}
        default_to = last_ended_period(periods, today)
        to_period = by_code.get(filters.period_to or "", default_to)
        if filters.period_to and filters.period_to not in by_code:
            notices.append(
                f"There is no reporting period {_quote(filters.period_to)} in this plan; "
                f"the summary runs to {default_to.code}."
            )
        from_period = by_code.get(filters.period_from or "", to_period)
        if filters.period_from and filters.period_from not in by_code:
            notices.append(
                f"There is no reporting period {_quote(filters.period_from)} in this plan; "
                f"the summary starts at {to_period.code}."
            )
            from_period = to_period
        if from_period.start_date > to_period.start_date:
            notices.append(
                f"The range ended before it began ({from_period.code} to {to_period.code}); "
                f"it has been turned round: {to_period.code} to {from_period.code}."
            )
            from_period, to_period = to_period, from_period
        range_periods = [
            p for p in periods if from_period.start_date <= p.start_date <= to_period.start_date
        ]
        to_date_periods = [p for p in periods if p.start_date <= to_period.start_date]
    else:
        notices.append("This plan has no reporting periods yet.")

    # Focus area and strategic goal.
    fa_ids = {fa.id for fa in focus_areas}
    goal_by_id = {g.id: g for g in goals}
    focus_area_id = _as_id(filters.focus_area_id)
    if focus_area_id is not None and focus_area_id not in fa_ids:
        notices.append(
            f"There is no focus area {_quote(str(filters.focus_area_id))} in this plan; "
            "every focus area is shown."
        )
        focus_area_id = None
    goal_id = _as_id(filters.goal_id)
    if goal_id is not None and goal_id not in goal_by_id:
        notices.append(
            f"There is no strategic goal {_quote(str(filters.goal_id))} in this plan; "
            "the filter on strategic goal is ignored."
        )
        goal_id = None
    if goal_id is not None:
        goal_fa = goal_by_id[goal_id].focus_area_id
        if focus_area_id is not None and focus_area_id != goal_fa:
            notices.append(
                "That strategic goal is not under the chosen focus area; "
                "the whole focus area is shown."
            )
            goal_id = None
        else:
            focus_area_id = goal_fa
    shown_goals = [
        g
        for g in goals
        if (goal_id is None or g.id == goal_id)
        and (focus_area_id is None or g.focus_area_id == focus_area_id)
    ]
    shown_fas = [fa for fa in focus_areas if any(g.focus_area_id == fa.id for g in shown_goals)]

    # Member state: a focal point sees their own state's rows, whatever they ask for.
    state_by_id = {s.id: s for s in states}
    asked_state = _as_id(filters.member_state_id)
    state: MemberState | None = None
    own_only = viewer.is_focal_point_only
    if own_only:
        state = state_by_id.get(viewer.member_state_id)
        if asked_state is not None and asked_state != viewer.member_state_id:
            notices.append(
                "Focal points see their own state's rows and plan-wide totals only; "
                f"showing {state.name if state else 'plan-wide totals'}."
            )
    elif asked_state is not None:
        state = state_by_id.get(asked_state) if isinstance(asked_state, int) else None
        if state is None:
            notices.append(
                f"There is no member state {_quote(str(filters.member_state_id))}; "
                "every member state is shown."
            )

    choices = FilterChoices(
        periods=[p.code for p in periods],
        focus_areas=[Choice(id=fa.id, label=f"{fa.number}. {fa.title}") for fa in focus_areas],
        goals=[
            Choice(id=g.id, label=f"{g.number}. {g.title}", parent_id=g.focus_area_id)
            for g in goals
        ],
        member_states=[Choice(id=s.id, label=s.name) for s in states],
    )
    scope = _Scope(
        plan=plan,
        periods=periods,
        range_periods=range_periods,
        to_date_periods=to_date_periods,
        focus_areas=shown_fas,
        goals=shown_goals,
        focus_area_id=focus_area_id,
        goal_id=goal_id,
        state=state,
        own_state_only=own_only,
        notices=notices,
    )
    return scope, choices


# --- The queries --------------------------------------------------------------------------------


def _indicators_in_scope(scope: _Bound, *conditions):
    """Ids of the indicators shown (and meeting ``conditions``): a subquery, so that the values
    are found through the index on indicator_id, not by joining every value to its indicator."""
    initiatives = select(Initiative.id).where(col(Initiative.strategic_goal_id).in_(scope.goal_ids))
    return select(Indicator.id).where(
        Indicator.work_plan_id == scope.plan_id,
        or_(
            col(Indicator.strategic_goal_id).in_(scope.goal_ids),
            col(Indicator.initiative_id).in_(initiatives),
        ),
        *conditions,
    )


def _own_rows_only(scope: _Bound, member_state_column) -> list:
    """The condition keeping one state's rows when a state is in scope (always for a focal
    point, whose scope is their own state, or nothing at all when they have none)."""
    if scope.state_id is not None or scope.own_state_only:
        return [member_state_column == scope.state_id]
    return []


@dataclass(slots=True)
class _Sums:
    value: float | None = None
    numerator: float = 0.0
    denominator: float = 0.0
    has_pair: bool = False
    yes: int = 0
    incomplete: bool = False
    seen: bool = False

    def add(self, value, numerator, denominator, yes, incomplete) -> None:
        self.seen = self.seen or value is not None or bool(denominator) or yes is not None
        if value is not None:
            self.value = (self.value or 0.0) + float(value)
        if denominator:
            self.numerator += float(numerator or 0)
            self.denominator += float(denominator)
            self.has_pair = True
        self.yes += int(yes or 0)
        self.incomplete = self.incomplete or bool(incomplete)

    def figure(self, unit: str) -> float | None:
        """The figure these sums stand for: percentages from the summed parts, never averaged."""
        if unit == "percentage":
            return 100.0 * self.numerator / self.denominator if self.has_pair else None
        if unit == "yes_no":
            return float(self.yes) if self.seen else None
        if unit == "text":
            return None
        return self.value


# What an indicator without rows reads (only ever read, never added to).
_NO_SUMS = _Sums()


def _period_sums(scope: _Bound):
    """Approved values per indicator and period, summed over every state (the totals kept by
    ``app.progress.totals``): the trend of each indicator."""
    total = ApprovedPeriodTotal
    return select(
        total.indicator_id,
        total.reporting_period_id,
        total.value_sum,
        total.value_count,
        total.numerator_sum,
        total.denominator_sum,
        total.yes_count,
        total.corrected_count,
    ).where(
        col(total.reporting_period_id).in_(scope.to_date_ids),
        col(total.indicator_id).in_(_indicators_in_scope(scope)),
    )


def _to_date_and_in_range(value, numerator, denominator, yes, incomplete, in_range) -> list:
    """The sums a figure is made of, over every row (to date), then over the rows ``in_range``:
    the columns of ``_window_sums`` and ``_latest_sums`` alike, read by ``_gather_figures``."""
    columns = (value, numerator, denominator, yes)
    return [
        *(func.sum(c) for c in columns),
        func.sum(incomplete),
        *(func.sum(case((in_range, c), else_=None)) for c in columns),
    ]


def _window_sums(scope: _Bound):
    """Per indicator: the totals summed over the periods to date and over the range; and, when
    a state is in scope, that state's own values to date (``is_state`` 1)."""
    total = ApprovedPeriodTotal
    plan_wide = (
        select(
            total.indicator_id,
            literal(0).label("is_state"),
            *_to_date_and_in_range(
                total.value_sum,
                total.numerator_sum,
                total.denominator_sum,
                total.yes_count,
                total.sex_incomplete_count,
                col(total.reporting_period_id).in_(scope.range_ids),
            ),
        )
        .where(
            col(total.reporting_period_id).in_(scope.to_date_ids),
            col(total.indicator_id).in_(_indicators_in_scope(scope)),
        )
        .group_by(total.indicator_id)
    )
    if scope.state_id is None:
        return plan_wide
    iv = IndicatorValue
    own = (
        select(
            iv.indicator_id,
            literal(1),
            func.sum(iv.value),
            func.sum(totals_kept.PAIR_NUMERATOR),
            func.sum(totals_kept.PAIR_DENOMINATOR),
            func.sum(totals_kept.YES),
            literal(0),
            null(),
            null(),
            null(),
            null(),
        )
        .where(
            col(iv.submission_id).in_(totals_kept.approved_submissions()),
            col(iv.reporting_period_id).in_(scope.to_date_ids),
            col(iv.indicator_id).in_(_indicators_in_scope(scope)),
            iv.member_state_id == scope.state_id,
        )
        .group_by(iv.indicator_id)
    )
    return union_all(plan_wide, own)


def _latest_sums(scope: _Bound):
    """Each state's latest approved value (to date, and within the range), summed per indicator.

    Only for indicators where the latest value stands: cumulative ones and yes/no answers, and
    average ones, whose state column is the state's latest level.
    Read from each state's latest values as of the range's last period (kept up to date by
    ``app.progress.totals``): one row per indicator and state, whatever the history.
    """
    latest = ApprovedLatestValue
    if scope.state_id is None:
        flag = literal_column("0")
    else:
        flag = case((latest.member_state_id == scope.state_id, 1), else_=0)
    flag = flag.label("is_state")
    query = (
        select(
            latest.indicator_id,
            flag,
            # The range and "to date" end on the same period, so a state's latest value within
            # the range is its latest to date when that one falls in the range (else none).
            *_to_date_and_in_range(
                latest.value,
                latest.numerator,
                latest.denominator,
                latest.yes,
                latest.sex_incomplete,
                col(latest.reporting_period_id).in_(scope.range_ids),
            ),
        )
        .where(
            latest.as_of_period_id == scope.last_period_id,
            col(latest.indicator_id).in_(
                _indicators_in_scope(
                    scope,
                    or_(
                        col(Indicator.aggregation).in_(("cumulative", "average")),
                        Indicator.unit == "yes_no",
                    ),
                )
            ),
        )
        .group_by(latest.indicator_id)
    )
    if scope.state_id is not None:
        query = query.group_by(flag)
    return query


def _latest_texts(session: Session, scope: _Scope) -> dict[int, str]:
    """The newest approved answer of each text indicator (the row state's, when one is shown):
    among each state's latest answer as of the range's end, the one of the latest period (and,
    within a period, the last saved)."""
    return dict(_run(session, scope, _latest_texts_query))


def _latest_texts_query(scope: _Bound):
    latest, iv = ApprovedLatestValue, IndicatorValue
    ranked = (
        select(
            latest.indicator_id.label("indicator_id"),
            iv.text_value.label("text_value"),
            func.row_number()
            .over(
                partition_by=latest.indicator_id,
                order_by=(
                    col(ReportingPeriod.start_date).desc(),
                    col(latest.indicator_value_id).desc(),
                ),
            )
            .label("rn"),
        )
        .join(iv, col(iv.id) == latest.indicator_value_id)
        .join(ReportingPeriod, col(ReportingPeriod.id) == latest.reporting_period_id)
        .where(
            latest.as_of_period_id == scope.last_period_id,
            col(latest.indicator_id).in_(_indicators_in_scope(scope, Indicator.unit == "text")),
            *_own_rows_only(scope, latest.member_state_id),
        )
        .subquery()
    )
    return select(ranked.c.indicator_id, ranked.c.text_value).where(ranked.c.rn == 1)


class _Headcount(NamedTuple):
    """Column expressions for the activity row of the query they are used in."""

    female: Any
    male: Any
    participants: Any


def _activity_headcount() -> _Headcount:
    """Per activity: women, men, and its participants as the plan counts them (the reported
    head count when given, else the per-state figures plus others).

    Each is a subquery on the participation index, evaluated for the activities the outer query
    reaches only: a grouped join counted every activity's participations first and then had the
    database index that result, a third of the summary's SQL time on the large plan.
    """
    ap = ActivityParticipation

    def summed(column):
        return (
            select(func.coalesce(func.sum(column), 0))
            .where(ap.activity_id == Activity.id)
            .correlate(Activity)
            .scalar_subquery()
        )

    counted = summed(
        func.coalesce(ap.female, 0) + func.coalesce(ap.male, 0) + func.coalesce(ap.unspecified, 0)
    )
    return _Headcount(
        female=summed(func.coalesce(ap.female, 0)),
        male=summed(func.coalesce(ap.male, 0)),
        participants=func.coalesce(
            Activity.participant_total, counted + Activity.other_participants
        ),
    )


def _computed_matches(scope: _Bound, computed_from: str | None = None):
    """(indicator id, activity id) for each activity a computed indicator in scope counts: its
    initiative's activities (a goal-level indicator: all its goal's), of the kinds it names
    (comma-separated; empty means every kind).

    Two joins, each on an indexed key, rather than one join on a condition with OR, which made
    the database try every activity against every indicator in every period.
    """
    wanted = [
        col(Indicator.id).in_(_indicators_in_scope(scope)),
        col(Indicator.computed_from).is_not(None)
        if computed_from is None
        else Indicator.computed_from == computed_from,
        or_(
            Indicator.activity_kinds == "",
            (literal(",") + Indicator.activity_kinds + literal(",")).like(
                literal("%,") + Activity.kind + ",%"
            ),
        ),
    ]
    by_initiative = (
        select(Indicator.id.label("indicator_id"), Activity.id.label("activity_id"))
        .join(Activity, col(Activity.initiative_id) == Indicator.initiative_id)
        .where(*wanted)
    )
    by_goal = (
        select(Indicator.id, Activity.id)
        .join(
            Initiative,
            and_(
                col(Indicator.initiative_id).is_(None),
                col(Initiative.strategic_goal_id) == Indicator.strategic_goal_id,
            ),
        )
        .join(Activity, col(Activity.initiative_id) == Initiative.id)
        .where(*wanted)
    )
    return union_all(by_initiative, by_goal).subquery()


def _in_period():
    return and_(
        Activity.start_date >= ReportingPeriod.start_date,
        Activity.start_date <= ReportingPeriod.end_date,
    )


def _computed_per_period(scope: _Bound):
    """Activities and participants per computed indicator and period."""
    matches = _computed_matches(scope)
    query = (
        select(
            matches.c.indicator_id,
            ReportingPeriod.id,
            func.count(Activity.id),
            func.sum(_activity_headcount().participants),
        )
        .select_from(matches)
        .join(Activity, col(Activity.id) == matches.c.activity_id)
        .join(ReportingPeriod, _in_period())
        .where(col(ReportingPeriod.id).in_(scope.to_date_ids))
        .group_by(matches.c.indicator_id, ReportingPeriod.id)
    )
    return query


def _computed_states(scope: _Bound):
    """Member states taking part, per computed indicator: per period, in range and to date."""
    ap = ActivityParticipation
    matches = _computed_matches(scope, "member_states_participating")
    states = func.count(func.distinct(ap.member_state_id))
    taking_part = (
        select(matches.c.indicator_id)
        .select_from(matches)
        .join(Activity, col(Activity.id) == matches.c.activity_id)
        .join(ap, col(ap.activity_id) == Activity.id)
    )
    per_period = (
        taking_part.add_columns(ReportingPeriod.id, states)
        .join(ReportingPeriod, _in_period())
        .where(col(ReportingPeriod.id).in_(scope.to_date_ids))
        .group_by(matches.c.indicator_id, ReportingPeriod.id)
    )
    # Distinct states over several periods are not the sum of each period's: one more GROUP BY.
    to_date = taking_part.where(
        Activity.start_date >= scope.to_date_start,
        Activity.start_date <= scope.to_date_end,
    ).group_by(matches.c.indicator_id)
    in_range = to_date.where(
        Activity.start_date >= scope.range_start,
        Activity.start_date <= scope.range_end,
    )
    return union_all(
        per_period,
        to_date.add_columns(literal(None, Integer), states),
        in_range.add_columns(literal(-1, Integer), states),
    )


def _activity_totals(scope: _Bound):
    """Activities delivered and their participants per strategic goal, in range and to date."""
    headcount = _activity_headcount()
    in_range = Activity.start_date >= scope.range_start

    def when_in_range(column):
        return func.sum(case((in_range, column), else_=0))

    query = (
        select(
            Initiative.strategic_goal_id,
            when_in_range(1),
            when_in_range(headcount.participants),
            when_in_range(headcount.female),
            when_in_range(headcount.male),
            func.count(Activity.id),
            func.sum(headcount.participants),
        )
        .select_from(Activity)
        .join(Initiative, col(Initiative.id) == Activity.initiative_id)
        .where(
            col(Initiative.strategic_goal_id).in_(scope.goal_ids),
            Activity.start_date >= scope.to_date_start,
            Activity.start_date <= scope.range_end,
        )
        .group_by(Initiative.strategic_goal_id)
    )
    return query


def _activities_in_range(scope: _Bound):
    return and_(
        col(Initiative.strategic_goal_id).in_(scope.goal_ids),
        Activity.start_date >= scope.range_start,
        Activity.start_date <= scope.range_end,
    )


def _participants_by_state(session: Session, scope: _Scope) -> list[ParticipantRow]:
    """Participants per member state in the range: every state's, or the row state's only."""
    return [
        ParticipantRow(
            member_state_id=state_id,
            code=code,
            name=name,
            activities=activities,
            female=int(female or 0),
            male=int(male or 0),
            unspecified=int(unspecified or 0),
        )
        for state_id, code, name, activities, female, male, unspecified in _run(
            session, scope, _participants_by_state_query
        )
    ]


def _participants_by_state_query(scope: _Bound):
    ap = ActivityParticipation
    query = (
        select(
            ap.member_state_id,
            MemberState.code,
            MemberState.name,
            func.count(func.distinct(ap.activity_id)),
            func.sum(func.coalesce(ap.female, 0)),
            func.sum(func.coalesce(ap.male, 0)),
            func.sum(func.coalesce(ap.unspecified, 0)),
        )
        .join(Activity, col(Activity.id) == ap.activity_id)
        .join(Initiative, col(Initiative.id) == Activity.initiative_id)
        .join(MemberState, col(MemberState.id) == ap.member_state_id)
        .where(_activities_in_range(scope))
        .group_by(ap.member_state_id, MemberState.code, MemberState.name)
        .order_by(MemberState.name)
    )
    return query.where(*_own_rows_only(scope, ap.member_state_id))


def _participant_totals(session: Session, scope: _Scope) -> ParticipantTotals:
    """Plan-wide totals for the range: totals, not any one state's rows."""
    [(count, people, female, male, states)] = _run(session, scope, _participant_totals_query)
    return ParticipantTotals(
        activities=count or 0,
        participants=int(people or 0),
        female=int(female or 0),
        male=int(male or 0),
        member_states=states or 0,
    )


def _participant_totals_query(scope: _Bound):
    headcount = _activity_headcount()
    return (
        select(
            func.count(Activity.id),
            func.sum(headcount.participants),
            func.sum(headcount.female),
            func.sum(headcount.male),
            select(func.count(func.distinct(ActivityParticipation.member_state_id)))
            .join(Activity, col(Activity.id) == ActivityParticipation.activity_id)
            .join(Initiative, col(Initiative.id) == Activity.initiative_id)
            .where(_activities_in_range(scope))
            .scalar_subquery(),
        )
        .select_from(Activity)
        .join(Initiative, col(Initiative.id) == Activity.initiative_id)
        .where(_activities_in_range(scope))
    )


def _completeness(
    session: Session, scope: _Scope, today: date, office_tz: ZoneInfo
) -> Completeness:
    """Member states that report in this plan x the periods to date, one category per cell."""
    states = _run(session, scope, _reporting_states_query)
    found = {
        (state_id, period_id): (status, submitted_at)
        for state_id, period_id, status, submitted_at in _run(session, scope, _submissions_query)
    }
    cutoffs = {p.id: _end_of_day(p.due_date, office_tz) for p in scope.to_date_periods}
    rows = []
    for state_id, code, name in states:
        cells = []
        for period in scope.to_date_periods:
            status, submitted_at = found.get((state_id, period.id), (None, None))
            cells.append(_cell(period, status, _aware(submitted_at), cutoffs[period.id], today))
        rows.append(CompletenessRow(member_state_id=state_id, code=code, name=name, cells=cells))
    return Completeness(periods=[_period_ref(p) for p in scope.to_date_periods], rows=rows)


def _reporting_states_query(scope: _Bound):
    reporters = (
        select(IndicatorReportingState.member_state_id)
        .join(Indicator, col(Indicator.id) == IndicatorReportingState.indicator_id)
        .where(Indicator.work_plan_id == scope.plan_id, col(Indicator.computed_from).is_(None))
    )
    return (
        select(MemberState.id, MemberState.code, MemberState.name)
        .where(col(MemberState.id).in_(reporters), *_own_rows_only(scope, MemberState.id))
        .order_by(MemberState.name)
    )


def _submissions_query(scope: _Bound):
    return select(
        Submission.member_state_id,
        Submission.reporting_period_id,
        Submission.status,
        Submission.submitted_at,
    ).where(
        col(Submission.reporting_period_id).in_(scope.to_date_ids),
        *_own_rows_only(scope, Submission.member_state_id),
    )


def _end_of_day(day: date, office_tz: ZoneInfo) -> datetime:
    """The first instant after ``day`` ends in the office's time zone, in UTC."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=office_tz).astimezone(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _cell(
    period: ReportingPeriod,
    status: str | None,
    submitted_at: datetime | None,
    cutoff: datetime,
    today: date,
) -> CompletenessCell:
    late = None if submitted_at is None else submitted_at >= cutoff
    if status == "approved":
        category = "approved"
    elif status == "returned":
        category = "returned"
    elif status == "submitted":
        category = "late" if late else "on_time"
    elif today > period.due_date:
        category = "missing"
    else:
        category = "not_due"
    if category in ("missing", "not_due"):
        submitted_at, late = None, None
    return CompletenessCell(
        period_code=period.code, category=category, submitted_at=submitted_at, late=late
    )


def _narratives(session: Session, scope: _Scope, limit: int | None) -> tuple[list, int]:
    """Narratives of approved values in the range, newest period first; the row state's only
    when one is in scope."""
    rows = _run(session, scope, _narratives_query, limit)
    lines = [
        NarrativeLine(
            indicator_id=row[0],
            indicator_code=row[1],
            indicator_title=row[2],
            period_code=row[3],
            member_state_id=row[4],
            member_state_name=row[5],
            text=row[6],
            evidence_url=row[7] or "",
            corrected=bool(row[8]),
        )
        for row in rows
    ]
    return lines, (rows[0][-1] if rows else 0)


def _narratives_query(scope: _Bound, limit: int | None):
    iv = IndicatorValue
    conditions = [
        col(iv.submission_id).in_(totals_kept.approved_submissions()),
        col(iv.reporting_period_id).in_(scope.range_ids),
        col(iv.indicator_id).in_(_indicators_in_scope(scope)),
        iv.narrative != literal_column("''"),  # a literal, so the partial index applies
        *_own_rows_only(scope, iv.member_state_id),
    ]
    query = (
        select(
            Indicator.id,
            Indicator.code,
            Indicator.title,
            ReportingPeriod.code,
            MemberState.id,
            MemberState.name,
            iv.narrative,
            iv.evidence_url,
            iv.corrected_after_close,
            func.count().over(),
        )
        .join(Indicator, col(Indicator.id) == iv.indicator_id)
        .join(ReportingPeriod, col(ReportingPeriod.id) == iv.reporting_period_id)
        .join(MemberState, col(MemberState.id) == iv.member_state_id)
        .where(*conditions)
        .order_by(col(ReportingPeriod.start_date).desc(), Indicator.code, MemberState.name)
    )
    return query if limit is None else query.limit(limit)


def _snapshots(session: Session, scope: _Scope) -> list[SnapshotRef]:
    rows = _run(session, scope, _snapshots_query)
    return [SnapshotRef(period_id=i, period_code=c, frozen_at=_aware(t)) for i, c, t in rows]


def _snapshots_query(scope: _Bound):
    return (
        select(ReportingPeriod.id, ReportingPeriod.code, SummarySnapshot.created_at)
        .join(SummarySnapshot, col(SummarySnapshot.reporting_period_id) == ReportingPeriod.id)
        .where(col(ReportingPeriod.id).in_(scope.period_ids))
        .order_by(ReportingPeriod.start_date)
    )


# --- Putting it together --------------------------------------------------------------------


def _period_ref(period: ReportingPeriod) -> PeriodRef:
    return PeriodRef(
        id=period.id,
        code=period.code,
        start_date=period.start_date,
        end_date=period.end_date,
        due_date=period.due_date,
        status=period.status,
    )


@dataclass
class _Figures:
    """The grouped rows of the summary's queries, keyed by indicator (and period)."""

    # Each reported indicator's figure per period (None: nothing approved makes one).
    trend: dict[int, dict[int, float | None]] = field(default_factory=lambda: defaultdict(dict))
    to_date: dict[int, _Sums] = field(default_factory=lambda: defaultdict(_Sums))
    in_range: dict[int, _Sums] = field(default_factory=lambda: defaultdict(_Sums))
    state: dict[int, _Sums] = field(default_factory=lambda: defaultdict(_Sums))
    corrected: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    latest_to_date: dict[int, _Sums] = field(default_factory=lambda: defaultdict(_Sums))
    latest_range: dict[int, _Sums] = field(default_factory=lambda: defaultdict(_Sums))
    latest_state: dict[int, _Sums] = field(default_factory=lambda: defaultdict(_Sums))
    texts: dict[int, str] = field(default_factory=dict)
    computed: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    computed_states: dict[tuple[int, int | None], int] = field(default_factory=dict)


class _IndicatorRow(NamedTuple):
    """What a summary line needs of an indicator, read by attribute like an Indicator: plain
    rows, not ORM objects (a large plan has hundreds, and nothing here changes them), kept as
    tuples because a tuple's fields read about ten times faster than a Row's by name."""

    id: int
    code: str
    title: str
    level: str
    unit: str
    direction: str
    aggregation: str
    is_proposed: bool
    computed_from: str | None
    by_sex: bool
    initiative_id: int | None
    strategic_goal_id: int | None
    baseline_value: float | None
    target_value: float | None


# The columns, named like the tuple's fields and in their order.
_INDICATOR_FIELDS = tuple(getattr(Indicator, name) for name in _IndicatorRow._fields)


def _gather_figures(session: Session, scope: _Scope, indicators: list[_IndicatorRow]) -> _Figures:
    """Run the indicator queries (a fixed number) and file their rows for quick lookup."""
    figures = _Figures()
    kind_of = {indicator.id: (indicator.unit, indicator.aggregation) for indicator in indicators}
    for ind_id, period_id, value, count, num, den, yes, fixed in _run(session, scope, _period_sums):
        figures.trend[ind_id][period_id] = _period_figure(
            *kind_of[ind_id], value, count, num, den, yes
        )
        if fixed:
            figures.corrected[ind_id].add(period_id)
    for row in _run(session, scope, _window_sums):
        ind_id, is_state, v, n, d, yes, incomplete, rv, rn, rd, ryes = row
        if is_state:
            figures.state[ind_id].add(v, n, d, yes, False)
            continue
        figures.to_date[ind_id].add(v, n, d, yes, incomplete)
        figures.in_range[ind_id].add(rv, rn, rd, ryes, False)
    for row in _run(session, scope, _latest_sums):
        ind_id, is_state, v, n, d, yes, incomplete, rv, rn, rd, ryes = row
        figures.latest_to_date[ind_id].add(v, n, d, yes, incomplete)
        figures.latest_range[ind_id].add(rv, rn, rd, ryes, False)
        if is_state:
            figures.latest_state[ind_id].add(v, n, d, yes, incomplete)
    figures.texts = _latest_texts(session, scope)
    if any(i.computed_from for i in indicators):
        for ind_id, period_id, activities, people in _run(session, scope, _computed_per_period):
            figures.computed[ind_id, period_id] = (float(activities), float(people or 0))
        for ind_id, period_id, states in _run(session, scope, _computed_states):
            figures.computed_states[ind_id, period_id] = states
    return figures


# (period id, period code, within the range) for each period to date, in time order.
_PeriodKey = tuple[int, str, bool]


def _initiatives(scope: _Bound):
    return (
        select(
            Initiative.id,
            Initiative.code,
            Initiative.title,
            Initiative.status,
            Initiative.rag,
            Initiative.rag_note,
            Initiative.status_updated_at,
            Initiative.strategic_goal_id,
        )
        .where(col(Initiative.strategic_goal_id).in_(scope.goal_ids))
        .order_by(Initiative.code)
    )


def _indicators(scope: _Bound):
    return (
        select(*_INDICATOR_FIELDS)
        .where(col(Indicator.id).in_(_indicators_in_scope(scope)))
        .order_by(Indicator.code)
    )


def _indicator_lines(
    session: Session, scope: _Scope, indicators: list[_IndicatorRow], initiatives: dict[int, str]
) -> dict[int, IndicatorLine]:
    figures = _gather_figures(session, scope, indicators)
    range_ids = set(scope.range_ids)
    periods = [(p.id, p.code, p.id in range_ids) for p in scope.to_date_periods]
    expected = expected_share(scope.plan, scope.to_date_periods[-1].end_date)
    order = {period_id: (n, code) for n, (period_id, code, _r) in enumerate(periods)}
    return {
        indicator.id: _indicator_line(
            indicator,
            figures,
            periods,
            order,
            scope,
            expected,
            initiatives.get(indicator.initiative_id),
        )
        for indicator in indicators
    }


def _reported_trend(
    indicator_id: int, figures: _Figures, periods: list[_PeriodKey]
) -> list[tuple[str, float | None]]:
    """A reported indicator's figure in each period to date (None where nothing approved)."""
    figure_in = figures.trend.get(indicator_id, {}).get
    return [(code, figure_in(period_id)) for period_id, code, _in_range in periods]


def _period_figure(
    unit: str, aggregation: str, value, count, numerator, denominator, yes
) -> float | None:
    """One period's figure from its totals, as ``_Sums.figure`` gives it for several (and, for
    an ``average`` indicator, the states' mean, as ``aggregation.period_figure`` does)."""
    if unit == "number" and aggregation == "average":
        return float(value) / count if value is not None and count else None
    if unit == "percentage":
        return 100.0 * float(numerator or 0) / float(denominator) if denominator else None
    if unit == "yes_no":
        return float(yes or 0)
    if unit == "text" or value is None:
        return None
    return float(value)


def _windows(
    indicator: _IndicatorRow, figures: _Figures, periods: list[_PeriodKey], scope: _Scope
) -> tuple[list, float | None, float | None, float | None, bool]:
    """(trend, range value, to-date value, the state's value, sex split incomplete)."""
    unit = indicator.unit
    if indicator.computed_from:
        trend = [
            (code, _computed_value(indicator, figures.computed, figures.computed_states, pid))
            for pid, code, _in_range in periods
        ]
        ranged, to_date = _computed_windows(
            indicator, figures.computed, figures.computed_states, scope
        )
        return trend, ranged, to_date, None, False
    trend = _reported_trend(indicator.id, figures, periods)
    if indicator.aggregation == "average":
        return _level_windows(indicator, figures, periods, trend)
    if indicator.aggregation == "cumulative" or unit == "yes_no":
        latest = figures.latest_to_date.get(indicator.id, _NO_SUMS)
        return (
            trend,
            figures.latest_range.get(indicator.id, _NO_SUMS).figure(unit),
            latest.figure(unit),
            figures.latest_state.get(indicator.id, _NO_SUMS).figure(unit),
            latest.incomplete,
        )
    to_date = figures.to_date.get(indicator.id, _NO_SUMS)
    return (
        trend,
        figures.in_range.get(indicator.id, _NO_SUMS).figure(unit),
        to_date.figure(unit),
        figures.state.get(indicator.id, _NO_SUMS).figure(unit),
        to_date.incomplete,
    )


def _level_windows(
    indicator: _IndicatorRow,
    figures: _Figures,
    periods: list[_PeriodKey],
    trend: list[tuple[str, float | None]],
) -> tuple[list, float | None, float | None, float | None, bool]:
    """An average indicator's figures are levels: the latest period's mean stands, to date
    and within the range (which ends where "to date" does), and a state's latest value."""
    latest = [
        (in_range, value)
        for (_pid, _code, in_range), (_c, value) in zip(periods, trend, strict=True)
        if value is not None
    ]
    to_date = latest[-1][1] if latest else None
    ranged = to_date if latest and latest[-1][0] else None
    state = figures.latest_state.get(indicator.id, _NO_SUMS).figure(indicator.unit)
    incomplete = figures.to_date.get(indicator.id, _NO_SUMS).incomplete
    return trend, ranged, to_date, state, incomplete


def _indicator_line(
    indicator: _IndicatorRow,
    figures: _Figures,
    periods: list[_PeriodKey],
    order: dict[int, tuple[int, str]],
    scope: _Scope,
    expected: float,
    initiative_code: str | None,
) -> IndicatorLine:
    unit = indicator.unit
    trend, range_value, to_date_value, state_value, incomplete = _windows(
        indicator, figures, periods, scope
    )
    latest_period, latest_value = next(
        ((code, value) for code, value in reversed(trend) if value is not None), (None, None)
    )
    # The one rule of every page: which figure is rated, its percent and its rating.
    rated = rate_progress(indicator, to_date_value, latest_value, expected)
    corrected = sorted(order[p] for p in figures.corrected.get(indicator.id, ()))
    return IndicatorLine(
        id=indicator.id,
        code=indicator.code,
        title=indicator.title,
        level=indicator.level,
        unit=unit,
        direction=indicator.direction,
        aggregation=indicator.aggregation,
        is_proposed=indicator.is_proposed,
        computed_from=indicator.computed_from,
        by_sex=indicator.by_sex,
        initiative_code=initiative_code,
        baseline=indicator.baseline_value,
        target=indicator.target_value,
        latest_value=latest_value,
        latest_period=None if unit == "text" else latest_period,
        latest_text=figures.texts.get(indicator.id),
        range_value=range_value,
        to_date_value=to_date_value,
        rated_value=rated.value,
        percent=rated.percent,
        rating=rated.rating,
        trend=trend,
        state_value=state_value if scope.state_id is not None else None,
        incomplete=incomplete and indicator.by_sex,
        corrected_in=[code for _n, code in corrected],
    )


def _computed_value(indicator, computed, computed_states, period_id) -> float:
    if indicator.computed_from == "member_states_participating":
        return float(computed_states.get((indicator.id, period_id), 0))
    activities, people = computed.get((indicator.id, period_id), (0.0, 0.0))
    return activities if indicator.computed_from == "activities" else people


def _computed_windows(indicator, computed, computed_states, scope: _Scope):
    if indicator.computed_from == "member_states_participating":
        return (
            float(computed_states.get((indicator.id, -1), 0)),
            float(computed_states.get((indicator.id, None), 0)),
        )
    range_ids = set(scope.range_ids)
    index = 0 if indicator.computed_from == "activities" else 1
    to_date = sum(
        computed.get((indicator.id, p.id), (0.0, 0.0))[index] for p in scope.to_date_periods
    )
    in_range = sum(computed.get((indicator.id, p), (0.0, 0.0))[index] for p in range_ids)
    return float(in_range), float(to_date)


def build_summary(
    session: Session,
    viewer: Viewer,
    filters: SummaryFilters | None = None,
    *,
    today: date | None = None,
    office_tz: str | None = None,
    narratives_limit: int | None = NARRATIVES_SHOWN,
    plan_on: date | None = None,
) -> Summary:
    """The summary the viewer may read, for the filters given (corrected where they make no
    sense, with a notice saying so). Raises ``NotFound`` when there is no work plan.

    A fixed number of queries, whatever the size of the data. ``narratives_limit=None`` keeps
    every narrative of the range (exports, snapshots). The plan is the one running on
    ``plan_on`` (default: today).
    """
    today = today or date.today()
    scope, choices = _resolve(session, viewer, filters or SummaryFilters(), today, plan_on or today)
    summary = Summary(
        plan_code=scope.plan.code,
        plan_title=scope.plan.title,
        generated_at=utcnow(),
        focus_area_id=scope.focus_area_id,
        goal_id=scope.goal_id,
        member_state_id=scope.state_id,
        member_state_name=scope.state.name if scope.state else None,
        own_state_only=scope.own_state_only,
        notices=scope.notices,
        choices=choices,
        snapshots=_snapshots(session, scope),
    )
    if not scope.range_periods:
        return summary
    summary.period_from = scope.range_periods[0].code
    summary.period_to = scope.range_periods[-1].code
    summary.range_periods = [p.code for p in scope.range_periods]
    summary.to_date_periods = [p.code for p in scope.to_date_periods]
    summary.expected_percent = 100.0 * expected_share(
        scope.plan, scope.to_date_periods[-1].end_date
    )

    initiatives = _run(session, scope, _initiatives)
    indicators = [_IndicatorRow._make(row) for row in _run(session, scope, _indicators)]
    lines = _indicator_lines(session, scope, indicators, {i.id: i.code for i in initiatives})
    activity_rows = {row[0]: row[1:] for row in _run(session, scope, _activity_totals)}

    goals: dict[int, GoalSummary] = {}
    for goal in scope.goals:
        counts = activity_rows.get(goal.id)
        totals = ActivityTotals()
        if counts:
            r_count, r_people, r_female, r_male, count, people = counts
            totals = ActivityTotals(
                range_count=int(r_count or 0),
                range_participants=int(r_people or 0),
                range_female=int(r_female or 0),
                range_male=int(r_male or 0),
                to_date_count=int(count or 0),
                to_date_participants=int(people or 0),
            )
        goals[goal.id] = GoalSummary(
            id=goal.id, number=goal.number, title=goal.title, activities=totals
        )
    initiative_goal = {}
    for initiative in initiatives:
        initiative_goal[initiative.id] = initiative.strategic_goal_id
        goals[initiative.strategic_goal_id].initiatives.append(
            InitiativeLine(
                id=initiative.id,
                code=initiative.code,
                title=initiative.title,
                status=initiative.status,
                rag=initiative.rag,
                rag_note=initiative.rag_note,
                status_updated_at=_aware(initiative.status_updated_at),
            )
        )
    for indicator in indicators:
        goal_id = indicator.strategic_goal_id or initiative_goal.get(indicator.initiative_id)
        if goal_id in goals:
            goals[goal_id].indicators.append(lines[indicator.id])
    for fa in scope.focus_areas:
        summary.focus_areas.append(
            FocusAreaSummary(
                id=fa.id,
                number=fa.number,
                title=fa.title,
                goals=[goals[g.id] for g in scope.goals if g.focus_area_id == fa.id],
            )
        )
    summary.participants_by_state = _participants_by_state(session, scope)
    summary.participant_totals = _participant_totals(session, scope)
    summary.completeness = _completeness(session, scope, today, office_timezone(office_tz))
    summary.narratives, summary.narratives_total = _narratives(session, scope, narratives_limit)
    if summary.corrected_indicators:
        summary.notices.append(
            "Some figures include corrections made by an RSO manager after their period was "
            "closed; they are marked “corrected”. The frozen snapshot of a closed period still "
            "shows the figures as they were when it was closed."
        )
    return summary
