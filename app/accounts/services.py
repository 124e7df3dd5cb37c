"""Users, roles, log-in with a throttle, invitations and password resets."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, delete, func, select, update

from app.accounts.forms import EMAIL, FULL_NAME
from app.accounts.link_mail import cancel_queued_links
from app.accounts.models import ROLES, AccountToken, LoginFailure, User, UserRole
from app.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from app.fields import field_problem
from app.plan.models import MemberState
from app.timeutil import utcnow
from app.validation import InputError, NotFound

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
TOKEN_LIFETIME = {"invite": timedelta(days=7), "reset": timedelta(hours=24)}


@dataclass(frozen=True)
class Viewer:
    """Who is asking: used by services to scope what a person may see and change."""

    user_id: int | None  # None for the system (scheduled jobs, the imports inbox)
    roles: frozenset[str]
    member_state_id: int | None
    label: str

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_focal_point_only(self) -> bool:
        """A focal point with no wider role sees only their own state's data."""
        return "focal_point" in self.roles and not self.has("admin", "rso_manager", "reviewer")


def viewer_for(session: Session, user: User) -> Viewer:
    return Viewer(
        user.id,
        frozenset(roles_of(session, user.id)),
        user.member_state_id,
        f"{user.full_name} <{user.email}>",
    )


def normalise_email(email: str) -> str:
    """An address as stored and looked up: trimmed, lower case (``fields.email_address``
    checks it is one address before it is stored)."""
    return email.strip().lower()


def roles_of(session: Session, user_id: int) -> list[str]:
    rows = session.exec(select(UserRole.role).where(UserRole.user_id == user_id)).all()
    return sorted(rows, key=ROLES.index)


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def _validate_profile(
    session: Session,
    email: str,
    full_name: str,
    roles: list[str],
    member_state_id: int | None,
    user_id: int | None = None,
) -> dict[str, str]:
    problems: dict[str, str] = {}
    # One address (email-validator): "a@b.example,c@evil.example" would send mail to both.
    # Checked when a user is created (an address is never changed afterwards, and a stored
    # one must not stop an admin from disabling its user).
    if user_id is not None or field_problem(EMAIL, email, "email", problems):
        other = find_user_by_email(session, email)
        if other is not None and other.id != user_id:
            problems["email"] = "another user already has this e-mail address"
    if not full_name.strip() or len(full_name.strip()) > FULL_NAME.max_length:
        problems["full_name"] = f"enter the person's name (up to {FULL_NAME.max_length} characters)"
    elif field_problem(FULL_NAME, full_name, "full_name", {}) is None:
        problems["full_name"] = "the name cannot contain line breaks or control characters"
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        problems["roles"] = "choose at least one role: " + ", ".join(ROLES)
    if "focal_point" in roles and member_state_id is None:
        problems["member_state_id"] = "a focal point reports for one member state: choose it"
    if member_state_id is not None and session.get(MemberState, member_state_id) is None:
        problems["member_state_id"] = "unknown member state"
    return problems


def create_user(
    session: Session,
    *,
    email: str,
    full_name: str,
    roles: list[str],
    member_state_id: int | None = None,
    password: str | None = None,
) -> User:
    """Create a user; without a password they can only get in through an invitation link."""
    email = normalise_email(email)
    problems = _validate_profile(session, email, full_name, roles, member_state_id)
    if password is not None and (problem := password_problem(password)):
        problems["password"] = problem
    if problems:
        raise InputError(problems)
    user = User(
        email=email,
        full_name=full_name.strip(),
        member_state_id=member_state_id if "focal_point" in roles else None,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    _set_roles(session, user, roles)
    return user


def update_user(
    session: Session,
    user_id: int,
    *,
    full_name: str,
    roles: list[str],
    member_state_id: int | None,
    is_active: bool,
    acting_user_id: int,
) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    problems = _validate_profile(session, user.email, full_name, roles, member_state_id, user.id)
    if user_id == acting_user_id and ("admin" not in roles or not is_active):
        problems["roles"] = "you cannot remove your own admin role or disable yourself"
    if problems:
        raise InputError(problems)
    if user.is_active and not is_active:
        _disable(session, user)
    user.full_name = full_name.strip()
    user.member_state_id = member_state_id if "focal_point" in roles else None
    user.is_active = is_active
    session.add(user)
    _set_roles(session, user, roles)
    session.flush()
    return user


def _disable(session: Session, user: User) -> None:
    """Disabling ends every session at once and revokes the links sent before it: re-enabling
    the account later must not bring an old invitation or reset link back to life."""
    end_all_sessions(session, user)
    _revoke_unused_links(session, user.id)


def _set_roles(session: Session, user: User, roles: list[str]) -> None:
    current = set(roles_of(session, user.id))
    for role in current - set(roles):
        session.delete(session.get(UserRole, (user.id, role)))
    for role in set(roles) - current:
        session.add(UserRole(user_id=user.id, role=role))
    session.flush()


def list_users(session: Session) -> list[tuple[User, list[str], MemberState | None]]:
    users = session.exec(select(User).order_by(User.full_name)).all()
    roles: dict[int, list[str]] = {}
    for user_id, role in session.exec(select(UserRole.user_id, UserRole.role)).all():
        roles.setdefault(user_id, []).append(role)
    states = {s.id: s for s in session.exec(select(MemberState)).all()}
    return [
        (u, sorted(roles.get(u.id, []), key=ROLES.index), states.get(u.member_state_id))
        for u in users
    ]


class LoginRefused(Exception):
    """Log-in refused; the message is safe to show (it never says which part was wrong)."""


def _throttle_keys(email: str, address: str) -> tuple[str, str]:
    return _account_key(email), f"address:{address}"


def _account_key(email: str) -> str:
    return f"account:{normalise_email(email)}"


def _recent_failures(session: Session, key: str) -> int:
    since = utcnow() - THROTTLE_WINDOW
    return session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.throttle_key == key, LoginFailure.failed_at > since)
    ).one()


def refuse_if_throttled(session: Session, email: str, address: str) -> None:
    """The one attempt limit for every check of a password: log-in and the change page.

    Raises ``LoginRefused`` once the account or the client address has failed too often in
    the window; a right password is then refused too, so guessing gains nothing.
    """
    account_key, address_key = _throttle_keys(email, address)
    if (
        _recent_failures(session, account_key) >= MAX_FAILURES_PER_ACCOUNT
        or _recent_failures(session, address_key) >= MAX_FAILURES_PER_ADDRESS
    ):
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        raise LoginRefused(
            f"Too many failed log-ins. Wait {minutes} minutes and try again, or ask an "
            "administrator to reset your password."
        )


def record_failure(session: Session, email: str, address: str) -> None:
    """Count a wrong password against the account and the address (the caller commits)."""
    for key in _throttle_keys(email, address):
        session.add(LoginFailure(throttle_key=key))
    session.flush()


def authenticate(session: Session, email: str, password: str, address: str) -> User:
    """Check a log-in. Raises ``LoginRefused``; failures are recorded for the throttle.

    The caller must commit even on refusal, so that the failure is counted.
    """
    refuse_if_throttled(session, email, address)
    user = find_user_by_email(session, email) if email else None
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        record_failure(session, email, address)
        raise LoginRefused("That e-mail address and password do not match an active account.")
    _clear_account_failures(session, email)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.add(user)
    session.flush()
    return user


def _clear_account_failures(session: Session, email: str) -> None:
    """Lift the account's lockout. The per-address counter is left alone: its rows are not tied
    to one account, and it is what still slows down guessing at every other account."""
    session.exec(delete(LoginFailure).where(col(LoginFailure.throttle_key) == _account_key(email)))


def end_all_sessions(session: Session, user: User) -> None:
    """Every cookie issued before this stops working (log-out, password change, disabling)."""
    user.session_version += 1
    session.add(user)
    session.flush()


def change_password(
    session: Session, user: User, current: str, new: str, repeat: str, address: str
) -> None:
    """Change a signed-in user's password. The current password is checked under the log-in
    throttle (a session left open must not become an unlimited guessing oracle): raises
    ``LoginRefused`` when throttled, ``InputError`` otherwise. The caller commits even on
    refusal, so that a wrong current password is counted."""
    refuse_if_throttled(session, user.email, address)
    problems: dict[str, str] = {}
    if not verify_password(user.password_hash, current):
        record_failure(session, user.email, address)
        problems["current_password"] = "this is not your current password"
    if problem := password_problem(new):
        problems["new_password"] = problem
    elif new != repeat:
        problems["repeat_password"] = "the two new passwords differ"
    if problems:
        raise InputError(problems)
    _set_password(session, user, new)


def _set_password(session: Session, user: User, new: str) -> None:
    """Every way of setting a password ends here: the change page, a link, the CLI."""
    user.password_hash = hash_password(new)
    _revoke_unused_links(session, user.id)
    # Each way proves the account is the person's (or an admin's word for it), as a log-in
    # does, and guesses at the old password say nothing about the new one.
    _clear_account_failures(session, user.email)
    end_all_sessions(session, user)


def _revoke_unused_links(session: Session, user_id: int) -> None:
    """Links sent before a password was set would otherwise still reopen the account to
    whoever holds one (an older reset link in a forwarded mail): they expire now. The rows
    stay, so who issued which link is still on record. A link still waiting in the outbox is
    never sent, and no longer kept there in clear."""
    now = utcnow()
    session.exec(
        update(AccountToken)
        .where(
            col(AccountToken.user_id) == user_id,
            col(AccountToken.used_at).is_(None),
            col(AccountToken.expires_at) > now,
        )
        .values(expires_at=now)
    )
    user = session.get(User, user_id)
    if user is not None:
        cancel_queued_links(session, user)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user_id: int, purpose: str, created_by_id: int | None) -> str:
    """Create an invitation or reset link token; returns the secret (shown once)."""
    if session.get(User, user_id) is None:
        raise NotFound("user")
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            token_hash=_hash_token(token),
            user_id=user_id,
            purpose=purpose,
            created_by_id=created_by_id,
            expires_at=utcnow() + TOKEN_LIFETIME[purpose],
        )
    )
    session.flush()
    return token


def token_user(session: Session, token: str) -> tuple[AccountToken, User]:
    row = session.exec(
        select(AccountToken).where(AccountToken.token_hash == _hash_token(token))
    ).first()
    if row is None:
        raise InputError("This link is not valid. Ask an administrator for a new one.")
    if row.used_at is not None:
        raise InputError("This link has already been used. Ask an administrator for a new one.")
    if row.expires_at <= utcnow():
        raise InputError(
            "This link is no longer valid: it has expired, or a password has been set for the "
            "account since it was sent. Ask an administrator for a new one."
        )
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise InputError("This account is disabled. Ask an administrator.")
    return row, user


def redeem_token(session: Session, token: str, new: str, repeat: str) -> User:
    """Set a password through an invitation or reset link; it and every other link of the
    user then stop working."""
    row, user = token_user(session, token)
    if problem := password_problem(new):
        raise InputError({"new_password": problem})
    if new != repeat:
        raise InputError({"repeat_password": "the two passwords differ"})
    row.used_at = utcnow()
    session.add(row)
    session.flush()  # marked used before the other links are revoked, so it reads "used"
    _set_password(session, user, new)
    return user


def set_password_directly(session: Session, email: str, password: str) -> User:
    """For the CLI: reset a password without a link (e.g. the only admin is locked out)."""
    user = find_user_by_email(session, email)
    if user is None:
        raise InputError({"email": f"no user has the e-mail address {email}"})
    if problem := password_problem(password):
        raise InputError({"password": problem})
    _set_password(session, user, password)
    return user
