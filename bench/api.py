"""API throughput: item lists and ticks on the real server, beside two minimal Flask apps.

Fills a scratch SQLite file and a scratch PostgreSQL schema with the same generated rows
(bench/generate.py: 100k items by default, 1000 documents, 2000 units, their histories).
On each it starts the service and the two apps of bench/minimal_apps.py with the Procfile's
`web` command (gunicorn, gevent workers, the same worker count and connections for every
app) on 127.0.0.1, and drives them from a separate load process (bench/load.py) with 16
concurrent keep-alive clients. The scenarios take turns in rounds (a warm-up, then a third
of the measured time each, by default), so that a shared machine's drifting load weighs on
all of them alike:

- `list_staff`: `GET /api/v1/items?limit=50` with the staff token of the busiest unit;
- `list_supervisor`: the same with a supervisor's token (every unit's items);
- `tick`: `POST /api/v1/items/{id}/transitions` (report_progress with a note) with
  `If-Match`, each client a staff member of its own unit, on 32 of its unit's items in
  turn, each time with the ETag the item's previous answer carried;
- `json_only`: bench/minimal_apps.py's app that parses the JSON body and answers JSON;
- `update_insert`: its app that also updates a row by key and inserts one, in one
  transaction, on the same database.

Prints requests per second, p50 and p99 per backend, and the ratios tick / json_only on
SQLite (target ≥ 0.50) and tick / update_insert on PostgreSQL (target ≥ 0.70). The load
process's own CPU cost per request and the ceiling it implies are reported as well: on a
machine of two cores it shares them with the server.

    python -m bench.api [--items 100000] [--clients 16] [--duration 15] [--warmup 2]
                        [--rounds 3] [--workers 2] [--backends sqlite postgresql]
                        [--postgres URL]

Writes the figures to bench/results/api.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bench.generate import populate
from bench.harness import free_port, scratch_postgres, scratch_sqlite, serving, timed, write_json
from bench.minimal_apps import create_tables
from bench.stream import web_command
from service.config import normalise_database_url
from service.db import Database
from service.models import Item, Unit
from service.services.tokens import issue_token

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "api.json"
HOST = "127.0.0.1"
CONNECTIONS = 5000  # the Procfile's default WEB_CONNECTIONS
SERVICE = "service.app:create_app()"
APPS = {
    SERVICE: ("list_staff", "list_supervisor", "tick"),
    "bench.minimal_apps:json_app()": ("json_only",),
    "bench.minimal_apps:write_app()": ("update_insert",),
}
TICK = {"action": "report_progress", "note": "本周完成阶段性工作，进度符合预期"}
ITEMS_PER_CLIENT = 32
WORKING = ("acknowledged", "in_progress", "rejected")  # where report_progress is allowed
# (backend, numerator, denominator, target)
RATIOS = (("sqlite", "tick", "json_only", 0.50), ("postgresql", "tick", "update_insert", 0.70))


@dataclass(frozen=True)
class Settings:
    items: int = 100_000
    clients: int = 16
    duration_s: float = 15.0  # measured, per scenario, over all rounds
    warmup_s: float = 2.0  # per scenario and round
    workers: int = 2
    rounds: int = 3


@contextmanager
def gunicorn(target: str, database_url: str, workers: int) -> Iterator[int]:
    """The Procfile's web command serving `target` on a free port; its server log on failure."""
    port = free_port()
    command, env = web_command(port, CONNECTIONS)
    script = command[-1].replace(f"'{SERVICE}'", f"'{target}'")
    if target not in script:
        raise SystemExit(f"the Procfile's web command no longer serves '{SERVICE}'")
    env |= {
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": str(workers),
        "SECRET_KEY": "bench",
        "PYTHONPATH": str(ROOT),
    }
    with tempfile.TemporaryFile() as log:
        try:
            with serving([*command[:-1], script], env, f"http://{HOST}:{port}", log):
                yield port
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise


def load(scenarios: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Scenarios taking turns, driven from a process of their own (bench/load.py)."""
    plan = {"host": HOST, "scenarios": scenarios, "rounds": settings.rounds}
    plan |= {"warmup_s": settings.warmup_s, "duration_s": settings.duration_s}
    done = subprocess.run(
        [sys.executable, "-m", "bench.load"],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the load process failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def token(database: Database, role: str, unit: str | None = None) -> str:
    now = datetime.now(UTC)
    return issue_token(database, role=role, unit_name=unit, label="bench", expires_at=None, now=now)


def busiest_units(
    database: Database, count: int, statuses: Sequence[str] = ()
) -> list[tuple[int, str]]:
    """The (id, name) of the units with the most items (in `statuses`, if given)."""
    query = select(Unit.id, Unit.name).join(Item, col(Item.unit_id) == Unit.id)
    query = query.where(~col(Item.withdrawn))
    if statuses:
        query = query.where(col(Item.status).in_(statuses))
    query = query.group_by(col(Unit.id), col(Unit.name))
    with database.reading() as session:
        rows = session.exec(query.order_by(func.count().desc(), col(Unit.id)).limit(count))
        return [(int(unit_id), name) for unit_id, name in rows.all()]


def working_items(database: Database, unit_id: int) -> list[int]:
    query = select(Item.id).where(
        Item.unit_id == unit_id, col(Item.status).in_(WORKING), ~col(Item.withdrawn)
    )
    with database.reading() as session:
        return list(session.exec(query.order_by(col(Item.id)).limit(ITEMS_PER_CLIENT)).all())


def scenarios(database: Database, clients: int) -> dict[str, list[dict[str, Any]]]:
    """Every scenario's clients, with the tokens, items and counters they need."""
    staff = token(database, "staff", busiest_units(database, 1)[0][1])
    listing = {"kind": "request", "method": "GET", "paths": ["/api/v1/items?limit=50"]}
    ticking = busiest_units(database, clients, WORKING)
    create_tables(database, clients * ITEMS_PER_CLIENT)
    bump = [
        [f"/counters/{n * ITEMS_PER_CLIENT + k}" for k in range(1, ITEMS_PER_CLIENT + 1)]
        for n in range(clients)
    ]
    supervisor = {"Authorization": f"Bearer {token(database, 'supervisor')}"}
    return {
        "list_staff": [{**listing, "headers": {"Authorization": f"Bearer {staff}"}}] * clients,
        "list_supervisor": [{**listing, "headers": supervisor}] * clients,
        "tick": [
            {
                "kind": "tick",
                "token": token(database, "staff", name),
                "body": TICK,
                "items": working_items(database, unit_id),
            }
            for unit_id, name in ticking
        ],
        "json_only": [{"kind": "request", "method": "POST", "paths": ["/echo"], "body": TICK}]
        * clients,
        "update_insert": [
            {"kind": "request", "method": "POST", "paths": paths, "body": TICK} for paths in bump
        ],
    }


def measure(database: Database, settings: Settings) -> dict[str, Any]:
    """Every app under gunicorn at once on this database, their scenarios taking turns."""
    plans = scenarios(database, settings.clients)
    with ExitStack() as stack:
        ports = {
            app: stack.enter_context(gunicorn(app, database.url, settings.workers)) for app in APPS
        }
        figures = load(
            {
                name: {"port": ports[app], "clients": plans[name]}
                for app, names in APPS.items()
                for name in names
            },
            settings,
        )
    for name, run in figures.items():
        print(database.backend, name, json.dumps(run), flush=True)
    return figures


def ratios(backends: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for backend, numerator, denominator, target in RATIOS:
        if backend in backends:
            figures = backends[backend]
            ratio = figures[numerator]["rps"] / max(figures[denominator]["rps"], 0.1)
            name = f"{numerator} / {denominator} ({backend})"
            found.append({"name": name, "ratio": round(ratio, 2), "target": target})
    return found


def table(result: dict[str, Any]) -> str:
    """Scenarios down, backends across: req/s, p50 and p99 (ms); then the ratios."""
    backends = list(result["backends"])
    head = f"{'':16}" + "".join(f"{b:>28}" for b in backends)
    lines = [head, f"{'':16}" + f"{'req/s':>10}{'p50':>9}{'p99':>9}" * len(backends)]
    for name in next(iter(result["backends"].values())):
        row = f"{name:16}"
        for backend in backends:
            f = result["backends"][backend][name]
            row += f"{f['rps']:>10.1f}{f['p50']:>9.1f}{f['p99']:>9.1f}"
        lines.append(row)
    for ratio in result["ratios"]:
        lines.append(f"{ratio['name']}: {ratio['ratio']:.2f} (target ≥ {ratio['target']:.2f})")
    runs = [run for figures in result["backends"].values() for run in figures.values()]
    costs = [run["client_cpu_us_per_request"] for run in runs]
    lines.append(
        f"load process: {min(costs)}–{max(costs)} µs CPU per request, a ceiling of "
        f"{min(run['client_ceiling_rps'] or 0 for run in runs)} req/s or more on a core of its own"
    )
    return "\n".join(lines)


def run(settings: Settings, backends: Sequence[str], postgres_url: str) -> dict[str, Any]:
    """Fill, serve and drive on each backend; the figures (also written to RESULTS)."""
    result: dict[str, Any] = {
        "settings": asdict(settings),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
    }
    scratch = {"sqlite": scratch_sqlite, "postgresql": lambda: scratch_postgres(postgres_url)}
    with ExitStack() as stack:
        databases = {b: stack.enter_context(scratch[b]()) for b in backends}
        result["fill_s"], result["rows"] = timed(
            lambda: populate(list(databases.values()), items=settings.items)
        )
        print("filled", json.dumps(result["rows"]), f"in {result['fill_s']} s", flush=True)
        result["backends"] = {b: measure(db, settings) for b, db in databases.items()}
    result["ratios"] = ratios(result["backends"])
    result["load_average_after"] = os.getloadavg()
    print(table(result))
    write_json(RESULTS, result)
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=Settings.items)
    parser.add_argument("--clients", type=int, default=Settings.clients)
    parser.add_argument("--duration", type=float, default=Settings.duration_s)
    parser.add_argument("--warmup", type=float, default=Settings.warmup_s)
    parser.add_argument("--workers", type=int, default=Settings.workers)
    parser.add_argument("--rounds", type=int, default=Settings.rounds)
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    settings = Settings(
        args.items, args.clients, args.duration, args.warmup, args.workers, args.rounds
    )
    return run(settings, args.backends, normalise_database_url(args.postgres))


if __name__ == "__main__":
    main()
