"""The migrations are the schema: one head, and nothing the models have that they lack."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import service.models  # noqa: F401
from service import schema
from service.db import Database


def test_migrations_have_one_head() -> None:
    assert len(ScriptDirectory(str(schema.MIGRATIONS)).get_heads()) == 1


def test_migrated_schema_matches_models(migrated_database: Database) -> None:
    with migrated_database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_is_idempotent(migrated_database: Database) -> None:
    schema.upgrade(migrated_database)
    with migrated_database.engine.connect() as connection:
        assert schema.is_at_head(connection)
