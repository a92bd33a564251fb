"""The event feed: every committed event exactly once, in order, even when commits come late.

The feed serves only finished transactions, so these tests commit for real
(`fresh_database`) instead of running inside one rolled-back transaction.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from service.app import create_app
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.models import Event
from service.models.events import current_txid
from service.services.audit import Actor
from service.services.events import record_event
from service.services.feed import (
    EVERYTHING,
    START,
    Cursor,
    end_cursor,
    feed_page,
    parse_cursor,
    read_entries,
)
from service.services.units import unit_by_name
from tests.service.conftest import Tokens, make_tokens

SUPERVISOR = Actor(label="督查室", role="supervisor")


@dataclass(frozen=True)
class FeedSetup:
    database: Database
    client: FlaskClient
    tokens: Tokens
    unit_a: int
    unit_b: int
    start: Cursor


@pytest.fixture
def setup(fresh_database: Database, clock: FixedClock) -> FeedSetup:
    """An app on a database of its own, two units with tokens, and the feed's end so far."""
    tokens = make_tokens(fresh_database, clock)
    config = Config(
        database_url=fresh_database.url, testing=True, secret_key="test", log_format="text"
    )
    app = create_app(config, database=fresh_database, clock=clock)
    with fresh_database.reading() as session:
        unit_a = unit_by_name(session, tokens.unit_a).id
        unit_b = unit_by_name(session, tokens.unit_b).id
    return FeedSetup(
        fresh_database, app.test_client(), tokens, unit_a, unit_b, settle(fresh_database)
    )


# On PostgreSQL the feed waits for every older transaction on the server to end, and
# other tests (other xdist workers, other runs) may hold one open for a while: a test
# waits for its events to be served, within reason.
SETTLE_SECONDS = 300


def write(database: Database, clock: FixedClock, *events: tuple[str, int | None]) -> list[str]:
    """Commit one transaction with these (type, unit) events; their ids, once the feed has them."""
    with database.transaction() as session:
        made = [
            record_event(session, type, f"tests/{n}", {"n": n}, now=clock.now(), unit_id=unit)
            for n, (type, unit) in enumerate(events)
        ]
    ids = [event.event_id for event in made]
    wait_until_served(database, ids)
    return ids


def settle(database: Database) -> Cursor:
    """Wait until every event committed so far is served; the end of the feed then."""
    with database.reading() as session:
        committed = list(session.exec(select(Event.event_id)).all())
    wait_until_served(database, committed)
    return end_cursor(database)


def wait_until_served(database: Database, event_ids: list[str]) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        served = {
            e.envelope["id"] for e in read_entries(database, EVERYTHING, after=START, limit=10_000)
        }
        if served >= set(event_ids):
            return
        time.sleep(0.02)
    raise AssertionError("committed events never reached the feed")


def page(setup: FeedSetup, who: str = "supervisor", query: str = "") -> dict:
    separator = "&" if query else ""
    url = f"/api/v1/events?after={setup.start}{separator}{query}"
    response = setup.client.get(url, headers=setup.tokens.header(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def types_of(body: dict) -> list[str]:
    return [event["type"] for event in body["events"]]


def test_following_next_cursor_returns_every_event_once_in_order(setup, clock) -> None:
    written = write(setup.database, clock, ("item.assigned", setup.unit_a))
    written += write(setup.database, clock, *[("item.started", setup.unit_b)] * 4)
    written += write(setup.database, clock, ("item.approved", setup.unit_a), ("unit.merged", None))
    seen, cursors, after = [], [], str(setup.start)
    for _ in range(10):
        response = setup.client.get(
            f"/api/v1/events?after={after}&limit=3", headers=setup.tokens.header("admin")
        )
        body = response.get_json()
        if not body["events"]:
            assert body["next_cursor"] == after  # nothing new: the same cursor again
            break
        assert len(body["events"]) <= 3
        assert body["next_cursor"] == body["events"][-1]["cursor"]
        seen += [event["id"] for event in body["events"]]
        cursors += [parse_cursor(event["cursor"]) for event in body["events"]]
        after = body["next_cursor"]
    assert seen == written
    assert cursors == sorted(set(cursors))


def test_events_are_cloudevents_envelopes_with_their_cursor(setup, clock) -> None:
    [event_id] = write(setup.database, clock, ("item.assigned", setup.unit_a))
    [event] = page(setup)["events"]
    assert event["specversion"] == "1.0"
    assert (event["id"], event["type"], event["subject"]) == (event_id, "item.assigned", "tests/0")
    assert event["source"] == "/duban-checklists"
    assert event["time"] == "2026-11-20T01:30:00Z"
    assert event["data"] == {"n": 0}
    assert parse_cursor(event["cursor"]) > setup.start


def test_without_a_cursor_the_feed_starts_at_the_beginning(setup, clock) -> None:
    write(setup.database, clock, ("item.assigned", setup.unit_a))
    response = setup.client.get("/api/v1/events?limit=1", headers=setup.tokens.header("admin"))
    [first] = read_entries(setup.database, EVERYTHING, after=START, limit=1)
    assert response.get_json()["next_cursor"] == str(first.cursor)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=item.assigned", ["item.assigned"]),
        ("type=item.*", ["item.assigned", "item.approved"]),
        ("type=item.approved,document.imported", ["item.approved", "document.imported"]),
        ("type=item.approved&type=document.imported", ["item.approved", "document.imported"]),
        ("type=*", ["item.assigned", "item.approved", "document.imported", "unit.updated"]),
        ("unit={a}", ["item.assigned", "unit.updated"]),
        ("type=item.*&unit={b}", ["item.approved"]),
        ("type=unit.merged", []),
    ],
)
def test_filters_by_type_pattern_and_unit(setup, clock, query, expected) -> None:
    write(
        setup.database,
        clock,
        ("item.assigned", setup.unit_a),
        ("item.approved", setup.unit_b),
        ("document.imported", None),
        ("unit.updated", setup.unit_a),
    )
    body = page(setup, query=query.format(a=setup.unit_a, b=setup.unit_b))
    assert types_of(body) == expected


def test_staff_see_only_their_own_units_events(setup, clock) -> None:
    write(
        setup.database,
        clock,
        ("item.assigned", setup.unit_a),
        ("item.assigned", setup.unit_b),
        ("document.imported", None),
        ("item.started", setup.unit_a),
    )
    assert types_of(page(setup, "staff_a")) == ["item.assigned", "item.started"]
    assert types_of(page(setup, "staff_b")) == ["item.assigned"]
    assert types_of(page(setup, "staff_a", f"unit={setup.unit_a}")) == [
        "item.assigned",
        "item.started",
    ]
    for who in ("supervisor", "admin"):
        assert len(page(setup, who)["events"]) == 4


def test_staff_asking_for_another_unit_is_403(setup) -> None:
    response = setup.client.get(
        f"/api/v1/events?unit={setup.unit_b}", headers=setup.tokens.header("staff_a")
    )
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    assert "unit" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("after=abc", "after"),
        ("after=12", "after"),
        ("after=-1-2", "after"),
        ("after=1-2-3", "after"),
        ("after=99999999999999999999-1", "after"),
        ("after=9223372036854775808-1", "after"),
        ("type=item.nonsense", "type"),
        ("type=item.assigned,", "type"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("unit=0", "unit"),
    ],
)
def test_malformed_queries_are_422_problems(setup, query, field) -> None:
    response = setup.client.get(f"/api/v1/events?{query}", headers=setup.tokens.header("admin"))
    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_reading_the_feed_needs_a_token(setup) -> None:
    assert setup.client.get("/api/v1/events").status_code == 401


def test_end_cursor_is_after_the_newest_event(setup, clock) -> None:
    write(setup.database, clock, ("item.assigned", setup.unit_a), ("item.started", setup.unit_a))
    newest = read_entries(setup.database, EVERYTHING, after=setup.start, limit=10)[-1]
    assert end_cursor(setup.database) == newest.cursor
    assert read_entries(setup.database, EVERYTHING, after=newest.cursor, limit=10) == []


def test_cursor_text_round_trips() -> None:
    assert str(parse_cursor("12-345")) == "12-345"
    assert parse_cursor("0-7") < parse_cursor("0-8") < parse_cursor("1-2")
    with pytest.raises(ValueError):
        parse_cursor("12_345")


# Concurrent writers. On PostgreSQL ids come from a sequence before commit, so
# transactions can commit out of id order; on SQLite writers queue, so no commit is late.


class Reader:
    """Follows `next_cursor` as a client would, keeping every event id it is given."""

    def __init__(self, database: Database, after: Cursor, limit: int = 100) -> None:
        self.database, self.after, self.limit = database, str(after), limit
        self.seen: list[str] = []

    def read(self) -> list[str]:
        body = feed_page(
            self.database, SUPERVISOR, EVERYTHING, after=parse_cursor(self.after), limit=self.limit
        )
        self.after = body["next_cursor"]
        ids = [event["id"] for event in body["events"]]
        self.seen += ids
        return ids

    def read_until(self, count: int) -> None:
        """Follow the feed until `count` events have come (more would show in the asserts)."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while len(self.seen) < count and time.monotonic() < deadline:
            if not self.read():
                time.sleep(0.02)
        self.read()


def only_on_postgresql(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: no transaction commits behind another")


def test_a_commit_behind_a_larger_id_is_not_skipped(fresh_database, backend, clock) -> None:
    """A takes event id N, B takes N+1 and commits while A is still open."""
    only_on_postgresql(backend)
    reader = Reader(fresh_database, settle(fresh_database))
    with fresh_database.transaction() as a:
        event_a = record_event(a, "item.started", "tests/a", {}, now=clock.now())
        a.flush()
        with fresh_database.transaction() as b:
            event_b = record_event(b, "item.started", "tests/b", {}, now=clock.now())
            b.flush()
        assert event_b.id > event_a.id
        assert reader.read() == []  # B is committed, but A could still commit behind it
    reader.read_until(2)
    assert reader.seen == [event_a.event_id, event_b.event_id]


def test_an_older_transaction_with_a_larger_id_is_not_skipped(
    fresh_database, backend, clock
) -> None:
    """B's transaction is older, but its event id is larger than A's, which commits first."""
    only_on_postgresql(backend)
    reader = Reader(fresh_database, settle(fresh_database))
    with fresh_database.transaction() as b:
        b.execute(select(current_txid()))  # B takes its transaction id first
        with fresh_database.transaction() as a:
            event_a = record_event(a, "item.started", "tests/a", {}, now=clock.now())
            a.flush()
        assert reader.read() == []  # A is committed, but B is older and still open
        event_b = record_event(b, "item.started", "tests/b", {}, now=clock.now())
        b.flush()
        assert event_b.id > event_a.id
    reader.read_until(2)
    assert reader.seen == [event_b.event_id, event_a.event_id]


class Rollback(Exception):
    pass


class Writers:
    """Writer threads committing (or rolling back) interleaved transactions of 1-3 events."""

    def __init__(
        self, database: Database, clock: FixedClock, *, seed: int, count: int = 4, rounds: int = 12
    ) -> None:
        self.database, self.clock, self.seed, self.rounds = database, clock, seed, rounds
        self.committed: list[str] = []
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, args=(n,), daemon=True) for n in range(count)
        ]

    def start(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a writer hung"

    def _work(self, number: int) -> None:
        rng = random.Random(self.seed * 100 + number)
        for _ in range(self.rounds):
            try:
                made = self._transaction(rng)
            except Rollback:
                continue
            with self._lock:
                self.committed.extend(made)

    def _transaction(self, rng: random.Random) -> list[str]:
        with self.database.transaction() as session:
            made = []
            for _ in range(rng.randint(1, 3)):
                event = record_event(session, "item.started", "tests/w", {}, now=self.clock.now())
                session.flush()
                made.append(event.event_id)
                time.sleep(rng.uniform(0, 0.01))
            if rng.random() < 0.2:
                raise Rollback
        return made


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_reader_during_concurrent_writers_sees_each_event_once(
    fresh_database, clock, seed
) -> None:
    limit = random.Random(seed).randint(1, 4)
    reader = Reader(fresh_database, settle(fresh_database), limit=limit)
    writers = Writers(fresh_database, clock, seed=seed).start()
    deadline = time.monotonic() + 60
    while writers.running() and time.monotonic() < deadline:
        reader.read()
    writers.join()
    reader.read_until(len(writers.committed))
    assert len(reader.seen) == len(set(reader.seen)), "an event was served twice"
    assert sorted(reader.seen) == sorted(writers.committed), "an event was missed or invented"
