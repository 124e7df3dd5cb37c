"""The imports-scan job, registered with the scheduler: the same scan as `flask imports scan`."""

from __future__ import annotations

from typing import Any

from app.imports.cli import run_scan
from app.scheduling.registry import JobContext, register_job


def scan_inbox_job(context: JobContext) -> dict[str, Any]:
    # The scan opens one unit of work per file itself; the runner holds no transaction open.
    with context.app.app_context():
        outcomes = run_scan()
    context.notes.extend(outcomes)
    return {"files": len(outcomes)}


register_job("imports-scan", "Imports inbox scan", scan_inbox_job)
