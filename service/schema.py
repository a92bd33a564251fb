"""Alembic migrations, driven from code so that `checklist` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from service.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database: Database, connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at our migrations and at this database (or connection)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(database: Database, connection: Connection | None = None) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(database, connection), "head")


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def is_at_head(connection: Connection) -> bool:
    return current_revision(connection) == head_revision()
