"""Configuration read from environment variables, with safe defaults for a local install."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


class ConfigError(RuntimeError):
    """A configuration value is missing or malformed."""


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder.

    A random per-install key is safer than any default string, and keeping it in a file means
    sessions survive a restart.
    """
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    return key


def require_public_url_for_mail(config: Mapping[str, Any]) -> None:
    """Mail carries links to the app: with SMTP configured, PUBLIC_URL must say where it is,
    or every link would point at the server's own localhost (scripts/run sets it itself)."""
    if config.get("SMTP_HOST") and not (config.get("PUBLIC_URL") or "").strip():
        raise ConfigError(
            "PUBLIC_URL is empty while SMTP_HOST is set: the links in invitations, password "
            "resets and reminders would point at this server's localhost. Set PUBLIC_URL to "
            "the address people open the tracker with (https://tracker.example.org)."
        )


def _under_gunicorn() -> bool:
    """gunicorn's master sets SERVER_SOFTWARE before any worker loads the app."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn")


def load_config(instance_path: Path) -> dict:
    """Build the Flask config mapping from the environment; the web app under gunicorn refuses
    to start with mail configured and no PUBLIC_URL."""
    config = _config_from_environment(instance_path)
    if _under_gunicorn():
        require_public_url_for_mail(config)
    return config


def _config_from_environment(instance_path: Path) -> dict:
    instance_path.mkdir(parents=True, exist_ok=True)
    default_db = f"sqlite:///{instance_path / 'rso.db'}"
    storage = Path(os.environ.get("STORAGE_DIR") or PROJECT_ROOT / "imports")
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_db,
        "STORAGE_DIR": str(storage),
        "REPORTS_DIR": os.environ.get("REPORTS_DIR") or str(instance_path / "reports"),
        "ASSETS_DIR": os.environ.get("ASSETS_DIR") or str(PROJECT_ROOT / "node_modules"),
        "OFFICE_TIMEZONE": os.environ.get("OFFICE_TIMEZONE", "Asia/Bangkok"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": _int_env("SMTP_PORT", 25),
        "SMTP_TLS": os.environ.get("SMTP_TLS", "none"),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "rso-tracker@localhost"),
        # Seconds to connect to the mail server and for each of its answers.
        "SMTP_TIMEOUT": _int_env("SMTP_TIMEOUT", 10),
        # How often the scheduler process delivers pending mail, and starts queued runs.
        "OUTBOX_POLL_SECONDS": _int_env("OUTBOX_POLL_SECONDS", 10),
        "JOB_POLL_SECONDS": _int_env("JOB_POLL_SECONDS", 3),
        # A running job's lock is refreshed this often; after three missed beats it is taken over.
        "JOB_HEARTBEAT_SECONDS": _int_env("JOB_HEARTBEAT_SECONDS", 10),
        # Fixes the office's "today" for jobs (demos and tests); empty means the real day.
        "JOBS_TODAY": os.environ.get("JOBS_TODAY", ""),
        "REMINDER_DUE_SOON_DAYS": os.environ.get("REMINDER_DUE_SOON_DAYS", "14,7,1"),
        "REMINDER_OVERDUE_DAYS": os.environ.get("REMINDER_OVERDUE_DAYS", "1,7"),
        "REMINDER_OVERDUE_REPEAT_DAYS": _int_env("REMINDER_OVERDUE_REPEAT_DAYS", 30),
        "REMINDER_MIN_GAP_DAYS": _int_env("REMINDER_MIN_GAP_DAYS", 3),
        "STALE_STATUS_DAYS": _int_env("STALE_STATUS_DAYS", 60),
        "MAX_CONTENT_LENGTH": _int_env("MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        "IMPORT_MAX_ROWS": _int_env("IMPORT_MAX_ROWS", 50_000),
        "IMPORT_MAX_COLUMNS": _int_env("IMPORT_MAX_COLUMNS", 30),
        "IMPORT_MAX_UNCOMPRESSED_BYTES": _int_env(
            "IMPORT_MAX_UNCOMPRESSED_BYTES", 60 * 1024 * 1024
        ),
        "IMPORT_MAX_RATIO": _int_env("IMPORT_MAX_RATIO", 200),
        # A file in the inbox changed more recently than this may still be being copied in.
        "IMPORT_INBOX_SETTLE_SECONDS": _int_env("IMPORT_INBOX_SETTLE_SECONDS", 10),
        # How long a statement waits for another writer before the "busy" page: SQLite's busy
        # timeout, and PostgreSQL's lock_timeout. A job's lock counts as stale only after
        # three missed heartbeats plus the longer of the two.
        "SQLITE_BUSY_TIMEOUT_MS": _int_env("SQLITE_BUSY_TIMEOUT_MS", 15000),
        "DATABASE_LOCK_TIMEOUT_MS": _int_env("DATABASE_LOCK_TIMEOUT_MS", 15000),
        "SESSION_COOKIE_HTTPONLY": True,
        # A session ends this many hours after sign-in, however busy it is (a working day).
        "SESSION_LIFETIME_HOURS": _int_env("SESSION_LIFETIME_HOURS", 12),
        # Set SECURE_COOKIES=1 when served over HTTPS: the cookie becomes Secure and __Host-.
        "SESSION_COOKIE_SECURE": os.environ.get("SECURE_COOKIES", "").lower() in {"1", "true"},
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", ""),
        # How many reverse proxies stand in front (1 behind nginx): their X-Forwarded-For and
        # -Proto are then believed, so the log-in throttle sees each person's own address.
        "PROXY_HOPS": _int_env("PROXY_HOPS", 0),
        "SESSION_COOKIE_SAMESITE": "Lax",
    }
