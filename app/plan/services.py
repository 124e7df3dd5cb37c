"""Reading the plan for pages, exports and jobs, in a fixed number of queries.

The whole tree of a work plan (focus areas, goals, initiatives, indicators) is small, so it is
loaded in a handful of queries and assembled here; the progress of every indicator is computed
from a few more (reported values, periods, activities), whatever the size of the plan, and rated
by the rule the summary uses (``app.figures.rate_progress``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.figures import (
    ValueRow,
    aggregate,
    expected_share,
    latest_level,
    period_figure,
    rate_progress,
    rates_latest_level,
)
from app.plan.models import (
    LABELS,
    Activity,
    ActivityParticipation,
    FocusArea,
    Indicator,
    IndicatorReportingState,
    Initiative,
    InitiativeStatusChange,
    MemberState,
    ReportingPeriod,
    StrategicGoal,
    StrategicGoalMemberState,
    WorkPlan,
)
from app.progress.models import IndicatorValue, Submission
from app.validation import NotFound


def label(code: str | None) -> str:
    """The words a person reads for a stored code such as ``in_progress``."""
    if code is None:
        return "Not rated"
    return LABELS.get(code, code.replace("_", " ").capitalize())


@dataclass
class IndicatorProgress:
    """An indicator's progress as every page shows it (``rate_progress``, as in the summary)."""

    indicator: Indicator
    achieved: float | None  # the figure rated: the total to date, or the latest level
    percent: float | None
    rating: str | None = None
    # The period of the latest level when that is the figure rated (decrease, maintain).
    level_period: str | None = None
    expected_percent: float | None = None  # share of the plan's time elapsed, in percent
    incomplete: bool = False
    reporting_states: int = 0
    latest_text: str | None = None

    @property
    def achieved_display(self) -> str:
        return format_value(self.indicator.unit, self.achieved, self.latest_text)

    @property
    def achieved_label(self) -> str:
        return f"Latest, {self.level_period}" if self.level_period else "To date"

    @property
    def expected_marker(self) -> float | None:
        """Where progress should be by now: drawn for increase indicators, as on the summary."""
        return self.expected_percent if self.indicator.direction == "increase" else None

    @property
    def target_display(self) -> str:
        return format_value(self.indicator.unit, self.indicator.target_value, None)


def format_value(unit: str, value: float | None, text: str | None = None) -> str:
    if unit == "text":
        return text or "—"
    if value is None:
        return "—"
    if unit == "percentage":
        return f"{value:.1f}%"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}"


@dataclass
class InitiativeNode:
    initiative: Initiative
    indicators: list[IndicatorProgress] = field(default_factory=list)


@dataclass
class GoalNode:
    goal: StrategicGoal
    impacted_states: list[MemberState] = field(default_factory=list)
    initiatives: list[InitiativeNode] = field(default_factory=list)
    outcome_indicators: list[IndicatorProgress] = field(default_factory=list)


@dataclass
class FocusAreaNode:
    focus_area: FocusArea
    goals: list[GoalNode] = field(default_factory=list)

    @property
    def initiatives(self) -> list[InitiativeNode]:
        return [node for goal in self.goals for node in goal.initiatives]


@dataclass
class PlanTree:
    plan: WorkPlan
    focus_areas: list[FocusAreaNode]

    def find_focus_area(self, focus_area_id: int) -> FocusAreaNode:
        for node in self.focus_areas:
            if node.focus_area.id == focus_area_id:
                return node
        raise NotFound("focus area")

    def find_goal(self, goal_id: int) -> tuple[FocusAreaNode, GoalNode]:
        for fa in self.focus_areas:
            for goal in fa.goals:
                if goal.goal.id == goal_id:
                    return fa, goal
        raise NotFound("strategic goal")

    def find_initiative(self, initiative_id: int) -> tuple[FocusAreaNode, GoalNode, InitiativeNode]:
        for fa in self.focus_areas:
            for goal in fa.goals:
                for node in goal.initiatives:
                    if node.initiative.id == initiative_id:
                        return fa, goal, node
        raise NotFound("initiative")


def current_work_plan(session: Session, today: date | None = None) -> WorkPlan | None:
    """The plan whose period covers today, else the most recent one."""
    today = today or date.today()
    plans = session.exec(select(WorkPlan).order_by(col(WorkPlan.period_start).desc())).all()
    for plan in plans:
        if plan.period_start <= today <= plan.period_end:
            return plan
    return plans[0] if plans else None


def load_plan_tree(session: Session, plan: WorkPlan) -> PlanTree:
    """Everything of one plan with indicator progress, in a fixed number of queries (nine)."""
    focus_areas = session.exec(
        select(FocusArea).where(FocusArea.work_plan_id == plan.id).order_by(FocusArea.number)
    ).all()
    goals = session.exec(
        select(StrategicGoal)
        .join(FocusArea)
        .where(FocusArea.work_plan_id == plan.id)
        .order_by(StrategicGoal.number)
    ).all()
    initiatives = session.exec(
        select(Initiative)
        .join(StrategicGoal)
        .join(FocusArea)
        .where(FocusArea.work_plan_id == plan.id)
        .order_by(Initiative.code)
    ).all()
    indicators = session.exec(
        select(Indicator).where(Indicator.work_plan_id == plan.id).order_by(Indicator.code)
    ).all()
    impacted = session.exec(
        select(StrategicGoalMemberState.strategic_goal_id, MemberState)
        .join(MemberState)
        .order_by(MemberState.name)
    ).all()
    progress = indicator_progress(session, indicators, initiatives)

    impacted_by_goal: dict[int, list[MemberState]] = defaultdict(list)
    for goal_id, state in impacted:
        impacted_by_goal[goal_id].append(state)
    goal_nodes = {g.id: GoalNode(g, impacted_by_goal[g.id]) for g in goals}
    initiative_nodes = {i.id: InitiativeNode(i) for i in initiatives}
    for indicator in indicators:
        if indicator.initiative_id is not None:
            initiative_nodes[indicator.initiative_id].indicators.append(progress[indicator.id])
        elif indicator.strategic_goal_id in goal_nodes:
            goal_nodes[indicator.strategic_goal_id].outcome_indicators.append(
                progress[indicator.id]
            )
    for node in initiative_nodes.values():
        goal_nodes[node.initiative.strategic_goal_id].initiatives.append(node)
    fa_nodes = {fa.id: FocusAreaNode(fa) for fa in focus_areas}
    for goal_node in goal_nodes.values():
        fa_nodes[goal_node.goal.focus_area_id].goals.append(goal_node)
    return PlanTree(plan, list(fa_nodes.values()))


def last_ended_period(periods: Sequence[ReportingPeriod], today: date) -> ReportingPeriod | None:
    """The period progress is judged at by default: the last one (in time order) that ended
    before today, else the first. The summary's default range ends there, and the plan pages
    expect the progress due by its end, so that both rate alike."""
    ended = [p for p in periods if p.end_date < today]
    return ended[-1] if ended else (periods[0] if periods else None)


def _periods_of(periods: Sequence[ReportingPeriod], plan: WorkPlan) -> list[ReportingPeriod]:
    return [
        p for p in periods if p.end_date >= plan.period_start and p.start_date <= plan.period_end
    ]


def _period_order(period: ReportingPeriod) -> int:
    return period.year * 10 + period.quarter


def indicator_progress(
    session: Session,
    indicators: list[Indicator],
    initiatives: list[Initiative],
    *,
    today: date | None = None,
) -> dict[int, IndicatorProgress]:
    """Progress for each indicator: reported values aggregated, or activities counted, then
    rated by the same rule as the summary (``rate_progress``)."""
    today = today or date.today()
    ids = [i.id for i in indicators]
    # Only approved values count in summaries; drafts and submissions under review do not.
    value_rows = session.exec(
        select(IndicatorValue, ReportingPeriod.year, ReportingPeriod.quarter)
        .join(ReportingPeriod)
        .join(Submission, col(Submission.id) == IndicatorValue.submission_id)
        .where(col(IndicatorValue.indicator_id).in_(ids), Submission.status == "approved")
    ).all()
    rows_by_indicator: dict[int, list[ValueRow]] = defaultdict(list)
    for value, year, quarter in value_rows:
        rows_by_indicator[value.indicator_id].append(_value_row(value, year * 10 + quarter))
    periods = reporting_periods(session)
    code_of = {_period_order(p): p.code for p in periods}
    delivered = delivered_activities(session, [i.id for i in initiatives])
    goal_of = {i.id: i.strategic_goal_id for i in initiatives}
    judged_at: dict[int, tuple[float, ReportingPeriod | None]] = {}
    result = {}
    for indicator in indicators:
        if indicator.work_plan_id not in judged_at:
            judged_at[indicator.work_plan_id] = _judged_at(session, indicator, periods, today)
        expected, as_of = judged_at[indicator.work_plan_id]
        if indicator.computed_from:
            activities = [
                a
                for a in delivered
                if (a.activity.initiative_id == indicator.initiative_id)
                or (
                    indicator.initiative_id is None
                    and goal_of.get(a.activity.initiative_id) == indicator.strategic_goal_id
                )
            ]
            result[indicator.id] = _computed_progress(indicator, activities, as_of, expected)
            continue
        rows = rows_by_indicator[indicator.id]
        agg = aggregate(indicator.unit, indicator.aggregation, rows, by_sex=indicator.by_sex)
        level_order, level = latest_level(indicator.unit, rows, indicator.aggregation)
        rated = rate_progress(indicator, agg.value, level, expected)
        result[indicator.id] = IndicatorProgress(
            indicator,
            achieved=rated.value,
            percent=rated.percent,
            rating=rated.rating,
            level_period=code_of.get(level_order) if rated.on_latest_level else None,
            expected_percent=100.0 * expected,
            incomplete=agg.incomplete,
            reporting_states=agg.reporting_states,
            latest_text=agg.latest_text,
        )
    return result


def _judged_at(
    session: Session, indicator: Indicator, periods: Sequence[ReportingPeriod], today: date
) -> tuple[float, ReportingPeriod | None]:
    """(share of the plan's time expected to be achieved, the period it is judged at)."""
    plan = session.get(WorkPlan, indicator.work_plan_id)
    as_of = last_ended_period(_periods_of(periods, plan), today)
    return expected_share(plan, as_of.end_date if as_of else today), as_of


def _computed_progress(
    indicator: Indicator,
    activities: list[DeliveredActivity],
    as_of: ReportingPeriod | None,
    expected: float,
) -> IndicatorProgress:
    """A computed indicator's progress: its count to date, or (decrease, maintain) its count in
    the period judged at, the figure the summary's trend ends on."""
    to_date = computed_value(indicator, activities)
    level = None
    if as_of is not None and rates_latest_level(indicator.direction, indicator.aggregation):
        level = computed_value(indicator, _in_period(activities, as_of))
    rated = rate_progress(indicator, to_date, level, expected)
    return IndicatorProgress(
        indicator,
        achieved=rated.value,
        percent=rated.percent,
        rating=rated.rating,
        level_period=as_of.code if rated.on_latest_level and as_of else None,
        expected_percent=100.0 * expected,
    )


def _in_period(
    activities: list[DeliveredActivity], period: ReportingPeriod
) -> list[DeliveredActivity]:
    return [a for a in activities if period.start_date <= a.activity.start_date <= period.end_date]


def _value_row(value: IndicatorValue, period_order: int) -> ValueRow:
    return ValueRow(
        member_state_id=value.member_state_id,
        period_order=period_order,
        value=value.value,
        numerator=value.numerator,
        denominator=value.denominator,
        female=value.female,
        male=value.male,
        text_value=value.text_value,
    )


@dataclass
class DeliveredActivity:
    activity: Activity
    participations: list[ActivityParticipation]

    @property
    def participants(self) -> int:
        """The reported head count, else the sum of the per-state figures plus others."""
        if self.activity.participant_total is not None:
            return self.activity.participant_total
        counted = sum(
            (p.female or 0) + (p.male or 0) + (p.unspecified or 0) for p in self.participations
        )
        return counted + self.activity.other_participants

    @property
    def female(self) -> int:
        return sum(p.female or 0 for p in self.participations)

    @property
    def male(self) -> int:
        return sum(p.male or 0 for p in self.participations)

    @property
    def member_state_ids(self) -> set[int]:
        return {p.member_state_id for p in self.participations}


def delivered_activities(session: Session, initiative_ids: list[int]) -> list[DeliveredActivity]:
    activities = session.exec(
        select(Activity)
        .where(col(Activity.initiative_id).in_(initiative_ids))
        .order_by(col(Activity.start_date).desc())
    ).all()
    participations = session.exec(
        select(ActivityParticipation).where(
            col(ActivityParticipation.activity_id).in_([a.id for a in activities])
        )
    ).all()
    by_activity: dict[int, list[ActivityParticipation]] = defaultdict(list)
    for participation in participations:
        by_activity[participation.activity_id].append(participation)
    return [DeliveredActivity(a, by_activity[a.id]) for a in activities]


def computed_value(indicator: Indicator, activities: list[DeliveredActivity]) -> float:
    """Indicators that count activities or participants are computed, never typed twice."""
    kinds = {k for k in indicator.activity_kinds.split(",") if k}
    counted = [a for a in activities if not kinds or a.activity.kind in kinds]
    if indicator.computed_from == "activities":
        return float(len(counted))
    if indicator.computed_from == "participants":
        return float(sum(a.participants for a in counted))
    states: set[int] = set()
    for delivered in counted:
        states |= delivered.member_state_ids
    return float(len(states))


def get_or_404(session: Session, model: type, row_id: int):
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(model.__name__)
    return row


def plan_of_focus_area(session: Session, focus_area_id: int) -> WorkPlan:
    focus_area = get_or_404(session, FocusArea, focus_area_id)
    return session.get(WorkPlan, focus_area.work_plan_id)


def plan_of_goal(session: Session, goal_id: int) -> WorkPlan:
    goal = get_or_404(session, StrategicGoal, goal_id)
    return plan_of_focus_area(session, goal.focus_area_id)


def plan_of_initiative(session: Session, initiative_id: int) -> WorkPlan:
    initiative = get_or_404(session, Initiative, initiative_id)
    return plan_of_goal(session, initiative.strategic_goal_id)


HISTORY_SHOWN = 50


def status_history(
    session: Session, initiative_id: int, limit: int = HISTORY_SHOWN
) -> tuple[list[InitiativeStatusChange], int]:
    """The latest changes, newest first, and how many there are in all (the page shows the
    latest; the audit trail keeps every one)."""
    changes = list(
        session.exec(
            select(InitiativeStatusChange)
            .where(InitiativeStatusChange.initiative_id == initiative_id)
            .order_by(
                col(InitiativeStatusChange.changed_at).desc(), col(InitiativeStatusChange.id).desc()
            )
            .limit(limit)
        ).all()
    )
    total = session.exec(
        select(func.count()).where(InitiativeStatusChange.initiative_id == initiative_id)
    ).one()
    return changes, total


@dataclass
class IndicatorDetail:
    progress: IndicatorProgress
    periods: list[ReportingPeriod]
    states: list[MemberState]
    values: dict[tuple[int, int], IndicatorValue]  # (period id, state id) -> value
    per_period: list[tuple[ReportingPeriod, float | None]]
    activities: list[DeliveredActivity]
    statuses: dict[tuple[int, int], str] = field(default_factory=dict)  # submission status

    @property
    def chart_points(self) -> list[tuple[str, float | None]]:
        return [(period.code, value) for period, value in self.per_period]


def indicator_detail(
    session: Session, indicator_id: int, *, only_state_id: int | None = None
) -> IndicatorDetail:
    """One indicator with its values; ``only_state_id`` limits the state rows (focal points).

    The plan-wide figures (progress, the per-period chart) stay whole: they are totals, not
    another state's rows.
    """
    indicator = get_or_404(session, Indicator, indicator_id)
    if indicator.initiative_id is not None:
        initiatives = [session.get(Initiative, indicator.initiative_id)]
    else:
        initiatives = list(
            session.exec(
                select(Initiative).where(
                    Initiative.strategic_goal_id == indicator.strategic_goal_id
                )
            ).all()
        )
    progress = indicator_progress(session, [indicator], initiatives)[indicator.id]
    plan = session.get(WorkPlan, indicator.work_plan_id)
    periods = list(
        session.exec(
            select(ReportingPeriod)
            .where(
                ReportingPeriod.end_date >= plan.period_start,
                ReportingPeriod.start_date <= plan.period_end,
            )
            .order_by(ReportingPeriod.year, ReportingPeriod.quarter)
        ).all()
    )
    states_query = (
        select(MemberState)
        .join(IndicatorReportingState)
        .where(IndicatorReportingState.indicator_id == indicator.id)
        .order_by(MemberState.name)
    )
    if only_state_id is not None:
        states_query = states_query.where(MemberState.id == only_state_id)
    states = list(session.exec(states_query).all())
    with_status = session.exec(
        select(IndicatorValue, Submission.status)
        .outerjoin(Submission, col(Submission.id) == IndicatorValue.submission_id)
        .where(IndicatorValue.indicator_id == indicator.id)
    ).all()
    approved = [v for v, status in with_status if status == "approved"]
    shown = [
        (v, status)
        for v, status in with_status
        if only_state_id is None or v.member_state_id == only_state_id
    ]
    values = {(v.reporting_period_id, v.member_state_id): v for v, _status in shown}
    statuses = {
        (v.reporting_period_id, v.member_state_id): status or "draft" for v, status in shown
    }
    activities = []
    if indicator.computed_from:
        activities = delivered_activities(session, [i.id for i in initiatives])
    per_period = []
    for period in periods:
        if indicator.computed_from:
            per_period.append((period, computed_value(indicator, _in_period(activities, period))))
        else:
            rows = [_value_row(v, 0) for v in approved if v.reporting_period_id == period.id]
            per_period.append((period, period_figure(indicator.unit, indicator.aggregation, rows)))
    return IndicatorDetail(progress, periods, states, values, per_period, activities, statuses)


def member_states(session: Session) -> list[MemberState]:
    return list(
        session.exec(
            select(MemberState).order_by(col(MemberState.kind).desc(), MemberState.name)
        ).all()
    )


def reporting_periods(session: Session) -> list[ReportingPeriod]:
    return list(
        session.exec(
            select(ReportingPeriod).order_by(ReportingPeriod.year, ReportingPeriod.quarter)
        ).all()
    )


def names_of_people(session: Session, user_ids: list[int | None]) -> dict[int, str]:
    """Display names for the people who made changes (for timelines and histories)."""

    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(User.id, User.full_name).where(col(User.id).in_(wanted))).all()
    return dict(rows)
