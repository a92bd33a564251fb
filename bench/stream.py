"""Event stream capacity: thousands of idle subscribers on the real server.

Starts the service as production runs it — the Procfile's `web` command (gunicorn's gevent
workers) or `checklist serve` (gevent's WSGI server, one process) — on 127.0.0.1 over a
fresh migrated database (SQLite file; PostgreSQL with `--postgres URL`) holding a
generated plan and a supervisor token. A child process opens idle event streams, growing
one crowd level by level (1000, 2000, 5000, 10000) until a level fails. At each level:

- an ordinary request's latency with every stream open: `GET /api/v1/items?limit=20`
  (authenticated) and `/healthz`, a few hundred each, one after another;
- fan-out: events committed one at a time at random moments, and how long from the
  commit until the first and the last stream has it (the broadcaster of each server
  process polls the feed every 0.5 s, so about 0.25 s of it is waiting for the poll);
- the CPU time the server and the subscriber process use meanwhile, per event, and the
  server's resident memory (all its processes together).

    python -m bench.stream [--subscribers 1000 2000 5000 10000] [--servers gunicorn serve]
                           [--requests 300] [--events 20] [--postgres URL]

Prints the figures and writes them to bench/results/stream.json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import requests
from sqlalchemy import text

from bench import subscribers
from bench.harness import (
    emit,
    free_port,
    percentiles,
    raise_open_files_limit,
    run_sizes,
    serving,
    tree_cpu_s,
    tree_rss_mb,
)
from bench.imports import Source, generated_plan, import_source
from bench.summary import ms
from service.config import Config
from service.db import Database
from service.services.tokens import issue_token

RESULTS = Path(__file__).resolve().parent / "results" / "stream.json"
PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"
MARKER = "广播基准"  # in the title of every event this benchmark commits
HOST = "127.0.0.1"
POLL_S = 0.5  # EventBroadcaster's default poll interval
EVENT_TIMEOUT_S = 10.0
ERROR = re.compile(r"Traceback|\b\w*(Error|Exception)\b")
OLDEST_TRANSACTION = text(
    "SELECT extract(epoch FROM max(now() - xact_start)) FROM pg_stat_activity"
    " WHERE pid <> pg_backend_pid()"
)


def web_command(port: int, connections: int) -> tuple[list[str], dict[str, str]]:
    """The Procfile's `web` line, bound to 127.0.0.1, and its environment."""
    line = next(p for p in PROCFILE.read_text().splitlines() if p.startswith("web:"))
    command = line.removeprefix("web:").strip().replace("0.0.0.0", HOST)
    env = {
        "PORT": str(port),
        "WEB_CONNECTIONS": str(connections),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return ["bash", "-c", f"exec {command}"], env


def serve_command(port: int, connections: int) -> tuple[list[str], dict[str, str]]:
    """`checklist serve`, as the entry point runs it."""
    command = [sys.executable, "-m", "service", "serve", "--host", HOST, "--port", str(port)]
    return [*command, "--connections", str(connections)], {}


SERVERS: dict[str, Callable[[int, int], tuple[list[str], dict[str, str]]]] = {
    "gunicorn": web_command,
    "serve": serve_command,
}


def prepare(database: Database) -> str:
    """A plan of 100 measures to list, and a supervisor token (who sees every event)."""
    import_source(database, Source("plan", generated_plan(100).encode(), "plan.txt"))
    now = datetime.now(UTC)
    return issue_token(
        database, role="supervisor", unit_name=None, label="bench", expires_at=None, now=now
    )


@dataclass(frozen=True)
class Rig:
    """What a run measures with: the database, the server, the crowd of streams and its pipe."""

    database: Database
    server: str
    base: str
    token: str
    server_pid: int
    idle_rss_mb: float  # before any stream opened
    crowd_pid: int
    streams: Connection


@contextmanager
def crowd(port: int, token: str) -> Iterator[tuple[Connection, int]]:
    """The subscriber process (bench/subscribers.py), its pipe and its process id."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=subscribers.run, args=(theirs, HOST, port, token, MARKER), daemon=True
    )
    process.start()
    try:
        yield ours, process.pid or 0
    finally:
        ours.send(("close",))
        if ours.poll(60):
            ours.recv()
        process.join(10)
        if process.is_alive():
            process.kill()


def ask(connection: Connection, *command: Any) -> dict[str, Any]:
    connection.send(command)
    return connection.recv()


def request_latency(base: str, path: str, token: str, count: int) -> dict[str, float]:
    """p50/p99/max of `count` requests made one after another on one keep-alive connection."""
    times = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        for _ in range(count):
            started = time.perf_counter()
            session.get(f"{base}{path}", timeout=30).raise_for_status()
            times.append(time.perf_counter() - started)
    return percentiles(times)


def fan_out(rig: Rig, first: int, events: int, rng: random.Random) -> dict[str, Any]:
    """Commit events numbered from `first` one at a time: commit → first and last stream.

    An event no stream has within EVENT_TIMEOUT_S counts as stalled, with the age of the
    oldest transaction then open on the server (PostgreSQL shows no event newer than it).
    The CPU time server and crowd use meanwhile, heartbeats included, is shared out per event.
    """
    to_first, to_last, missed, stalled = [], [], 0, []
    cpu_before = tree_cpu_s(rig.server_pid), tree_cpu_s(rig.crowd_pid)
    for number in range(first, first + events):
        time.sleep(rng.uniform(0, POLL_S))  # commits fall anywhere in the poll cycle
        committed = next(iter(emit(rig.database, 1, number, title=MARKER).values()))
        arrival = ask(rig.streams, "await", number, EVENT_TIMEOUT_S)
        if arrival["first"] is None:
            stalled.append(oldest_transaction_s(rig.database))
            continue
        missed += arrival["streaming"] - arrival["streams"]
        to_first.append(arrival["first"] - committed)
        to_last.append(arrival["last"] - committed)
    if len(to_last) < 2:
        raise SystemExit(
            f"events did not reach the streams within {EVENT_TIMEOUT_S:.0f} s; "
            f"oldest transaction open on the server: {max(stalled, default=0):.0f} s"
        )
    figures = {"first_ms": percentiles(to_first), "last_ms": percentiles(to_last)}
    figures |= {"missed": missed, "stalled": len(stalled)}
    server_cpu = tree_cpu_s(rig.server_pid) - cpu_before[0]
    crowd_cpu = tree_cpu_s(rig.crowd_pid) - cpu_before[1]
    figures["server_cpu_ms_per_event"] = round(server_cpu * 1000 / events, 1)
    figures["crowd_cpu_ms_per_event"] = round(crowd_cpu * 1000 / events, 1)
    if stalled:
        figures["oldest_transaction_s"] = max(stalled)
    return figures


def oldest_transaction_s(database: Database) -> float:
    """How long the oldest other transaction on a PostgreSQL server has been open (else 0)."""
    if database.backend != "postgresql":
        return 0.0
    with database.engine.connect() as connection:
        return round(float(connection.execute(OLDEST_TRANSACTION).scalar() or 0), 1)


def measure(
    database: Database, server: str, levels: list[int], requests_n: int, events: int
) -> dict[str, Any]:
    """Grow one crowd of streams on one server through `levels`; stop at a level that fails."""
    token = prepare(database)
    port = free_port()
    command, env = SERVERS[server](port, max(levels) + 100)
    env |= {"DATABASE_URL": database.url, "LOG_LEVEL": "WARNING", "LOG_FORMAT": "text"}
    base = f"http://{HOST}:{port}"
    with tempfile.TemporaryFile() as log:
        with serving(command, env, base, log) as process, crowd(port, token) as (streams, pid):
            idle_rss = tree_rss_mb(process.pid)
            rig = Rig(database, server, base, token, process.pid, idle_rss, pid, streams)
            done = measure_levels(rig, levels, requests_n, events)
        errors = error_lines(log)
    return {"server": server, "idle_rss_mb": idle_rss, "levels": done, "server_errors": errors}


def measure_levels(
    rig: Rig, levels: list[int], requests_n: int, events: int
) -> list[dict[str, Any]]:
    """Grow the crowd through `levels` on a running server; stop after a level that fails."""
    rng, done = random.Random(7), []
    for level in levels:
        figures = measure_level(rig, level, requests_n, events, len(done) * events, rng)
        if not figures["open_failed"]:
            added_kb = (figures["rss_mb"] - rig.idle_rss_mb) * 1024
            figures["kb_per_subscriber"] = round(added_kb / figures["subscribers"], 1)
        print(table_row(rig.database.backend, rig.server, figures), flush=True)
        done.append(figures)
        if figures["open_failed"]:
            break
    return done


def error_lines(log: IO[bytes], keep: int = 5) -> dict[str, Any]:
    """How many errors the server logged (read once it has stopped), and the last few."""
    log.seek(0)
    lines = log.read().decode(errors="replace").splitlines()
    found = [line for line in lines if ERROR.search(line)]
    return {"count": len(found), "last": found[-keep:]}


def measure_level(
    rig: Rig, level: int, requests_n: int, events: int, first_event: int, rng: random.Random
) -> dict[str, Any]:
    """Open streams up to `level`, then time requests and events with all of them open."""
    opened = ask(rig.streams, "open", level)
    figures: dict[str, Any] = {"subscribers": opened["opened"], "open_s": opened["seconds"]}
    figures |= {"open_failed": opened["failed"], "dropped": opened["dropped"]}
    if opened["failed"]:
        return figures | {"errors": opened["errors"]}
    items = "/api/v1/items?limit=20"
    figures["items_ms"] = request_latency(rig.base, items, rig.token, requests_n)
    figures["healthz_ms"] = request_latency(rig.base, "/healthz", rig.token, requests_n)
    figures["event"] = fan_out(rig, first_event, events, rng)
    figures["rss_mb"] = tree_rss_mb(rig.server_pid)
    return figures


HEADER = (
    f"{'database':<11}{'server':<9}{'streams':>8}{'open s':>8}{'items p50/p99':>16}"
    f"{'healthz p50/p99':>17}{'→first p50':>11}{'→last p50/max':>17}"
    f"{'CPU ms/event srv/crowd':>24}{'RSS MB':>8}{'KB/stream':>10}"
)


def table_row(backend: str, server: str, run: dict[str, Any]) -> str:
    where = f"{backend:<11}{server:<9}{run['subscribers']:>8}{run['open_s']:>8.1f}"
    if run["open_failed"]:
        return f"{where}  {run['open_failed']} did not open: {run['errors']}"
    event = run["event"]
    cpu = ms(event, "server_cpu_ms_per_event", "crowd_cpu_ms_per_event")
    return (
        f"{where}{ms(run['items_ms']):>16}{ms(run['healthz_ms']):>17}"
        f"{event['first_ms']['p50']:>11.0f}{ms(event['last_ms'], 'p50', 'max'):>17}"
        f"{cpu:>24}{run['rss_mb']:>8.0f}{run['kb_per_subscriber']:>10.1f}"
        + (f"  {run['dropped']} dropped by the server" if run["dropped"] else "")
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    parser.add_argument("--servers", nargs="+", choices=sorted(SERVERS), default=["gunicorn"])
    parser.add_argument("--requests", type=int, default=300, help="per request kind and level")
    parser.add_argument("--events", type=int, default=20, help="committed per level")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "open_files_limit": raise_open_files_limit(),
        "heartbeat_s": Config().sse_heartbeat_seconds,
        "poll_s": POLL_S,
        "requests": args.requests,
        "events": args.events,
    }
    print(HEADER)
    run_sizes(
        args.servers,
        args.postgres,
        lambda db, server: measure(db, server, args.subscribers, args.requests, args.events),
        result,
        RESULTS,
    )
    return result


if __name__ == "__main__":
    main()
