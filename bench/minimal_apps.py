"""The yardsticks of bench/api.py: the least a Flask app can do per request, on the same server.

- `json_app`: parses a JSON body and answers JSON, nothing else;
- `write_app`: the same, plus one transaction that updates a row by primary key and
  inserts another, with SQLAlchemy Core on the service's own engines (`service.db.Database`:
  the same SQLite pragmas and writer queue, the same PostgreSQL pool), in two small tables
  of its own that `create_tables` makes beside the service's.

gunicorn loads them as `bench.minimal_apps:json_app()` and `bench.minimal_apps:write_app()`;
`write_app` reads DATABASE_URL as the service does.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert, update

from service.db import Database

metadata = MetaData()
counter = Table(
    "bench_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
log = Table(
    "bench_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("counter_id", Integer, nullable=False),
    Column("note", String(200), nullable=False),
    Column("at", DateTime, nullable=False),
)


def create_tables(database: Database, counters: int) -> None:
    """The two tables, with `counters` rows to update."""
    metadata.create_all(database.engine)
    now = datetime.now(UTC).replace(tzinfo=None)
    with database.engine.begin() as connection:
        connection.execute(
            insert(counter),
            [{"id": n, "value": 0, "updated_at": now} for n in range(1, counters + 1)],
        )


def base_app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return app


def json_app() -> Flask:
    """POST /echo: the JSON body back, with a field added."""
    app = base_app()

    @app.post("/echo")
    def echo() -> Response:
        body: dict[str, Any] = request.get_json()
        return jsonify({**body, "ok": True})

    return app


def write_app() -> Flask:
    """POST /counters/<id>: add one to the counter and log the body's note, in one transaction."""
    app = base_app()
    database = Database(os.environ["DATABASE_URL"])

    @app.post("/counters/<int:counter_id>")
    def bump(counter_id: int) -> Response:
        body: dict[str, Any] = request.get_json()
        now = datetime.now(UTC).replace(tzinfo=None)
        with database.engine.begin() as connection:
            connection.execute(
                update(counter)
                .where(counter.c.id == counter_id)
                .values(value=counter.c.value + 1, updated_at=now)
            )
            connection.execute(
                insert(log).values(counter_id=counter_id, note=str(body.get("note")), at=now)
            )
        return jsonify({"id": counter_id, "ok": True})

    return app
