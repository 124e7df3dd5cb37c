"""initial results framework

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("iso3", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("andaman_sea", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('state','organisation','observer_state','observer_organisation')",
            name=op.f("ck_member_state_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_state")),
        sa.UniqueConstraint("code", name=op.f("uq_member_state_code")),
        sa.UniqueConstraint("name", name=op.f("uq_member_state_name")),
    )
    op.create_table(
        "reporting_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('open','closed')", name=op.f("ck_reporting_period_status")),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_reporting_period_date_order")),
        sa.CheckConstraint(
            "quarter BETWEEN 1 AND 4", name=op.f("ck_reporting_period_quarter_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_period")),
        sa.UniqueConstraint("code", name=op.f("uq_reporting_period_code")),
        sa.UniqueConstraint("year", "quarter", name=op.f("uq_reporting_period_year_quarter")),
    )
    op.create_table(
        "work_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("impact_statement", sa.Text(), nullable=False),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_work_plan_period_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_plan")),
        sa.UniqueConstraint("code", name=op.f("uq_work_plan_code")),
    )
    op.create_table(
        "focus_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_plan_id"], ["work_plan.id"], name=op.f("fk_focus_area_work_plan_id_work_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_focus_area")),
        sa.UniqueConstraint(
            "work_plan_id", "number", name=op.f("uq_focus_area_work_plan_id_number")
        ),
    )
    with op.batch_alter_table("focus_area", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_focus_area_work_plan_id"), ["work_plan_id"], unique=False
        )

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("member_state_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_login_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_state_id"],
            ["member_state.id"],
            name=op.f("fk_user_account_member_state_id_member_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_account_member_state_id"), ["member_state_id"], unique=False
        )

    op.create_table(
        "strategic_goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("focus_area_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column(
            "desired_end_state", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["focus_area_id"],
            ["focus_area.id"],
            name=op.f("fk_strategic_goal_focus_area_id_focus_area"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategic_goal")),
        sa.UniqueConstraint(
            "focus_area_id", "number", name=op.f("uq_strategic_goal_focus_area_id_number")
        ),
    )
    with op.batch_alter_table("strategic_goal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_strategic_goal_focus_area_id"), ["focus_area_id"], unique=False
        )

    op.create_table(
        "user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin','rso_manager','focal_point','reviewer')",
            name=op.f("ck_user_role_role"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_role_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_role")),
    )
    op.create_table(
        "initiative",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("strategic_goal_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lead", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("rag", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("rag_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("status_updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "rag IS NULL OR rag IN ('on_track','at_risk','off_track')",
            name=op.f("ck_initiative_rag"),
        ),
        sa.CheckConstraint(
            "status IN ('planned','in_progress','completed','cancelled')",
            name=op.f("ck_initiative_status"),
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_initiative_date_order")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user_account.id"], name=op.f("fk_initiative_owner_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["strategic_goal_id"],
            ["strategic_goal.id"],
            name=op.f("fk_initiative_strategic_goal_id_strategic_goal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiative")),
        sa.UniqueConstraint(
            "strategic_goal_id", "code", name=op.f("uq_initiative_strategic_goal_id_code")
        ),
    )
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_initiative_strategic_goal_id"), ["strategic_goal_id"], unique=False
        )

    op.create_table(
        "strategic_goal_member_state",
        sa.Column("strategic_goal_id", sa.Integer(), nullable=False),
        sa.Column("member_state_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_state_id"],
            ["member_state.id"],
            name=op.f("fk_strategic_goal_member_state_member_state_id_member_state"),
        ),
        sa.ForeignKeyConstraint(
            ["strategic_goal_id"],
            ["strategic_goal.id"],
            name=op.f("fk_strategic_goal_member_state_strategic_goal_id_strategic_goal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "strategic_goal_id", "member_state_id", name=op.f("pk_strategic_goal_member_state")
        ),
    )
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("links", sa.Text(), nullable=False),
        sa.Column("participant_total", sa.Integer(), nullable=True),
        sa.Column("other_participants", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('training_course','regional_meeting','workshop','research_product','briefing')",
            name=op.f("ck_activity_kind"),
        ),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_activity_date_order")),
        sa.CheckConstraint(
            "other_participants >= 0", name=op.f("ck_activity_other_participants_positive")
        ),
        sa.CheckConstraint(
            "participant_total IS NULL OR participant_total >= 0",
            name=op.f("ck_activity_total_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["initiative_id"], ["initiative.id"], name=op.f("fk_activity_initiative_id_initiative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_initiative_id"), ["initiative_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_activity_start_date"), ["start_date"], unique=False)

    op.create_table(
        "indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_plan_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=True),
        sa.Column("strategic_goal_id", sa.Integer(), nullable=True),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("aggregation", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("baseline_date", sa.Date(), nullable=True),
        sa.Column("target_value", sa.Float(), nullable=True),
        sa.Column("frequency", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("by_member_state", sa.Boolean(), nullable=False),
        sa.Column("by_sex", sa.Boolean(), nullable=False),
        sa.Column("computed_from", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
        sa.Column("activity_kinds", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "means_of_verification", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False
        ),
        sa.Column("is_proposed", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "aggregation IN ('per_period','cumulative')", name=op.f("ck_indicator_aggregation")
        ),
        sa.CheckConstraint(
            "computed_from IS NULL OR computed_from IN ('activities','participants','member_states_participating')",
            name=op.f("ck_indicator_computed_from"),
        ),
        sa.CheckConstraint(
            "direction IN ('increase','decrease','maintain')", name=op.f("ck_indicator_direction")
        ),
        sa.CheckConstraint(
            "frequency IN ('quarterly','annual')", name=op.f("ck_indicator_frequency")
        ),
        sa.CheckConstraint("level IN ('output','outcome')", name=op.f("ck_indicator_level")),
        sa.CheckConstraint(
            "unit IN ('number','percentage','yes_no','text')", name=op.f("ck_indicator_unit")
        ),
        sa.CheckConstraint(
            "(initiative_id IS NULL) <> (strategic_goal_id IS NULL)",
            name=op.f("ck_indicator_one_parent"),
        ),
        sa.ForeignKeyConstraint(
            ["initiative_id"], ["initiative.id"], name=op.f("fk_indicator_initiative_id_initiative")
        ),
        sa.ForeignKeyConstraint(
            ["strategic_goal_id"],
            ["strategic_goal.id"],
            name=op.f("fk_indicator_strategic_goal_id_strategic_goal"),
        ),
        sa.ForeignKeyConstraint(
            ["work_plan_id"], ["work_plan.id"], name=op.f("fk_indicator_work_plan_id_work_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator")),
        sa.UniqueConstraint("work_plan_id", "code", name=op.f("uq_indicator_work_plan_id_code")),
    )
    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_initiative_id"), ["initiative_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_indicator_strategic_goal_id"), ["strategic_goal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_indicator_work_plan_id"), ["work_plan_id"], unique=False
        )

    op.create_table(
        "initiative_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("rag", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("previous_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("previous_rag", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["user_account.id"],
            name=op.f("fk_initiative_status_change_changed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiative.id"],
            name=op.f("fk_initiative_status_change_initiative_id_initiative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiative_status_change")),
    )
    with op.batch_alter_table("initiative_status_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_initiative_status_change_initiative_id"), ["initiative_id"], unique=False
        )

    op.create_table(
        "activity_participation",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("member_state_id", sa.Integer(), nullable=False),
        sa.Column("female", sa.Integer(), nullable=True),
        sa.Column("male", sa.Integer(), nullable=True),
        sa.Column("unspecified", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(female IS NULL OR female >= 0) AND (male IS NULL OR male >= 0) AND (unspecified IS NULL OR unspecified >= 0)",
            name=op.f("ck_activity_participation_counts_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_participation_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_state_id"],
            ["member_state.id"],
            name=op.f("fk_activity_participation_member_state_id_member_state"),
        ),
        sa.PrimaryKeyConstraint(
            "activity_id", "member_state_id", name=op.f("pk_activity_participation")
        ),
    )
    with op.batch_alter_table("activity_participation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_participation_member_state_id"),
            ["member_state_id"],
            unique=False,
        )

    op.create_table(
        "indicator_period_target",
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("reporting_period_id", sa.Integer(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_indicator_period_target_indicator_id_indicator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reporting_period_id"],
            ["reporting_period.id"],
            name=op.f("fk_indicator_period_target_reporting_period_id_reporting_period"),
        ),
        sa.PrimaryKeyConstraint(
            "indicator_id", "reporting_period_id", name=op.f("pk_indicator_period_target")
        ),
    )
    op.create_table(
        "indicator_reporting_state",
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("member_state_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_indicator_reporting_state_indicator_id_indicator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_state_id"],
            ["member_state.id"],
            name=op.f("fk_indicator_reporting_state_member_state_id_member_state"),
        ),
        sa.PrimaryKeyConstraint(
            "indicator_id", "member_state_id", name=op.f("pk_indicator_reporting_state")
        ),
    )
    with op.batch_alter_table("indicator_reporting_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_reporting_state_member_state_id"),
            ["member_state_id"],
            unique=False,
        )

    op.create_table(
        "indicator_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("reporting_period_id", sa.Integer(), nullable=False),
        sa.Column("member_state_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("text_value", sa.Text(), nullable=True),
        sa.Column("female", sa.Float(), nullable=True),
        sa.Column("male", sa.Float(), nullable=True),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("evidence_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "source IN ('web','upload','seed','import_inbox')",
            name=op.f("ck_indicator_value_source"),
        ),
        sa.CheckConstraint(
            "(female IS NULL OR female >= 0) AND (male IS NULL OR male >= 0)",
            name=op.f("ck_indicator_value_sex_counts_positive"),
        ),
        sa.CheckConstraint(
            "denominator IS NULL OR denominator > 0",
            name=op.f("ck_indicator_value_denominator_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicator.id"],
            name=op.f("fk_indicator_value_indicator_id_indicator"),
        ),
        sa.ForeignKeyConstraint(
            ["member_state_id"],
            ["member_state.id"],
            name=op.f("fk_indicator_value_member_state_id_member_state"),
        ),
        sa.ForeignKeyConstraint(
            ["reporting_period_id"],
            ["reporting_period.id"],
            name=op.f("fk_indicator_value_reporting_period_id_reporting_period"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_indicator_value_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_value")),
        sa.UniqueConstraint(
            "indicator_id",
            "reporting_period_id",
            "member_state_id",
            name=op.f("uq_indicator_value_indicator_id_reporting_period_id_member_state_id"),
        ),
    )
    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_value_indicator_id"), ["indicator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_indicator_value_member_state_id"), ["member_state_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_indicator_value_reporting_period_id"),
            ["reporting_period_id"],
            unique=False,
        )

    op.create_table(
        "indicator_value_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_value_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("text_value", sa.Text(), nullable=True),
        sa.Column("female", sa.Float(), nullable=True),
        sa.Column("male", sa.Float(), nullable=True),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("evidence_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["user_account.id"],
            name=op.f("fk_indicator_value_revision_changed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["indicator_value_id"],
            ["indicator_value.id"],
            name=op.f("fk_indicator_value_revision_indicator_value_id_indicator_value"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_value_revision")),
        sa.UniqueConstraint(
            "indicator_value_id",
            "version",
            name=op.f("uq_indicator_value_revision_indicator_value_id_version"),
        ),
    )
    with op.batch_alter_table("indicator_value_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_value_revision_indicator_value_id"),
            ["indicator_value_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("indicator_value_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_value_revision_indicator_value_id"))

    op.drop_table("indicator_value_revision")
    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_value_reporting_period_id"))
        batch_op.drop_index(batch_op.f("ix_indicator_value_member_state_id"))
        batch_op.drop_index(batch_op.f("ix_indicator_value_indicator_id"))

    op.drop_table("indicator_value")
    with op.batch_alter_table("indicator_reporting_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_reporting_state_member_state_id"))

    op.drop_table("indicator_reporting_state")
    op.drop_table("indicator_period_target")
    with op.batch_alter_table("activity_participation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_participation_member_state_id"))

    op.drop_table("activity_participation")
    with op.batch_alter_table("initiative_status_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_status_change_initiative_id"))

    op.drop_table("initiative_status_change")
    with op.batch_alter_table("indicator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicator_work_plan_id"))
        batch_op.drop_index(batch_op.f("ix_indicator_strategic_goal_id"))
        batch_op.drop_index(batch_op.f("ix_indicator_initiative_id"))

    op.drop_table("indicator")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_start_date"))
        batch_op.drop_index(batch_op.f("ix_activity_initiative_id"))

    op.drop_table("activity")
    op.drop_table("strategic_goal_member_state")
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_strategic_goal_id"))

    op.drop_table("initiative")
    op.drop_table("user_role")
    with op.batch_alter_table("strategic_goal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_strategic_goal_focus_area_id"))

    op.drop_table("strategic_goal")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_member_state_id"))

    op.drop_table("user_account")
    with op.batch_alter_table("focus_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_focus_area_work_plan_id"))

    op.drop_table("focus_area")
    op.drop_table("work_plan")
    op.drop_table("reporting_period")
    op.drop_table("member_state")
