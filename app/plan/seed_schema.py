"""The shape of the seed files (plan.toml, demo.toml), checked before anything is written."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from app.fields import DAY, TARGET, Link, Text

Code = str
# The seed files go through the same field types as the web forms: a target of inf or below
# zero, a title with a control character or a line break, a date in year 1 are refused here.
Title = Annotated[str, BeforeValidator(Text(300, multiline=False, words="the title"))]
Line = Annotated[str, BeforeValidator(Text(300, multiline=False))]
Prose = Annotated[str, BeforeValidator(Text(20_000))]
WebLink = Annotated[str, BeforeValidator(Link(500))]
Figure = Annotated[float | None, BeforeValidator(TARGET)]
Day = Annotated[date, BeforeValidator(DAY)]
OptionalDay = Annotated[date | None, BeforeValidator(DAY)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WorkPlanSeed(_Strict):
    code: str = Field(min_length=1, max_length=40)
    title: Title = Field(min_length=1, max_length=200)
    period_start: Day
    period_end: Day
    impact_statement: Prose = Field(min_length=1)

    @model_validator(mode="after")
    def _period_in_order(self) -> WorkPlanSeed:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class MemberStateSeed(_Strict):
    code: Code = Field(min_length=2, max_length=12)
    name: Line = Field(min_length=1, max_length=120)
    kind: Literal["state", "organisation", "observer_state", "observer_organisation"] = "state"
    iso3: str | None = Field(default=None, min_length=3, max_length=3)
    andaman_sea: bool = False


class IndicatorSeed(_Strict):
    code: Code = Field(min_length=1, max_length=20)
    title: Title = Field(min_length=1, max_length=300)
    level: Literal["output", "outcome"]
    unit: Literal["number", "percentage", "yes_no", "text"]
    direction: Literal["increase", "decrease", "maintain"] = "increase"
    aggregation: Literal["per_period", "cumulative", "average"] = "per_period"
    baseline: Figure = None
    baseline_date: OptionalDay = None
    target: Figure = None
    frequency: Literal["quarterly", "annual"] = "quarterly"
    by_member_state: bool = False
    by_sex: bool = False
    computed_from: Literal["activities", "participants", "member_states_participating"] | None = (
        None
    )
    activity_kinds: list[
        Literal["training_course", "regional_meeting", "workshop", "research_product", "briefing"]
    ] = []
    reported_by: list[Code] = []
    means_of_verification: Prose = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> IndicatorSeed:
        if self.unit == "percentage" and self.target is not None and not 0 <= self.target <= 100:
            raise ValueError("a percentage target must be between 0 and 100")
        if self.activity_kinds and self.computed_from is None:
            raise ValueError("activity_kinds only makes sense with computed_from")
        if self.computed_from and self.reported_by:
            raise ValueError("an indicator computed from activities is not reported by states")
        if self.aggregation == "average" and (self.unit != "number" or self.computed_from):
            raise ValueError("only a number reported by states is averaged over the states")
        return self


class InitiativeSeed(_Strict):
    code: Code = Field(min_length=1, max_length=20)
    title: Title = Field(min_length=1, max_length=300)
    description: Prose = ""
    lead: Line = Field(default="RSO", max_length=200)
    start_date: Day
    end_date: OptionalDay = None
    status: Literal["planned", "in_progress", "completed", "cancelled"] = "planned"
    rag: Literal["on_track", "at_risk", "off_track"] | None = None
    indicators: list[IndicatorSeed] = []

    @field_validator("indicators")
    @classmethod
    def _outputs_only(cls, indicators: list[IndicatorSeed]) -> list[IndicatorSeed]:
        for indicator in indicators:
            if indicator.level != "output":
                raise ValueError(
                    f"indicator {indicator.code}: an initiative's indicators are outputs"
                )
        return indicators


class GoalSeed(_Strict):
    number: int = Field(ge=1)
    title: Title = Field(min_length=1, max_length=200)
    rationale: Prose = ""
    desired_end_state: Prose = Field(default="", max_length=300)
    impacted_member_states: list[Code] = []
    initiatives: list[InitiativeSeed] = []
    indicators: list[IndicatorSeed] = []


class FocusAreaSeed(_Strict):
    number: int = Field(ge=1)
    title: Title = Field(min_length=1, max_length=200)
    goal: GoalSeed


class PlanSeed(_Strict):
    schema_version: Literal[1]
    work_plan: WorkPlanSeed
    member_states: list[MemberStateSeed] = Field(min_length=1)
    focus_areas: list[FocusAreaSeed] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_known_and_unique(self) -> PlanSeed:
        states = [m.code for m in self.member_states]
        _no_duplicates(states, "member state code")
        _no_duplicates([m.name for m in self.member_states], "member state name")
        _no_duplicates([str(fa.number) for fa in self.focus_areas], "focus area number")
        known = set(states)
        indicator_codes: list[str] = []
        initiative_codes: list[str] = []
        for fa in self.focus_areas:
            goal = fa.goal
            _all_known(goal.impacted_member_states, known, f"goal {goal.number}")
            indicators = list(goal.indicators)
            for initiative in goal.initiatives:
                initiative_codes.append(initiative.code)
                indicators.extend(initiative.indicators)
            for indicator in indicators:
                indicator_codes.append(indicator.code)
                _all_known(indicator.reported_by, known, f"indicator {indicator.code}")
        _no_duplicates(initiative_codes, "initiative code")
        _no_duplicates(indicator_codes, "indicator code")
        return self


class ParticipantsSeed(_Strict):
    member_state: Code
    female: int | None = Field(default=None, ge=0)
    male: int | None = Field(default=None, ge=0)
    unspecified: int | None = Field(default=None, ge=0)


class ActivitySeed(_Strict):
    initiative: Code
    kind: Literal["training_course", "regional_meeting", "workshop", "research_product", "briefing"]
    title: Title = Field(min_length=1, max_length=300)
    start_date: Day
    end_date: OptionalDay = None
    place: Line = Field(default="", max_length=200)
    summary: Prose = ""
    links: list[WebLink] = []
    other_participants: int = Field(default=0, ge=0)
    total_participants: int | None = Field(default=None, ge=0)
    member_states: list[Code] = []
    participants: list[ParticipantsSeed] = []

    @model_validator(mode="after")
    def _dates_in_order(self) -> ActivitySeed:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class IndicatorValueSeed(_Strict):
    indicator: Code
    period: str = Field(pattern=r"^\d{4}-Q[1-4]$")
    member_state: Code
    value: float | None = None
    numerator: float | None = Field(default=None, ge=0)
    denominator: float | None = Field(default=None, gt=0)
    text_value: str | None = None
    narrative: str = ""
    evidence_url: str = ""


class DemoSeed(_Strict):
    schema_version: Literal[1]
    activities: list[ActivitySeed] = []
    indicator_values: list[IndicatorValueSeed] = []


def _no_duplicates(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


def _all_known(codes: list[str], known: set[str], where: str) -> None:
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"{where}: unknown member state code(s) {', '.join(unknown)}")
