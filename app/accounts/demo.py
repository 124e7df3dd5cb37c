"""One demo user per role, so a new user can try each view.

Passwords are random for each install, never fixed in the code, and kept in the instance folder
(readable by the owner only) so that the run command can print them.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlmodel import Session, select

from app.accounts import services
from app.plan.models import MemberState

DEMO_USERS = (
    ("admin", "admin@rso.example", "Ada Admin", ["admin"], None),
    ("manager", "manager@rso.example", "Malee RSO Manager", ["rso_manager"], None),
    (
        "focal_point",
        "focal.thailand@rso.example",
        "Somchai Focal Point (Thailand)",
        ["focal_point"],
        "THA",
    ),
    ("reviewer", "reviewer@rso.example", "Rina Co-Chair Reviewer", ["reviewer"], None),
)


def ensure_demo_users(session: Session, logins_file: Path) -> int:
    """Create the demo users that are missing; returns how many were created."""
    created = 0
    lines = logins_file.read_text(encoding="utf-8").splitlines() if logins_file.exists() else []
    for label, email, name, roles, state_code in DEMO_USERS:
        if services.find_user_by_email(session, email) is not None:
            continue
        state_id = None
        if state_code:
            state_id = session.exec(
                select(MemberState.id).where(MemberState.code == state_code)
            ).first()
        password = secrets.token_urlsafe(12)
        services.create_user(
            session,
            email=email,
            full_name=name,
            roles=roles,
            member_state_id=state_id,
            password=password,
        )
        lines = [line for line in lines if not line.startswith(f"{label}:")]
        lines.append(f"{label}: {email} / {password}")
        created += 1
    if created:
        order = [u[0] for u in DEMO_USERS]
        lines.sort(
            key=lambda line: order.index(line.split(":")[0]) if line.split(":")[0] in order else 99
        )
        logins_file.parent.mkdir(parents=True, exist_ok=True)
        logins_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        logins_file.chmod(0o600)
    return created
