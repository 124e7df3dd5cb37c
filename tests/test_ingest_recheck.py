"""A load trusts the rows its preview checked only while the rules they were checked by hold:
the preview keeps their fingerprint, and an indicator changed since then means every row is
checked again (and refused) at the load."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlmodel import select

from app.accounts.services import viewer_for
from app.imports import ingest
from app.imports.models import Upload
from app.plan.models import Indicator
from app.progress.models import IndicatorValue
from app.progress.services import rules_fingerprint
from tests.conftest import open_session
from tests.fixtures_accounts import People
from tests.test_imports import _commit, _latest, _upload, _values
from tests.workbooks import fill, valid_answers


def _a_plain_count(answers: dict[str, dict[str, object]]) -> str:
    """A number indicator not counted by sex (its value may have a fraction)."""
    return next(
        code
        for code, typed in answers.items()
        if set(typed) == {"Value", "Narrative"} and isinstance(typed["Value"], int)
    )


def test_a_preview_keeps_the_fingerprint_of_the_rules_its_rows_were_checked_by(
    app: Flask, focal: FlaskClient, template: bytes
) -> None:
    _upload(focal, fill(template, valid_answers(template)))
    upload = _latest(app)
    with open_session(app) as session:
        ids = [row[0] for row in upload.rows[1:]]
        indicators = session.exec(select(Indicator).where(Indicator.id.in_(ids))).all()  # type: ignore[attr-defined]
    assert upload.outcome == "previewed"
    assert upload.rules_checked == rules_fingerprint(indicators)
    assert _commit(focal, upload.id).status_code == 303
    assert len(_values(app)) == len(ids)


def test_the_fingerprint_follows_each_indicators_kind_and_nothing_else() -> None:
    class Row:
        def __init__(self, id_: int, unit: str, by_sex: bool) -> None:
            self.id, self.unit, self.by_sex = id_, unit, by_sex

    plan = [Row(1, "number", False), Row(2, "percentage", False)]
    same = rules_fingerprint(reversed(plan))
    assert rules_fingerprint(plan) == same
    assert rules_fingerprint([Row(1, "number", True), plan[1]]) != same
    assert rules_fingerprint([Row(1, "text", False), plan[1]]) != same
    assert rules_fingerprint([plan[0], Row(3, "percentage", False)]) != same
    assert rules_fingerprint(plan[:1]) != same


def test_an_indicator_changed_after_the_preview_has_every_row_checked_again_at_the_load(
    app: Flask, people: People, focal: FlaskClient, template: bytes
) -> None:
    """7.5 is a valid figure for a plain number; once the indicator counts people by sex, its
    total must be whole: the load refuses the row, although the preview accepted it."""
    answers = valid_answers(template)
    code = _a_plain_count(answers)
    answers[code]["Value"] = 7.5
    _upload(focal, fill(template, answers))
    upload = _latest(app)
    assert upload.outcome == "previewed"
    with open_session(app) as session:
        indicator = session.exec(select(Indicator).where(Indicator.code == code)).one()
        indicator.by_sex = True
        session.add(indicator)
        session.commit()
    with open_session(app) as session:
        viewer = viewer_for(session, people.focal_point)
        with pytest.raises(ingest.CommitRefused, match="whole number") as refused:
            ingest.commit(session, session.get(Upload, upload.id), viewer)
        assert "The plan changed after this preview" in str(refused.value)
        session.commit()  # as the view keeps a refusal: the upload marked, nothing else
        assert session.exec(select(IndicatorValue)).all() == []
        assert session.get(Upload, upload.id).outcome == "stale"


def test_values_written_in_bulk_keep_the_databases_own_form_of_a_time(
    app: Flask, focal: FlaskClient, template: bytes
) -> None:
    """The load writes through the driver; a time is stored as SQLAlchemy stores it (on
    SQLite, text without the time zone), so it sorts and compares with every other time."""
    _upload(focal, fill(template, valid_answers(template)))
    assert _commit(focal, _latest(app).id).status_code == 303
    with open_session(app) as session:
        connection = session.connection()
        stored = connection.execute(text("SELECT DISTINCT updated_at FROM indicator_value")).all()
        committed = connection.execute(text("SELECT committed_at FROM upload")).scalar_one()
        typed = session.exec(select(IndicatorValue.updated_at)).first()
    assert len(stored) == 1
    if isinstance(committed, str):  # SQLite
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stored[0][0])
        assert len(stored[0][0]) == len(committed)
    assert typed is not None and typed.tzinfo is not None


def _plain_numbers(session, people: People, period_code: str = "2025-Q3") -> list[Indicator]:
    from app.plan.models import ReportingPeriod
    from app.progress.submissions import reported_indicators

    period = session.exec(select(ReportingPeriod).where(ReportingPeriod.code == period_code)).one()
    found = reported_indicators(session, people.thailand.id, period)
    return period, [i for i in found if i.unit == "number" and not i.by_sex]


def _revisions(session) -> dict[int, list[tuple[int, str]]]:
    from app.progress.models import IndicatorValueRevision

    kept: dict[int, list[tuple[int, str]]] = {}
    for revision in session.exec(select(IndicatorValueRevision)).all():
        kept.setdefault(revision.indicator_value_id, []).append((revision.version, revision.reason))
    return kept


@pytest.mark.parametrize("another_value_has_the_stamp", [False, True])
def test_a_large_batch_copies_exactly_its_own_values_into_revisions(
    app: Flask, people: People, monkeypatch: pytest.MonkeyPatch, another_value_has_the_stamp: bool
) -> None:
    """A workbook's worth of values is copied into revisions by the batch's time stamp in one
    statement; a value of the report written earlier with the same stamp is not copied again
    (the copy falls back to the values by indicator)."""
    from datetime import UTC, datetime

    from app.progress import services

    stamp = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
    monkeypatch.setattr(services, "_FEW", 1)  # two values are "many" here
    monkeypatch.setattr(services, "utcnow", lambda: stamp)
    in_one_statement: list[bool] = []
    copy_stamped = services._copy_stamped

    def spied(*args, **kwargs) -> bool:
        in_one_statement.append(copy_stamped(*args, **kwargs))
        return in_one_statement[-1]

    monkeypatch.setattr(services, "_copy_stamped", spied)
    with open_session(app) as session:
        period, numbers = _plain_numbers(session, people)
        first, *batch = numbers[:3]

        def value(indicator: Indicator, figure: float) -> services.ValueInput:
            return services.ValueInput(indicator.id, period.id, people.thailand.id, figure)

        if another_value_has_the_stamp:
            services.record_indicator_values(session, [value(first, 1)], source="web", reason="a")
        written = services.record_indicator_values(
            session, [value(i, 2) for i in batch], source="upload", reason="b"
        )
        session.commit()
        kept = _revisions(session)
    assert {w.value_id for w in written} <= set(kept)
    assert [kept[w.value_id] for w in written] == [[(1, "b")]] * len(batch)
    assert sum(len(r) for r in kept.values()) == len(batch) + another_value_has_the_stamp
    assert in_one_statement == [not another_value_has_the_stamp]
