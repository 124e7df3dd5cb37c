"""With mail configured, the web app under gunicorn and the scheduler need PUBLIC_URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError
from app.scheduling import cli as scheduling_cli

REFUSAL = "PUBLIC_URL is empty while SMTP_HOST is set"


@pytest.fixture
def under_gunicorn(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("SMTP_HOST", "smtp.example.org")
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    return monkeypatch


def _web_app(tmp_path: Path):
    return create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance")})


def test_the_web_app_under_gunicorn_refuses_mail_without_public_url(
    under_gunicorn, tmp_path
) -> None:
    with pytest.raises(ConfigError, match=REFUSAL):
        _web_app(tmp_path)


def test_the_web_app_starts_with_public_url_or_without_mail(under_gunicorn, tmp_path) -> None:
    under_gunicorn.setenv("PUBLIC_URL", "https://tracker.example.org")
    assert _web_app(tmp_path).config["PUBLIC_URL"] == "https://tracker.example.org"
    under_gunicorn.delenv("PUBLIC_URL")
    under_gunicorn.setenv("SMTP_HOST", "")
    assert _web_app(tmp_path).config["SMTP_HOST"] == ""


def test_the_scheduler_refuses_mail_without_public_url(app, monkeypatch) -> None:
    started = []
    monkeypatch.setattr(scheduling_cli, "run_forever", started.append)
    app.config.update(SMTP_HOST="smtp.example.org", PUBLIC_URL="")
    result = app.test_cli_runner().invoke(args=["scheduler", "run"])
    assert result.exit_code != 0 and REFUSAL in result.output
    assert "Traceback" not in result.output and started == []
    app.config["PUBLIC_URL"] = "https://tracker.example.org"
    result = app.test_cli_runner().invoke(args=["scheduler", "run"])
    assert result.exit_code == 0, result.output
    assert len(started) == 1
