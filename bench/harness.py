"""What every benchmark shares: scratch databases, bulk inserts, timing, the run over sizes,
percentiles, and a real server process to measure."""

from __future__ import annotations

import json
import operator
import os
import resource
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import schema
from service.db import Database
from service.services.events import record_event
from webhooks import events as ev

Size = TypeVar("Size")


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
    """The rows through their column types' bind processors, then straight to the driver.

    SQLAlchemy's executemany costs more per row than SQLite itself; PostgreSQL takes COPY,
    many times faster than INSERT. All rows of a batch have the keys of the first.
    """
    with database.engine.begin() as connection:
        dialect = connection.dialect
        names = list(rows[0])
        values = driver_values(dialect, table, names, rows)
        quote = dialect.identifier_preparer.quote
        into = f"{quote(table.name)} ({', '.join(quote(n) for n in names)})"
        if dialect.name == "postgresql":
            cursor = connection.connection.driver_connection.cursor()
            with cursor, cursor.copy(f"COPY {into} FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join("?" * len(names))
            connection.exec_driver_sql(f"INSERT INTO {into} VALUES ({marks})", values)


def driver_values(
    dialect: Any, table: Any, names: list[str], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Each row's values in the order of `names`, as the column types hand them to the driver."""
    processors = []
    for index, name in enumerate(names):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process))
    pick = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    values = []
    for row in rows:
        value = list(pick(row))
        for index, process in processors:
            value[index] = process(value[index])
        values.append(tuple(value))
    return values


def emit(
    database: Database, count: int, first: int = 0, title: str = "推进老旧小区改造"
) -> dict[str, float]:
    """Record `count` item events in one transaction; their ids and commit times (monotonic)."""
    now = datetime.now(UTC)
    with database.transaction() as session:
        ids = []
        for number in range(first, first + count):
            data = ev.item_data(item_id=number, title=f"{title}第{number}项")
            event = record_event(session, ev.ITEM_OVERDUE, f"items/{number}", data, now=now)
            ids.append(event.event_id)
    committed = time.monotonic()
    return dict.fromkeys(ids, committed)


def timed(what: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds `what` took (rounded to ms), and what it returned."""
    started = time.perf_counter()
    result = what()
    return round(time.perf_counter() - started, 3), result


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p99 and the maximum of durations in seconds, in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
        "max": round(max(samples) * 1000, 2),
    }


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {path}")


def run_sizes(
    sizes: Iterable[Size],
    postgres_url: str | None,
    measure: Callable[[Database, Size], dict[str, Any]],
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
    write_json(path, result)


def raise_open_files_limit() -> int:
    """Lift this process's soft limit on open files to the hard one; returns the new limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(
    command: Sequence[str], env: Mapping[str, str], base_url: str, log: IO[bytes]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server (open-files limit raised, output to `log`) until /healthz answers 200.

    Stops it with SIGTERM afterwards, as a process manager would, and kills it if it lingers.
    """
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=raise_open_files_limit,
    )
    try:
        wait_healthy(base_url, process)
    except SystemExit as error:
        stop(process)
        log.seek(0)  # only now: the server shares this file offset
        output = log.read()[-4000:].decode(errors="replace")
        raise SystemExit(f"{error}; its output ends:\n{output}") from None
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading the app
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer {base_url}/healthz within {timeout:.0f} s")


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (gunicorn: the master and its workers)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        found.append(current)
        pending.extend(int(child) for child in children)
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MB."""
    total_kb = 0
    for member in process_tree(pid):
        status = Path(f"/proc/{member}/status").read_text()
        total_kb += next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
    return round(total_kb / 1024, 1)


def tree_cpu_s(pid: int) -> float:
    """CPU time (user and system) a process and its descendants have used so far."""
    ticks = 0
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
