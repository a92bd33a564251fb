"""What every benchmark shares: scratch databases, bulk inserts, timing, the run over sizes."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import schema
from service.db import Database


@contextmanager
def scratch_sqlite() -> Iterator[Database]:
    """A migrated SQLite database, deleted afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/bench.db")
        schema.upgrade(database)
        try:
            yield database
        finally:
            database.dispose()


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[Database]:
    """A migrated schema of its own on a PostgreSQL server, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name}"})
    database = Database(url.render_as_string(hide_password=False))
    try:
        schema.upgrade(database)
        yield database
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def bulk_insert(
    database: Database, table: Any, rows: Iterable[dict[str, Any]], batch: int = 20_000
) -> None:
    """Executemany in batches, each batch its own transaction, never all rows in memory."""
    pending: list[dict[str, Any]] = []
    for row in rows:
        pending.append(row)
        if len(pending) == batch:
            _insert(database, table, pending)
            pending = []
    if pending:
        _insert(database, table, pending)


def _insert(database: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    with database.engine.begin() as connection:
        connection.execute(table.insert(), rows)


def timed(what: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds `what` took (rounded to ms), and what it returned."""
    started = time.perf_counter()
    result = what()
    return round(time.perf_counter() - started, 3), result


def run_sizes(
    sizes: Iterable[int],
    postgres_url: str | None,
    measure: Callable[[Database, int], dict[str, Any]],
    result: dict[str, Any],
    path: Path,
) -> None:
    """Measure each size on a scratch SQLite database (and PostgreSQL when given).

    Prints one JSON line per run and writes `result` with every run to `path`.
    """
    result["runs"] = []
    for size in sizes:
        backends = [("sqlite", scratch_sqlite)]
        if postgres_url:
            backends.append(("postgresql", lambda: scratch_postgres(postgres_url)))
        for backend, scratch in backends:
            with scratch() as database:
                figures = {"backend": backend, **measure(database, size)}
            print(json.dumps(figures, ensure_ascii=False))
            result["runs"].append(figures)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {path}")
