"""Load the work plan and the demo data from the readable TOML files in ``app/plan/seed/``.

Loading is idempotent: rows are matched on their natural keys (codes and numbers) and only
missing ones are added, so seeding twice changes nothing and never undoes a manager's edits.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from app.plan.models import (
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
from app.plan.seed_schema import DemoSeed, IndicatorSeed, PlanSeed
from app.signals import demo_seed_read, periods_added

SEED_DIR = Path(__file__).resolve().parent / "seed"
PLAN_FILE = SEED_DIR / "plan.toml"
DEMO_FILE = SEED_DIR / "demo.toml"
REPORT_DUE_AFTER_DAYS = 30

Model = TypeVar("Model", bound=BaseModel)


class SeedError(ValueError):
    """A seed file is missing, is not valid TOML, or does not have the expected shape."""


@dataclass
class SeedResult:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, count: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + count

    @property
    def changed(self) -> bool:
        return any(self.created.values())

    def summary(self) -> str:
        if not self.changed:
            return "nothing to add: the database already holds everything in the seed"
        return ", ".join(f"{n} {what}" for what, n in self.created.items() if n)


def read_seed_file(path: Path, schema: type[Model]) -> Model:
    """Parse and validate a seed file, with errors that name the file and the place."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from exc
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SeedError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return schema.model_validate(document)
    except ValidationError as exc:
        problems = [f"  - {_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SeedError(f"{path} has {len(problems)} problem(s):\n" + "\n".join(problems)) from exc


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item + 1}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def quarters_between(start: date, end: date) -> list[tuple[int, int, date, date]]:
    """(year, quarter, first day, last day) of every quarter that overlaps [start, end]."""
    result = []
    year, quarter = start.year, (start.month - 1) // 3 + 1
    while True:
        first = date(year, 3 * quarter - 2, 1)
        if first > end:
            return result
        next_first = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
        result.append((year, quarter, first, next_first - timedelta(days=1)))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def load_plan(session: Session, path: Path = PLAN_FILE) -> SeedResult:
    """Add whatever of the plan file is not in the database yet."""
    seed = read_seed_file(path, PlanSeed)
    result = SeedResult()
    states = _seed_member_states(session, seed, result)
    plan = _get_or_create(
        session,
        result,
        "work plans",
        WorkPlan,
        {"code": seed.work_plan.code},
        seed.work_plan.model_dump(exclude={"code"}),
    )
    _seed_periods(session, seed.work_plan.period_start, seed.work_plan.period_end, result)
    for fa_seed in seed.focus_areas:
        focus_area = _get_or_create(
            session,
            result,
            "focus areas",
            FocusArea,
            {"work_plan_id": plan.id, "number": fa_seed.number},
            {"title": fa_seed.title},
        )
        goal_seed = fa_seed.goal
        goal = _get_or_create(
            session,
            result,
            "strategic goals",
            StrategicGoal,
            {"focus_area_id": focus_area.id, "number": goal_seed.number},
            goal_seed.model_dump(include={"title", "rationale", "desired_end_state"}),
        )
        for code in goal_seed.impacted_member_states:
            _get_or_create(
                session,
                result,
                "goal member states",
                StrategicGoalMemberState,
                {"strategic_goal_id": goal.id, "member_state_id": states[code].id},
                {},
            )
        for indicator_seed in goal_seed.indicators:
            _seed_indicator(session, result, plan, indicator_seed, states, goal_id=goal.id)
        for init_seed in goal_seed.initiatives:
            initiative = _seed_initiative(session, result, goal, init_seed)
            for indicator_seed in init_seed.indicators:
                _seed_indicator(
                    session, result, plan, indicator_seed, states, initiative_id=initiative.id
                )
    session.flush()
    if result.created.get("reporting periods"):
        # Each state's latest value is kept as of every period: new periods need theirs.
        # progress keeps those figures and listens (plan never imports progress).
        periods_added.send(None, session=session)
    return result


def _seed_member_states(
    session: Session, seed: PlanSeed, result: SeedResult
) -> dict[str, MemberState]:
    states = {}
    for state_seed in seed.member_states:
        states[state_seed.code] = _get_or_create(
            session,
            result,
            "member states and organisations",
            MemberState,
            {"code": state_seed.code},
            state_seed.model_dump(exclude={"code"}),
        )
    return states


def _seed_periods(session: Session, start: date, end: date, result: SeedResult) -> None:
    for year, quarter, first, last in quarters_between(start, end):
        _get_or_create(
            session,
            result,
            "reporting periods",
            ReportingPeriod,
            {"year": year, "quarter": quarter},
            {
                "code": f"{year}-Q{quarter}",
                "start_date": first,
                "end_date": last,
                "due_date": last + timedelta(days=REPORT_DUE_AFTER_DAYS),
            },
        )


def _seed_initiative(
    session: Session, result: SeedResult, goal: StrategicGoal, seed: Any
) -> Initiative:
    existing = session.exec(
        select(Initiative).where(
            Initiative.strategic_goal_id == goal.id, Initiative.code == seed.code
        )
    ).first()
    if existing:
        return existing
    initiative = Initiative(
        strategic_goal_id=goal.id,
        **seed.model_dump(exclude={"indicators"}),
    )
    session.add(initiative)
    session.flush()
    session.add(
        InitiativeStatusChange(
            initiative_id=initiative.id,
            status=initiative.status,
            rag=initiative.rag,
            note="Status as recorded in the work plan seed",
        )
    )
    result.add("initiatives")
    return initiative


def _seed_indicator(
    session: Session,
    result: SeedResult,
    plan: WorkPlan,
    seed: IndicatorSeed,
    states: dict[str, MemberState],
    *,
    goal_id: int | None = None,
    initiative_id: int | None = None,
) -> None:
    existing = session.exec(
        select(Indicator).where(Indicator.work_plan_id == plan.id, Indicator.code == seed.code)
    ).first()
    if existing:
        return
    indicator = Indicator(
        work_plan_id=plan.id,
        strategic_goal_id=goal_id,
        initiative_id=initiative_id,
        baseline_value=seed.baseline,
        target_value=seed.target,
        activity_kinds=",".join(seed.activity_kinds),
        is_proposed=True,
        **seed.model_dump(exclude={"baseline", "target", "activity_kinds", "reported_by"}),
    )
    session.add(indicator)
    session.flush()
    for code in seed.reported_by:
        session.add(
            IndicatorReportingState(indicator_id=indicator.id, member_state_id=states[code].id)
        )
    result.add("indicators")


def load_demo(session: Session, path: Path = DEMO_FILE) -> SeedResult:
    """Add the activities and figures the reference documents describe (needs the plan seeded)."""
    seed = read_seed_file(path, DemoSeed)
    result = SeedResult()
    states = {s.code: s for s in session.exec(select(MemberState)).all()}
    initiatives = {i.code: i for i in session.exec(select(Initiative)).all()}
    if not initiatives:
        raise SeedError("the demo seed needs the work plan: run `flask --app wsgi seed plan` first")
    for activity_seed in seed.activities:
        initiative = initiatives.get(activity_seed.initiative)
        if initiative is None:
            raise SeedError(
                f"{path}: activity {activity_seed.title!r}: unknown initiative "
                f"{activity_seed.initiative!r}"
            )
        _seed_activity(session, result, initiative, activity_seed, states, path)
    # The figures are progress's: its receiver records them through the one service.
    demo_seed_read.send(seed, session=session, path=path, result=result)
    session.flush()
    return result


def _seed_activity(
    session: Session,
    result: SeedResult,
    initiative: Initiative,
    seed: Any,
    states: dict[str, MemberState],
    path: Path,
) -> None:
    existing = session.exec(
        select(Activity).where(
            Activity.initiative_id == initiative.id,
            Activity.title == seed.title,
            Activity.start_date == seed.start_date,
        )
    ).first()
    if existing:
        return
    activity = Activity(
        initiative_id=initiative.id,
        kind=seed.kind,
        title=seed.title,
        start_date=seed.start_date,
        end_date=seed.end_date or seed.start_date,
        place=seed.place,
        summary=seed.summary,
        links="\n".join(seed.links),
        participant_total=seed.total_participants,
        other_participants=seed.other_participants,
    )
    session.add(activity)
    session.flush()
    counts = {p.member_state: p for p in seed.participants}
    for code in dict.fromkeys([*seed.member_states, *counts]):
        state = states.get(code)
        if state is None:
            raise SeedError(f"{path}: activity {seed.title!r}: unknown member state {code!r}")
        figures = counts.get(code)
        session.add(
            ActivityParticipation(
                activity_id=activity.id,
                member_state_id=state.id,
                female=figures.female if figures else None,
                male=figures.male if figures else None,
                unspecified=figures.unspecified if figures else None,
            )
        )
    result.add("activities")


def _get_or_create(
    session: Session,
    result: SeedResult,
    what: str,
    model: type,
    key: dict[str, Any],
    values: dict[str, Any],
) -> Any:
    query = select(model)
    for column, value in key.items():
        query = query.where(getattr(model, column) == value)
    existing = session.exec(query).first()
    if existing is not None:
        return existing
    row = model(**key, **values)
    session.add(row)
    session.flush()
    result.add(what)
    return row
