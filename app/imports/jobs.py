"""The imports-scan job, registered with the scheduler: the same scan as `flask imports scan`."""

from __future__ import annotations

from typing import Any

from app.imports.cli import run_scan
from app.scheduling.registry import JobContext, register_job


def scan_inbox_job(context: JobContext) -> dict[str, Any]:
    # The scan opens one unit of work per file, the job's own: the runner holds no transaction
    # open, and a run that lost its lock stops at its next file.
    with context.app.app_context():
        outcomes = run_scan(context.unit_of_work)
    context.notes.extend(outcomes)
    return {"files": len(outcomes)}


register_job("imports-scan", "Imports inbox scan", scan_inbox_job)
