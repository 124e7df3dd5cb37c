"""Fixtures for the workbook tests: Thailand's focal point, signed in, and their template."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from app.plan.models import ReportingPeriod
from tests.conftest import open_session
from tests.fixtures_accounts import People, sign_in
from tests.workbooks import download_template

PERIOD = "2025-Q3"


def period_id(app: Flask, code: str = PERIOD) -> int:
    with open_session(app) as session:
        return session.exec(select(ReportingPeriod.id).where(ReportingPeriod.code == code)).one()


@pytest.fixture
def focal(app: Flask, people: People) -> FlaskClient:
    return sign_in(app.test_client(), people.focal_point)


@pytest.fixture
def template(app: Flask, focal: FlaskClient) -> bytes:
    return download_template(focal, period_id(app))
