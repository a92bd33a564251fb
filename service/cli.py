"""The `checklist` command line: serve, database, extraction and import."""

from __future__ import annotations

import json
import signal
import threading
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
@click.option(
    "--connections",
    default=10_000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Most open connections (event streams included) at once.",
)
def serve(host: str, port: int, connections: int) -> None:
    """Run everything in one process: the web app, the delivery worker and the clock."""
    from service.server import run_embedded

    config = load_config()
    run_embedded(config, open_database(config), host=host, port=port, connections=connections)


@main.command()
@click.option(
    "--wait",
    is_flag=True,
    help="Stand by while another clock holds the lease, and take over when it stops.",
)
def clock(wait: bool) -> None:
    """Run the scheduler (reminder sweeps); only one clock may run per database."""
    from service.clock import SystemClock
    from service.scheduler import ClockBusy, ClockProcess

    config = load_config()
    configure_logging(config.log_level, config.log_format)
    database = open_database(config)
    require_schema_at_head(database)
    process = ClockProcess(config, database, SystemClock(), standby=wait)
    try:
        process.start()
    except ClockBusy as busy:
        raise click.ClickException(str(busy)) from None
    wait_for_signal()
    process.stop()
    database.dispose()


def require_schema_at_head(database: Database) -> None:
    """Background processes never migrate: the release step (`checklist db upgrade`) does."""
    from service import schema

    with database.engine.connect() as connection:
        if not schema.is_at_head(connection):
            raise click.ClickException(
                f"database schema is at {schema.current_revision(connection)}, "
                f"not {schema.head_revision()}: run `checklist db upgrade` first"
            )


def wait_for_signal() -> None:
    """Block until SIGTERM or Ctrl-C."""
    import signal
    import threading

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()


# After SIGTERM the worker finishes the request in flight if it can; past this it is
# abandoned, and its message is sent again once the endpoint's lease expires.
WORKER_STOP_GRACE_S = 5.0


@main.command()
def worker() -> None:
    """Deliver webhooks until SIGTERM or Ctrl-C; run as many workers as you like."""
    from service.worker import DeliveryWorker

    config = load_config()
    configure_logging(config.log_level, config.log_format)
    database = open_database(config)
    require_schema(database)
    stop = threading.Event()
    delivery = DeliveryWorker(config, database, SystemClock())
    thread = threading.Thread(target=delivery.run, args=(stop,), name="delivery", daemon=True)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    thread.start()
    # The main thread only waits, so a signal is handled at once, never inside a lock.
    while thread.is_alive() and not stop.is_set():
        thread.join(0.2)
    thread.join(WORKER_STOP_GRACE_S)
    if not thread.is_alive():
        database.dispose()


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


@main.command()
@click.option(
    "--as-of",
    "as_of",
    metavar="YYYY-MM-DD[THH:MM]",
    help="Sweep as at this local moment (a date alone: that day at REMINDER_TIME). Default: now.",
)
@click.option(
    "--reschedule",
    is_flag=True,
    help="First recompute every open item's next reminder (items older than reminders).",
)
def remind(as_of: str | None, reschedule: bool) -> None:
    """Send the reminders due now (or as of a moment) once, and list them."""
    from service.services.reminders import parse_moment, reschedule_items, sweep, sweep_moment
    from webhooks.events import label

    config = load_config()
    if as_of is None:
        now = SystemClock().now()
    else:
        try:
            moment = parse_moment(as_of)
        except ValueError:
            wanted = "YYYY-MM-DD or YYYY-MM-DDTHH:MM"
            raise click.ClickException(f"--as-of must be {wanted}: {as_of!r}") from None
        now = sweep_moment(config, moment)
    database = open_database(config)
    require_schema(database)
    if reschedule:
        click.echo(f"{reschedule_items(database, config, now)} open items rescheduled")
    report = sweep(database, config, now)
    if report.sent:
        click.echo("事项\t单位\t提醒\t步骤\t应发时间\t事件")
    for sent in report.sent:
        due = sent.due_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
        kind = label(f"item.{sent.kind}")
        click.echo(f"{sent.item_id}\t{sent.unit_name}\t{kind}\t{sent.step}\t{due}\t{sent.event_id}")
    click.echo(str(report))


class ReportCommands(click.Group):
    """`report` commands; a day the holiday calendar does not cover is a one-line error."""

    def invoke(self, ctx: click.Context) -> Any:
        from checklists.workdays import CalendarNotCovered

        try:
            return super().invoke(ctx)
        except CalendarNotCovered as error:
            raise click.ClickException(str(error)) from None


@main.group(cls=ReportCommands)
def report() -> None:
    """Supervisor reports (督办台账): overdue items, summary, unit scorecards."""


def report_options(command: Any) -> Any:
    """The options every report takes: the date, the scope, the format and the file."""
    options = [
        click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD; today."),
        click.option("--unit", "unit_ref", help="Only this unit (id, name or alias)."),
        click.option("--document", type=click.IntRange(1), help="Only this document id."),
        click.option(
            "--format",
            "file_format",
            default="table",
            show_default=True,
            type=click.Choice(["table", "json", "csv", "xlsx"]),
        ),
        click.option(
            "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here."
        ),
        click.option("--due-soon-days", default=5, show_default=True, type=click.IntRange(1, 60)),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def report_request(
    database: Database, config: Config, as_of: Any, unit_ref: str | None, **scope: Any
) -> Any:
    from service.services.reports import ReportRequest, check_as_of, unit_id_of

    if as_of is not None:
        check_as_of(as_of.date())
    day = as_of.date() if as_of else config.local_date(SystemClock().now())
    unit = unit_id_of(database, unit_ref_of(unit_ref)) if unit_ref else None
    return ReportRequest(as_of=day, tz=config.tz, unit=unit, **scope)


def unit_ref_of(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def write_report(
    file_format: str,
    output: Path | None,
    *,
    data: Any,
    lines: Any,
    csv_chunks: Any,
    xlsx: Any,
) -> None:
    """Print or save a report in the chosen format; XLSX needs a file."""
    if file_format == "xlsx":
        if output is None:
            raise click.UsageError("--format xlsx needs -o FILE")
        with output.open("wb") as target:
            xlsx(target)
    elif file_format == "json":
        emit(json.dumps(data(), ensure_ascii=False, indent=1, default=str) + "\n", output)
    else:
        chunks = csv_chunks() if file_format == "csv" else (line + "\n" for line in lines())
        emit(chunks, output)


def emit(text: Any, output: Path | None) -> None:
    chunks = [text] if isinstance(text, str) else text
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as target:
            target.writelines(chunks)
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}") from None


group_by_option = click.option(
    "--group-by", default="unit", show_default=True, type=click.Choice(["unit", "document"])
)


@report.command("overdue")
@report_options
@group_by_option
def report_overdue(
    as_of: Any,
    unit_ref: str | None,
    document: int | None,
    file_format: str,
    output: Path | None,
    due_soon_days: int,
    group_by: str,
) -> None:
    """Every overdue item: document, measure, unit, role, deadline, days overdue, progress."""
    from checklists.report_files import OVERDUE_COLUMNS, text_lines
    from checklists.reports import Grouping
    from service.services import reports as service

    config = load_config()
    database = open_database(config)
    request = report_request(
        database,
        config,
        as_of,
        unit_ref,
        document=document,
        grouping=Grouping(group_by),
        due_soon_workdays=due_soon_days,
    )

    def lines() -> Any:
        groups = service.overdue_report(database, request)["groups"]
        return text_lines(OVERDUE_COLUMNS, [row for group in groups for row in group["items"]])

    write_report(
        file_format,
        output,
        data=lambda: service.overdue_report(database, request),
        lines=lines,
        csv_chunks=lambda: service.overdue_csv(database, request),
        xlsx=lambda target: service.overdue_xlsx(database, request, target),
    )


@report.command("summary")
@report_options
@group_by_option
def report_summary(
    as_of: Any,
    unit_ref: str | None,
    document: int | None,
    file_format: str,
    output: Path | None,
    due_soon_days: int,
    group_by: str,
) -> None:
    """Counts by colour (红黄绿) and on-time rates, per unit or per document, with totals."""
    from checklists.report_files import summary_columns, summary_rows, text_lines
    from checklists.reports import Grouping
    from service.services import reports as service

    config = load_config()
    database = open_database(config)
    request = report_request(
        database,
        config,
        as_of,
        unit_ref,
        document=document,
        grouping=Grouping(group_by),
        due_soon_workdays=due_soon_days,
    )
    write_report(
        file_format,
        output,
        data=lambda: service.summary_report(database, request),
        lines=lambda: text_lines(
            summary_columns(group_by),
            summary_rows(service.summary_report(database, request), group_by),
        ),
        csv_chunks=lambda: service.summary_csv(database, request),
        xlsx=lambda target: service.summary_xlsx(database, request, target),
    )


@report.command("scorecard")
@click.option("--period", required=True, help="2026, 2026-Q3 or 2026-11.")
@report_options
def report_scorecard(
    period: str,
    as_of: Any,
    unit_ref: str | None,
    document: int | None,
    file_format: str,
    output: Path | None,
    due_soon_days: int,
) -> None:
    """Per unit, lead and co-unit items apart: due, on time, late, overdue, extensions."""
    from checklists.report_files import scorecard_columns, scorecard_rows, text_lines
    from service.services import reports as service

    config = load_config()
    database = open_database(config)
    request = report_request(
        database, config, as_of, unit_ref, document=document, due_soon_workdays=due_soon_days
    )
    card = service.scorecard_report(database, request, period)
    write_report(
        file_format,
        output,
        data=lambda: card,
        lines=lambda: text_lines(scorecard_columns(), scorecard_rows(card)),
        csv_chunks=lambda: service.scorecard_csv(card),
        xlsx=lambda target: service.scorecard_xlsx(card, target),
    )
