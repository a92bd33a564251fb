"""The `checklist` command line: serve, database, extraction and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from checklists.reading import DocumentError
from service.config import Config, ConfigError, config_from_env
from service.db import Database, DatabaseUnavailable
from service.errors import ServiceError

# Errors a person can fix: shown as one line and exit status 1, never a traceback.
USER_ERRORS = (ConfigError, DatabaseUnavailable, DocumentError, ServiceError)


class Checklist(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=Checklist, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """督办清单服务: policy documents → unit checklists, reminders, events, reports."""


def load_config() -> Config:
    return config_from_env()


def open_database(config: Config) -> Database:
    """Open the configured database and make sure it answers (one-line error if not)."""
    database = Database(config.database_url)
    database.check()
    return database


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
def serve(host: str, port: int, threads: int) -> None:
    """Run everything in one process: upgrade the schema, then serve the web app."""
    from service.server import run_embedded

    config = load_config()
    run_embedded(config, open_database(config), host=host, port=port, threads=threads)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from service import schema

    database = open_database(load_config())
    schema.upgrade(database)
    with database.engine.connect() as connection:
        click.echo(f"database at revision {schema.current_revision(connection)}")


@db.command("current")
def db_current() -> None:
    """Print the schema revision and whether it is the newest."""
    from service import schema

    database = open_database(load_config())
    with database.engine.connect() as connection:
        revision = schema.current_revision(connection)
    state = "head" if revision == schema.head_revision() else f"behind {schema.head_revision()}"
    click.echo(f"{revision} ({state})")


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """(Development) autogenerate a migration from the models."""
    from alembic import command

    from service import schema

    database = open_database(load_config())
    command.revision(schema.alembic_config(database), message=message, autogenerate=True)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--title", help="Document title, when the text does not start with it.")
@click.option("--default-deadline", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
def extract(path: Path, title: str | None, default_deadline: Any) -> None:
    """Print the measures found in PATH as JSON; nothing is stored."""
    from checklists.extract import extract as extract_measures

    from checklists.reading import read_document

    text = read_document(read_file(path), path.name)
    deadline = default_deadline.date() if default_deadline else None
    result = extract_measures(text, title=title, default_deadline=deadline)
    click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror}") from None


