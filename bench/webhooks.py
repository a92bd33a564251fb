"""Webhook delivery speed: the worker against a bare `requests.Session` loop.

Both post the same bodies to the same receiver on 127.0.0.1. The worker's figures
include everything a delivery costs: claiming the endpoint, reading the outbox,
rendering and signing, recording the attempt. Latency is measured from the commit of
an event to its arrival at the receiver, with events trickling in at a steady rate.

    python -m bench.webhooks [--events 2000] [--rate 100] [--database-url URL]

Prints the figures and writes them to bench/results/webhooks.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlmodel import func, select

from bench.harness import emit, percentiles, write_json
from service import schema
from service.clock import SystemClock
from service.config import Config
from service.db import Database
from service.logs import configure_logging
from service.models import Delivery, Subscription
from service.worker import DeliveryWorker
from tests.receivers import Receiver, Reply, receiving
from webhooks.signing import new_standard_secret

RESULTS = Path(__file__).resolve().parent / "results" / "webhooks.json"
BATCH = 200


def subscribe(database: Database, url: str) -> None:
    now = datetime.now(UTC)
    secret = new_standard_secret(bytes(range(32)))
    with database.transaction() as session:
        session.add(
            Subscription(
                url=url,
                format="standard",
                secrets=[{"secret": secret, "expires_at": None}],
                created_at=now,
                updated_at=now,
            )
        )


def pending(database: Database) -> int:
    with database.reading() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
        return session.exec(query).one()


def running_worker(config: Config, database: Database) -> Callable[[], None]:
    """Start a worker thread; the returned function stops it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=DeliveryWorker(config, database, SystemClock()).run, args=(stop,)
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join()

    return halt


def wait_until_delivered(database: Database, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while pending(database):
        if time.monotonic() > deadline:
            raise SystemExit("deliveries did not finish in time")
        time.sleep(0.01)


def worker_throughput(config: Config, database: Database, receiver: Receiver, n: int) -> float:
    """Deliveries a second, draining `n` queued events."""
    for first in range(0, n, BATCH):
        emit(database, min(BATCH, n - first), first)
    before = len(receiver.received)
    started = time.monotonic()
    halt = running_worker(config, database)
    wait_until_delivered(database)
    elapsed = time.monotonic() - started
    halt()
    assert len(receiver.received) - before == n
    return n / elapsed


def worker_latency(
    config: Config, database: Database, receiver: Receiver, n: int, rate: float
) -> list[float]:
    """Commit-to-arrival times of `n` events emitted one at a time, `rate` a second."""
    before = len(receiver.received)
    halt = running_worker(config, database)
    committed: dict[str, float] = {}
    for number in range(n):
        committed |= emit(database, 1, 10_000_000 + number)
        time.sleep(1 / rate)
    wait_until_delivered(database)
    halt()
    arrivals = receiver.received[before:]
    return [r.arrived - committed[json.loads(r.body)["id"]] for r in arrivals]


def bare_session(url: str, requests_sent: Sequence[Any]) -> tuple[float, list[float]]:
    """The same bodies and headers posted in a plain loop: posts a second, and each post's time."""
    session = requests.Session()
    times = []
    started = time.monotonic()
    for sent in requests_sent:
        begun = time.monotonic()
        response = session.post(url, data=sent.body, headers=sent.headers, timeout=(5, 15))
        response.raise_for_status()
        times.append(time.monotonic() - begun)
    elapsed = time.monotonic() - started
    session.close()
    return len(requests_sent) / elapsed, times


def run(events: int, rate: float, database_url: str) -> dict[str, Any]:
    configure_logging("WARNING", "text")
    config = Config(
        database_url=database_url,
        webhook_allowed_networks="127.0.0.0/8",
        worker_poll_seconds=0.05,
        log_format="text",
    ).validated()
    database = Database(config.database_url)
    schema.upgrade(database)
    with receiving(Reply(204)) as receiver:
        subscribe(database, receiver.url)
        throughput = worker_throughput(config, database, receiver, events)
        latency = worker_latency(config, database, receiver, max(events // 10, 100), rate)
        sent = list(receiver.received[:events])
        bare_throughput, bare_times = bare_session(receiver.url, sent)
    database.dispose()
    worker = {"deliveries_per_s": round(throughput, 1), "latency_ms": percentiles(latency)}
    bare = {"posts_per_s": round(bare_throughput, 1), "latency_ms": percentiles(bare_times)}
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "database": database.backend,
        "events": events,
        "latency_events": max(events // 10, 100),
        "latency_rate_per_s": rate,
        "poll_seconds": config.worker_poll_seconds,
        "worker": worker,
        "bare_session": bare,
        "throughput_ratio": round(throughput / bare_throughput, 3),
    }


def report(result: dict[str, Any]) -> str:
    worker, bare = result["worker"], result["bare_session"]
    return "\n".join(
        [
            f"webhook delivery, {result['events']} events, {result['database']}",
            f"  worker       {worker['deliveries_per_s']:>9.1f} deliveries/s   "
            f"event→receipt p50 {worker['latency_ms']['p50']:.1f} ms "
            f"p99 {worker['latency_ms']['p99']:.1f} ms",
            f"  bare Session {bare['posts_per_s']:>9.1f} posts/s        "
            f"post p50 {bare['latency_ms']['p50']:.1f} ms p99 {bare['latency_ms']['p99']:.1f} ms",
            f"  worker / bare throughput: {result['throughput_ratio']:.3f}",
        ]
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0, help="events a second (latency)")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        result = run(args.events, args.rate, url)
    print(report(result))
    write_json(RESULTS, result)
    return result


if __name__ == "__main__":
    main()
