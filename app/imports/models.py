"""Uploaded member-state workbooks: every file is kept, with what it changed or what was wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow

UPLOAD_OUTCOMES = ("refused", "previewed", "committed", "unchanged", "stale")
# The annotated problems workbook of a refused upload: to be built (by the inbox job, for a
# large workbook), built and stored under STORAGE_DIR/annotated/, or not buildable.
ANNOTATIONS = ("pending", "ready", "failed")
# Problems kept on an upload: the first ones found, with the full count beside them.
MAX_PROBLEMS_KEPT = 1000


class Upload(SQLModel, table=True):
    """One workbook as received. The file itself is archived under STORAGE_DIR by its hash."""

    __tablename__ = "upload"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('refused','previewed','committed','unchanged','stale')", name="outcome"
        ),
        CheckConstraint("source IN ('web','inbox')", name="source"),
        CheckConstraint(
            "annotation IS NULL OR annotation IN ('pending','ready','failed')", name="annotation"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    source: str = Field(max_length=10, default="web")
    original_name: str = Field(max_length=255)
    stored_name: str = Field(max_length=100)
    file_sha256: str = Field(max_length=64, index=True)
    size_bytes: int
    content_hash: str | None = Field(default=None, max_length=64)
    member_state_id: int | None = Field(default=None, foreign_key="member_state.id", index=True)
    reporting_period_id: int | None = Field(default=None, foreign_key="reporting_period.id")
    submission_id: int | None = Field(default=None, foreign_key="submission.id", index=True)
    base_version: int | None = None
    outcome: str = Field(max_length=10)
    counts: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # The first MAX_PROBLEMS_KEPT problems found, and how many there were in all.
    problems: list[Any] | None = Field(default=None, sa_type=JSON)
    problem_count: int = 0
    annotation: str | None = Field(default=None, max_length=10)
    rows: list[Any] | None = Field(default=None, sa_type=JSON)  # parsed values, for commit
    # The rules the rows were checked by (progress.services.rules_fingerprint): while their
    # indicators' fingerprint is the same, the load need not check each row again.
    rules_checked: str | None = Field(default=None, max_length=64)
    committed_at: datetime | None = None
    # Who loaded it: the sender on the web; for an inbox file (no sender), the person who did.
    committed_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class ImportCommit(SQLModel, table=True):
    """Claims "this content was applied to this version of the submission" exactly once.

    Two identical uploads racing both preview against the same version; the unique key lets
    one commit and gives the other a clear "already loaded" instead of doubled values.
    """

    __tablename__ = "import_commit"
    __table_args__ = (UniqueConstraint("submission_id", "content_hash", "base_version"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    content_hash: str = Field(max_length=64)
    base_version: int
    upload_id: int = Field(foreign_key="upload.id")
    committed_at: datetime = Field(default_factory=utcnow)
