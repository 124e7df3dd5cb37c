"""The app's commands in processes of their own, against a test's database, and waiting on them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from flask import Flask

from app.config import PROJECT_ROOT

T = TypeVar("T")


def start_command(
    app: Flask, instance: Path, smtp_port: int, args: list[str], **settings: str
) -> subprocess.Popen:
    """`flask --app wsgi ARGS` on the test app's database and folders, mail to ``smtp_port``,
    with ``settings`` added to its environment."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "INSTANCE_PATH": str(instance),
        "STORAGE_DIR": app.config["STORAGE_DIR"],
        "REPORTS_DIR": app.config["REPORTS_DIR"],
        "SECRET_KEY": "test-secret-key",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        **settings,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition: Callable[[], T], seconds: float, what: str) -> T:
    """What ``condition`` returns once it is true, or the test fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"waited {seconds} s for {what}")
