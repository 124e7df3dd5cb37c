"""clean stored numbers and text: no inf/nan, no control characters

Before the shared field types (app/fields.py), a target of 309 digits was stored as inf (and
every page showing it failed), and text pasted from Word kept its vertical tab (which no .xlsx
can hold). This makes what is stored obey today's rules: an infinite or NaN figure becomes NULL
(a period target, whose column is NOT NULL, is removed: no target for that period), and text
loses its control characters (CR LF and CR become LF, a vertical tab a newline, other control
characters are dropped), in the values and their revisions, the plan's titles and notes,
activities, review comments, names, and the frozen snapshots' JSON.

Text edited on one line (titles, names, places, links) gets a space for a line break instead.
The approved totals are derived data: `flask db upgrade` recomputes them when they no longer
agree with the values (as after a NULLed figure).

Downgrade changes nothing: the removed characters and infinities are not worth restoring.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, nullable float columns)
FLOATS = {
    "indicator": ("baseline_value", "target_value"),
    "indicator_value": ("value", "numerator", "denominator", "female", "male"),
    "indicator_value_revision": ("value", "numerator", "denominator", "female", "male"),
    "approved_period_total": ("value_sum", "numerator_sum", "denominator_sum"),
    "approved_latest_value": ("value", "numerator", "denominator"),
}
# (table, primary key columns, text columns)
TEXTS = {
    "work_plan": (("id",), ("title", "impact_statement")),
    "focus_area": (("id",), ("title",)),
    "strategic_goal": (("id",), ("title", "rationale", "desired_end_state")),
    "initiative": (("id",), ("title", "description", "lead", "rag_note")),
    "initiative_status_change": (("id",), ("note",)),
    "indicator": (("id",), ("title", "means_of_verification")),
    "indicator_value": (("id",), ("text_value", "narrative", "evidence_url")),
    "indicator_value_revision": (("id",), ("text_value", "narrative", "evidence_url", "reason")),
    "activity": (("id",), ("title", "place", "summary", "links")),
    "submission": (("id",), ("review_comment",)),
    "submission_event": (("id",), ("comment",)),
    "member_state": (("id",), ("name",)),
    "user_account": (("id",), ("full_name",)),
}
# As app/fields.py states the rule (copied: a migration must not change when the app does).
_REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


# Columns a form edits on one line: a line break there becomes a space (a text box would drop
# it, and the form would refuse it).
SINGLE_LINE = {
    ("work_plan", "title"),
    ("focus_area", "title"),
    ("strategic_goal", "title"),
    ("initiative", "title"),
    ("indicator", "title"),
    ("activity", "title"),
    ("activity", "place"),
    ("member_state", "name"),
    ("user_account", "full_name"),
    ("indicator_value", "evidence_url"),
    ("indicator_value_revision", "evidence_url"),
}
_BREAKS = re.compile("\r\n|[\r\n\t\x0b]")


def clean(text: str, *, single_line: bool = False) -> str:
    if single_line:
        return " ".join(_REFUSED.sub("", _BREAKS.sub(" ", text)).split())
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    return _REFUSED.sub("", text)


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_clean_json(item) for item in value]
    if isinstance(value, dict):
        return {clean(k): _clean_json(v) for k, v in value.items()}
    return value


def _not_finite(column: sa.ColumnClause, dialect: str) -> sa.ColumnElement:
    # inf is beyond the largest double; PostgreSQL also stores NaN (SQLite stores it as NULL).
    found = sa.or_(column > 1.7e308, column < -1.7e308)
    if dialect == "postgresql":
        found = sa.or_(found, column == sa.literal(float("nan"), sa.Float))
    return found


def _numbers(connection: sa.Connection, dialect: str) -> None:
    for table_name, names in FLOATS.items():
        table = sa.table(table_name, *(sa.column(n, sa.Float) for n in names))
        for name in names:
            column = table.c[name]
            connection.execute(
                table.update().where(_not_finite(column, dialect)).values({name: None})
            )
    targets = sa.table("indicator_period_target", sa.column("target_value", sa.Float))
    connection.execute(targets.delete().where(_not_finite(targets.c.target_value, dialect)))


def _texts(connection: sa.Connection) -> None:
    for table_name, (keys, names) in TEXTS.items():
        table = sa.table(
            table_name,
            *(sa.column(k, sa.Integer) for k in keys),
            *(sa.column(n, sa.Text) for n in names),
        )
        for name in names:
            column = table.c[name]
            rows = connection.execute(
                sa.select(*(table.c[k] for k in keys), column).where(
                    column.is_not(None), column != ""
                )
            )
            one_line = (table_name, name) in SINGLE_LINE
            changes = [
                (row[:-1], cleaned)
                for row in rows
                if (cleaned := clean(row[-1], single_line=one_line)) != row[-1]
            ]
            for key, cleaned in changes:
                connection.execute(
                    table.update()
                    .where(*(table.c[k] == v for k, v in zip(keys, key, strict=True)))
                    .values({name: cleaned})
                )


def _snapshots(connection: sa.Connection) -> None:
    table = sa.table("summary_snapshot", sa.column("id", sa.Integer), sa.column("payload", sa.JSON))
    for snapshot_id, payload in connection.execute(sa.select(table.c.id, table.c.payload)):
        cleaned = _clean_json(payload)
        if cleaned != payload:
            connection.execute(
                table.update().where(table.c.id == snapshot_id).values(payload=cleaned)
            )


def upgrade() -> None:
    connection = op.get_bind()
    _numbers(connection, connection.dialect.name)
    _texts(connection)
    _snapshots(connection)


def downgrade() -> None:
    """Nothing to undo: the cleaned data obeys the earlier schema as well."""
