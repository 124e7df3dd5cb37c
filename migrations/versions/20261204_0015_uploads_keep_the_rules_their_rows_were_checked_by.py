"""uploads keep the rules their rows were checked by

A previewed upload keeps the fingerprint of the rules its rows were checked under (each
indicator's kind and the field types' limits: app.progress.services.rules_fingerprint). The load
checks every row again only when that fingerprint no longer holds. Previews made before this
have none and are checked in full, as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload") as batch:
        batch.add_column(sa.Column("rules_checked", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("upload") as batch:
        batch.drop_column("rules_checked")
