"""Migrations are the only way the schema is made: one head, matching models, reversible."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from app import schema
from app.db import make_engine, metadata


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(schema.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(empty_database_url: str) -> None:
    url = empty_database_url
    engine = make_engine(url)
    schema.upgrade(engine, url)
    tables_at_head = set(inspect(engine).get_table_names())
    assert {"work_plan", "initiative", "indicator_value_revision"} <= tables_at_head

    schema.downgrade(engine, url, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert schema.current_revision(engine) is None

    schema.upgrade(engine, url)
    assert set(inspect(engine).get_table_names()) == tables_at_head
    assert schema.current_revision(engine) == schema.head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_creating_the_app_does_not_create_tables(empty_database_url: str) -> None:
    from app import create_app

    app = create_app({"DATABASE_URL": empty_database_url, "TESTING": True})
    assert inspect(app.extensions["db_engine"]).get_table_names() == []
    app.extensions["db_engine"].dispose()


def test_unknown_migration_gets_a_clear_message(database_url: str, runner) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed'")
    engine.dispose()

    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code != 0
    assert "f00dfeed" in result.output
    assert "does not know" in result.output
    assert "Traceback" not in result.output


def test_pages_refuse_an_unmigrated_database_with_a_plain_message(empty_database_url: str) -> None:
    from app import create_app

    app = create_app({"DATABASE_URL": empty_database_url, "TESTING": True})
    response = app.test_client().get("/")
    app.extensions["db_engine"].dispose()
    assert response.status_code == 503
    assert b"flask --app wsgi db upgrade" in response.data
