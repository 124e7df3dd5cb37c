"""People who use the product and the roles they hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from app.timeutil import utcnow

ROLES = ("admin", "rso_manager", "focal_point", "reviewer")


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    full_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    member_state_id: int | None = Field(default=None, foreign_key="member_state.id", index=True)
    is_active: bool = Field(default=True)
    # Bumped on log-out, password change or disabling: every cookie carrying an older value
    # stops working, which Flask's signed cookies cannot do on their own.
    session_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"
    __table_args__ = (
        CheckConstraint("role IN ('admin','rso_manager','focal_point','reviewer')", name="role"),
    )

    user_id: int = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(max_length=20, primary_key=True)


class LoginFailure(SQLModel, table=True):
    """One failed log-in. Counted in a time window per account and per client address.

    Kept in the database, not in process memory, so the throttle holds across gunicorn workers.
    """

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    throttle_key: str = Field(max_length=300, index=True)
    failed_at: datetime = Field(default_factory=utcnow, index=True)


class AccountToken(SQLModel, table=True):
    """An invitation or password-reset link. Only a hash of the token is stored."""

    __tablename__ = "account_token"
    __table_args__ = (CheckConstraint("purpose IN ('invite','reset')", name="purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    purpose: str = Field(max_length=10)
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    expires_at: datetime
    used_at: datetime | None = None
