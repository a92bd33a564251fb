"""The `checklist` command line: serve, database, extraction and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from checklists.reading import DocumentError
from service.clock import SystemClock
from service.config import Config, ConfigError, config_from_env
from service.db import Database, DatabaseUnavailable
from service.errors import ServiceError
from service.logs import configure_logging

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
    # Commands print results on stdout; only warnings go to stderr (`serve` logs more).
    configure_logging("WARNING", "text")


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
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
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


@main.command("import")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--title", help="Document title (only with one PATH).")
@click.option("--default-deadline", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--replace", "replace_id", type=int, help="Revise this document id in place.")
def import_(
    paths: tuple[Path, ...], title: str | None, default_deadline: Any, replace_id: int | None
) -> None:
    """Store each document's measures, units and items (a revision updates them in place)."""
    from service.services.audit import CLI_ACTOR
    from service.services.documents import ImportRequest, import_document

    if len(paths) > 1 and (title or replace_id):
        raise click.UsageError("--title and --replace apply to a single PATH")
    config = load_config()
    database = open_database(config)
    require_schema(database)
    failures = 0
    for path in paths:
        request = ImportRequest(
            read_file(path),
            path.name,
            title=title,
            replace_id=replace_id,
            default_deadline=default_deadline.date() if default_deadline else None,
        )
        now = SystemClock().now()
        try:
            report = import_document(
                database,
                request,
                actor=CLI_ACTOR,
                now=now,
                today=config.local_date(now),
                max_bytes=config.max_upload_bytes,
            )
        except USER_ERRORS as error:
            failures += 1
            click.echo(f"{path}: {error}", err=True)
            continue
        click.echo(json.dumps({"file": str(path), **report.as_dict()}, ensure_ascii=False))
    if failures:
        raise SystemExit(1)


def require_schema(database: Database) -> None:
    from service import schema

    with database.reading() as session:
        if not schema.is_at_head(session.connection()):
            raise click.ClickException("database schema is not current: run `checklist db upgrade`")


@main.group()
def units() -> None:
    """The unit directory: list, load, aliases, merge."""


@units.command("list")
@click.option("--unconfirmed", is_flag=True, help="Only units created by imports.")
def units_list(unconfirmed: bool) -> None:
    from service.services.units import directory

    database = open_database(load_config())
    for row in directory(database, unconfirmed=True if unconfirmed else None):
        flags = ("" if row["confirmed"] else " [待确认]") + (" [群组]" if row["is_group"] else "")
        aliases = f"  别名: {'、'.join(row['aliases'])}" if row["aliases"] else ""
        click.echo(f"{row['id']}\t{row['name']}{flags}\t{row['open_items']} 项{aliases}")


@units.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def units_load(path: Path) -> None:
    """Load a directory file (.csv with name,aliases,group columns, or .yaml)."""
    from service.services.audit import CLI_ACTOR
    from service.services.units import parse_directory, register_units

    entries = parse_directory(read_file(path), path.name)
    database = open_database(load_config())
    created, aliases = register_units(database, entries, actor=CLI_ACTOR, now=SystemClock().now())
    click.echo(f"{len(entries)} units read, {created} created, {aliases} aliases added")


@units.command("alias")
@click.argument("unit")
@click.argument("alias")
def units_alias(unit: str, alias: str) -> None:
    """Record ALIAS as another name of UNIT (a name, alias or id)."""
    from service.services.audit import CLI_ACTOR
    from service.services.units import alias_unit

    database = open_database(load_config())
    row = alias_unit(database, unit_ref(unit), alias, actor=CLI_ACTOR, now=SystemClock().now())
    click.echo(f"{row['name']}: {'、'.join(row['aliases'])}")


@units.command("merge")
@click.argument("source")
@click.argument("into")
def units_merge(source: str, into: str) -> None:
    """Fold SOURCE into INTO: items and names move to INTO, history is kept."""
    from service.services.audit import CLI_ACTOR
    from service.services.units import merge

    database = open_database(load_config())
    row = merge(
        database, unit_ref(source), unit_ref(into), actor=CLI_ACTOR, now=SystemClock().now()
    )
    click.echo(f"merged into {row['name']}: {row['items_moved']} items moved")


def unit_ref(text: str) -> int | str:
    return int(text) if text.isdigit() else text


@main.group()
def token() -> None:
    """API tokens: create (printed once), list, revoke."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(["staff", "supervisor", "admin"]))
@click.option("--unit", "unit_name", help="The unit a staff token acts for.")
@click.option("--label", default="", help="Who holds the token.")
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (local date).")
def token_create(role: str, unit_name: str | None, label: str, expires: Any) -> None:
    """Print a new token, alone on stdout; only its hash is stored."""
    from service.services.tokens import issue_token

    config = load_config()
    database = open_database(config)
    expires_at = expires.replace(tzinfo=config.tz) if expires else None
    click.echo(
        issue_token(
            database,
            role=role,
            unit_name=unit_name,
            label=label,
            expires_at=expires_at,
            now=SystemClock().now(),
        )
    )


@token.command("list")
def token_list() -> None:
    from service.services.tokens import token_rows

    for row in token_rows(open_database(load_config())):
        state = "revoked" if row["revoked_at"] else "active"
        click.echo(f"{row['id']}\t{row['role']}\t{row['label']}\t{state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    from service.services.audit import CLI_ACTOR
    from service.services.tokens import revoke

    revoke(open_database(load_config()), token_id, actor=CLI_ACTOR, now=SystemClock().now())
    click.echo(f"token {token_id} revoked")
