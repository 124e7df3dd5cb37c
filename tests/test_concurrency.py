"""Many people at once: one winner per status version, concurrent writers on SQLite without
"database is locked", and uploads from different states committing side by side.

Times are never asserted here (speed is measured in bench/); every thread and server is bounded
and stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import func, select

from app.plan.models import Initiative, InitiativeStatusChange, ReportingPeriod
from app.progress.models import IndicatorValue, Submission
from tests import factories
from tests.conftest import open_session
from tests.fixtures_accounts import csrf_of, sign_in
from tests.live_gunicorn import Client, Reply, serve
from tests.workbooks import fill, valid_answers

CLIENTS = 20
WAIT_S = 60
CONFLICT = "Someone else changed this status a moment ago"
T = TypeVar("T")


def _all_at_once(count: int, task: Callable[[int, threading.Barrier], T]) -> list[T]:
    """Run ``task(i, barrier)`` on ``count`` threads; they meet at the barrier to start together."""
    barrier = threading.Barrier(count, timeout=WAIT_S)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(task, index, barrier) for index in range(count)]
        return [future.result(timeout=WAIT_S) for future in futures]


def _initiative(app, code: str) -> Initiative:
    with open_session(app) as session:
        return session.exec(select(Initiative).where(Initiative.code == code)).one()


def _history_count(app, initiative_id: int) -> int:
    with open_session(app) as session:
        return session.exec(
            select(func.count())
            .select_from(InitiativeStatusChange)
            .where(InitiativeStatusChange.initiative_id == initiative_id)
        ).one()


@pytest.fixture
def server(seeded, people, database_url: str, tmp_path: Path):
    """gunicorn with enough workers and threads that 16 requests really run at once."""
    with serve(database_url, tmp_path, workers=4, threads=4) as running:
        yield running


def test_twenty_managers_saving_one_version_make_one_winner(server, seeded, people) -> None:
    before = _initiative(seeded, "2.1")
    history_before = _history_count(seeded, before.id)
    clients = [Client(server.url) for _ in range(CLIENTS)]
    for client in clients:
        client.sign_in(people.manager.email, factories.DEFAULT_PASSWORD)
    tokens = [client.get(f"/initiatives/{before.id}").csrf_token() for client in clients]

    def save(index: int, barrier: threading.Barrier) -> Reply:
        barrier.wait()
        return clients[index].post(
            f"/initiatives/{before.id}/status",
            {
                "csrf_token": tokens[index],
                "version": str(before.version),
                "status": "in_progress",
                "rag": "at_risk",
                "rag_note": f"manager {index}",
            },
            headers={"HX-Request": "true"},
        )

    replies = _all_at_once(CLIENTS, save)

    statuses = sorted(reply.status for reply in replies)
    assert statuses == [200] + [409] * (CLIENTS - 1), statuses
    (winner,) = [index for index, reply in enumerate(replies) if reply.status == 200]
    assert "Saved." in replies[winner].text
    for reply in replies:
        assert "database is locked" not in reply.text
        if reply.status == 409:
            assert CONFLICT in reply.text and f"manager {winner}" in reply.text
    after = _initiative(seeded, "2.1")
    assert (after.version, after.rag_note) == (before.version + 1, f"manager {winner}")
    assert _history_count(seeded, before.id) == history_before + 1


def test_uploads_from_two_states_at_once_both_commit(server, seeded, people) -> None:
    with open_session(seeded) as session:
        period_id = session.exec(
            select(ReportingPeriod.id).where(ReportingPeriod.code == "2025-Q3")
        ).one()
    focal_points = [people.focal_point, people.other_focal_point]
    clients = [Client(server.url) for _ in focal_points]
    workbooks, tokens = [], []
    for client, person in zip(clients, focal_points, strict=True):
        client.sign_in(person.email, factories.DEFAULT_PASSWORD)
        template = client.get(f"/uploads/template?period_id={period_id}").body
        workbooks.append(fill(template, valid_answers(template)))
        tokens.append(client.get("/uploads").csrf_token())

    def upload_and_commit(index: int, barrier: threading.Barrier) -> tuple[int, int]:
        client, token = clients[index], tokens[index]
        barrier.wait()
        preview = client.post(
            "/uploads",
            {"csrf_token": token},
            files={"workbook": (f"state-{index}.xlsx", workbooks[index])},
            headers={"HX-Request": "true"},
        )
        assert preview.status == 200, preview.text[:500]
        upload_id = int(preview.text.split("/uploads/")[1].split("/commit")[0])
        barrier.wait()
        committed = client.post(f"/uploads/{upload_id}/commit", {"csrf_token": token})
        return preview.status, committed.status

    assert _all_at_once(2, upload_and_commit) == [(200, 303), (200, 303)]
    with open_session(seeded) as session:
        submissions = session.exec(select(Submission)).all()
        values = session.exec(select(IndicatorValue)).all()
    assert {s.member_state_id for s in submissions} == {people.thailand.id, people.malaysia.id}
    for submission in submissions:
        own = [v for v in values if v.submission_id == submission.id]
        assert own and all(v.source == "upload" for v in own)


def test_a_few_writers_at_once_never_see_database_is_locked(seeded, people) -> None:
    """Through the app itself (no server): four managers each save ten status changes, on four
    initiatives, at the same time. SQLite serialises them on its busy timeout; nobody fails."""
    codes = ["1.1", "1.2", "1.3", "2.1"]
    starting = {code: _initiative(seeded, code) for code in codes}
    rounds = 10

    def save_ten(index: int, barrier: threading.Barrier) -> list[int]:
        client = sign_in(seeded.test_client(), people.manager)
        initiative = starting[codes[index]]
        barrier.wait()
        statuses = []
        for step in range(rounds):
            response = client.post(
                f"/initiatives/{initiative.id}/status",
                data={
                    "csrf_token": csrf_of(client),
                    "version": str(initiative.version + step),
                    "status": "in_progress",
                    "rag": "on_track",
                    "rag_note": f"step {step}",
                },
                headers={"HX-Request": "true"},
            )
            assert "database is locked" not in response.get_data(as_text=True)
            statuses.append(response.status_code)
        return statuses

    assert _all_at_once(len(codes), save_ten) == [[200] * rounds] * len(codes)
    for code, before in starting.items():
        after = _initiative(seeded, code)
        assert (after.version, after.rag_note) == (before.version + rounds, f"step {rounds - 1}")
