"""The event stream: SSE framing, resuming, heartbeats, access, and one poller for everyone.

Streams are read in threads of their own and every wait has a timeout, so a broken
stream fails its test instead of hanging the run.
"""

from __future__ import annotations

import http.client
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import event
from werkzeug.serving import make_server

from service.app import create_app
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.services.feed import EVERYTHING, START, FeedFilter, end_cursor, read_entries
from service.services.units import unit_by_name
from service.stream import EXTENSION, EventBroadcaster, Subscription
from tests.service.conftest import Tokens, make_tokens
from tests.service.test_feed import SETTLE_SECONDS, Writers, settle, wait_until_served, write

HEARTBEAT = 0.2


@dataclass(frozen=True)
class StreamSetup:
    app: Flask
    client: FlaskClient
    database: Database
    broadcaster: EventBroadcaster
    tokens: Tokens
    unit_a: int
    unit_b: int


@pytest.fixture
def setup(fresh_database: Database, clock: FixedClock) -> Iterator[StreamSetup]:
    """An app with a quick broadcaster on a database of its own; stopped afterwards."""
    tokens = make_tokens(fresh_database, clock)
    config = Config(
        database_url=fresh_database.url,
        testing=True,
        secret_key="test",
        log_format="text",
        sse_heartbeat_seconds=HEARTBEAT,
    )
    app = create_app(config, database=fresh_database, clock=clock)
    broadcaster = EventBroadcaster(fresh_database, poll_seconds=0.05, recheck_seconds=0.3)
    app.extensions[EXTENSION] = broadcaster
    with fresh_database.reading() as session:
        unit_a = unit_by_name(session, tokens.unit_a).id
        unit_b = unit_by_name(session, tokens.unit_b).id
    settle(fresh_database)
    yield StreamSetup(app, app.test_client(), fresh_database, broadcaster, tokens, unit_a, unit_b)
    broadcaster.stop()


class Stream:
    """An SSE response, requested and read by a thread of its own into a queue of blocks.

    The request is made in that thread too: a streamed Flask response pops its request
    context in the thread that finishes reading it. None in the queue marks the end.
    """

    def __init__(self, request: Callable[[], Any]) -> None:
        self._response: queue.Queue[Any] = queue.Queue()
        self._blocks: queue.Queue[str | None] = queue.Queue()
        self._answer: Any = None
        self._thread = threading.Thread(target=self._pump, args=(request,), daemon=True)
        self._thread.start()

    def response(self, timeout: float = 10) -> Any:
        """The response object (status and headers), once the request has been answered."""
        if self._answer is None:
            self._answer = self._response.get(timeout=timeout)
        return self._answer

    def _pump(self, request: Callable[[], Any]) -> None:
        text = ""
        try:
            response = request()
            self._response.put(response)
            for chunk in chunks_of(response):
                text += chunk.decode()
                *blocks, text = text.split("\n\n")
                for block in blocks:
                    self._blocks.put(block)
        finally:
            self._blocks.put(None)

    def block(self, timeout: float = 5) -> str | None:
        try:
            return self._blocks.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no SSE block within {timeout} s") from None

    def events(self, count: int, timeout: float = SETTLE_SECONDS) -> list[dict[str, str]]:
        """The next `count` events (comments and id-only blocks skipped), as their fields."""
        found: list[dict[str, str]] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            block = self.block(max(deadline - time.monotonic(), 0.01))
            assert block is not None, f"stream ended after {len(found)} of {count} events"
            fields = parse_block(block)
            if "data" in fields:
                found.append(fields)
        return found

    def quiet_for(self, seconds: float) -> list[str]:
        """Every block in the next `seconds`; fails if an event arrives."""
        blocks: list[str] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                block = self._blocks.get(timeout=left)
            except queue.Empty:
                break
            assert block is None or "data" not in parse_block(block), f"unexpected: {block}"
            blocks.append(block or "")
        return blocks

    def ended(self, timeout: float = 5) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self._blocks.get(timeout=max(deadline - time.monotonic(), 0.01)) is None:
                    return True
            except queue.Empty:
                break
        return False


def parse_block(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in block.split("\n"):
        name, _, value = line.partition(": ")
        fields[name or "comment"] = value
    return fields


def chunks_of(response: Any) -> Iterator[bytes]:
    if not isinstance(response, http.client.HTTPResponse):
        yield from response.response
        return
    try:
        while chunk := response.read1(65536):
            yield chunk
    except (OSError, http.client.HTTPException):
        return  # the test hung up


def open_stream(setup: StreamSetup, who: str, query: str = "", **headers: str) -> Stream:
    stream = Stream(
        lambda: setup.client.get(
            f"/api/v1/events/stream{query}",
            headers={**setup.tokens.header(who), **headers},
            buffered=False,
        )
    )
    response = stream.response()
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    return stream


def connected(setup: StreamSetup, who: str, query: str = "", **headers: str) -> Stream:
    """A stream whose first block (its starting point) has arrived."""
    stream = open_stream(setup, who, query, **headers)
    first = stream.block()
    assert first is not None and first.startswith("id: ")
    return stream


def test_new_events_arrive_framed_as_sse(setup, clock) -> None:
    write(setup.database, clock, ("item.assigned", setup.unit_a))  # before: not sent
    stream = connected(setup, "supervisor")
    ids = write(setup.database, clock, ("item.started", setup.unit_a), ("unit.merged", None))
    events = stream.events(2)
    assert [e["event"] for e in events] == ["item.started", "unit.merged"]
    for sent, event_id in zip(events, ids, strict=True):
        assert set(sent) == {"id", "event", "data"}
        envelope = json.loads(sent["data"])
        assert envelope["id"] == event_id
        assert envelope["cursor"] == sent["id"]
        assert envelope["specversion"] == "1.0"
        assert envelope["type"] == sent["event"]


def test_stream_response_headers(setup) -> None:
    response = open_stream(setup, "admin").response()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"


def test_the_first_block_names_the_starting_point(setup, clock) -> None:
    write(setup.database, clock, ("item.assigned", setup.unit_a))
    stream = open_stream(setup, "supervisor")
    assert stream.block() == f"id: {end_cursor(setup.database)}"


@pytest.mark.parametrize("how", ["Last-Event-ID", "after"])
def test_resumes_after_the_last_event_id(setup, clock, how) -> None:
    write(setup.database, clock, ("item.assigned", setup.unit_a))
    ids = write(setup.database, clock, *[("item.started", setup.unit_a)] * 3)
    first = next(
        e
        for e in read_entries(setup.database, EVERYTHING, after=START, limit=100)
        if e.envelope["id"] == ids[0]
    )
    if how == "after":
        stream = open_stream(setup, "supervisor", f"?after={first.cursor}")
    else:
        stream = open_stream(setup, "supervisor", **{"Last-Event-ID": str(first.cursor)})
    sent = stream.events(2)
    assert [json.loads(e["data"])["id"] for e in sent] == ids[1:]
    later = write(setup.database, clock, ("item.approved", setup.unit_a))
    assert [json.loads(e["data"])["id"] for e in stream.events(1)] == later


def test_last_event_id_wins_over_after(setup, clock) -> None:
    ids = write(setup.database, clock, *[("item.started", setup.unit_a)] * 2)
    cursors = [
        e.cursor
        for e in read_entries(setup.database, EVERYTHING, after=START, limit=100)
        if e.envelope["id"] in ids
    ]
    stream = open_stream(
        setup, "supervisor", f"?after={START}", **{"Last-Event-ID": str(cursors[0])}
    )
    assert [json.loads(e["data"])["id"] for e in stream.events(1)] == ids[1:]


def test_a_reconnect_resumes_from_the_buffer_too(setup, clock) -> None:
    first = connected(setup, "supervisor")
    ids = write(setup.database, clock, *[("item.started", setup.unit_a)] * 3)
    sent = first.events(3)
    second = open_stream(setup, "supervisor", **{"Last-Event-ID": sent[0]["id"]})
    assert [json.loads(e["data"])["id"] for e in second.events(2)] == ids[1:]


def test_idle_streams_send_heartbeats(setup) -> None:
    stream = connected(setup, "staff_a")
    blocks = stream.quiet_for(HEARTBEAT * 4)
    assert blocks.count(": keepalive") >= 2


def test_staff_streams_carry_only_their_units_events(setup, clock) -> None:
    stream = connected(setup, "staff_a")
    write(
        setup.database,
        clock,
        ("item.assigned", setup.unit_b),
        ("document.imported", None),
        ("item.assigned", setup.unit_a),
    )
    [sent] = stream.events(1)
    assert json.loads(sent["data"])["data"] == {"n": 2}
    stream.quiet_for(HEARTBEAT * 2)


def test_streams_filter_by_type(setup, clock) -> None:
    stream = connected(setup, "supervisor", "?type=item.approved,unit.*")
    write(
        setup.database,
        clock,
        ("item.assigned", setup.unit_a),
        ("item.approved", setup.unit_a),
        ("unit.merged", None),
    )
    assert [e["event"] for e in stream.events(2)] == ["item.approved", "unit.merged"]


def test_staff_asking_for_another_units_stream_is_403(setup) -> None:
    response = setup.client.get(
        f"/api/v1/events/stream?unit={setup.unit_b}", headers=setup.tokens.header("staff_a")
    )
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({"Last-Event-ID": "yesterday"}, "", 422),
        ({}, "?after=1-2-3", 422),
        ({}, "?type=nothing", 422),
    ],
)
def test_bad_stream_requests_are_problems(setup, headers, query, status) -> None:
    response = setup.client.get(
        f"/api/v1/events/stream{query}", headers={**setup.tokens.header("admin"), **headers}
    )
    assert response.status_code == status
    assert response.content_type == "application/problem+json"


def test_a_stream_needs_a_token(setup) -> None:
    assert setup.client.get("/api/v1/events/stream").status_code == 401


def test_stopping_the_broadcaster_ends_every_stream(setup) -> None:
    streams = [connected(setup, who) for who in ("staff_a", "supervisor", "admin")]
    setup.broadcaster.stop()
    assert all(stream.ended() for stream in streams)


def test_a_revoked_token_ends_its_stream(setup) -> None:
    stream = connected(setup, "staff_b")
    listed = setup.client.get("/api/v1/tokens", headers=setup.tokens.header("admin")).get_json()
    staff_b = next(t for t in listed if t["label"] == "staff_b")
    setup.client.delete(f"/api/v1/tokens/{staff_b['id']}", headers=setup.tokens.header("admin"))
    assert stream.ended(timeout=5)


def feed_queries(database: Database, seconds: float) -> int:
    """How many queries of the event table run in the next `seconds`."""
    queries: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM event" in statement:
            queries.append(statement)

    event.listen(database.read_engine, "before_cursor_execute", count)
    try:
        time.sleep(seconds)
    finally:
        event.remove(database.read_engine, "before_cursor_execute", count)
    return len(queries)


def test_idle_subscribers_share_one_poller(setup) -> None:
    """Many waiting streams cost one feed query per poll interval, not one each."""
    streams = [connected(setup, "supervisor") for _ in range(12)]
    polls = 1.0 / setup.broadcaster.poll_seconds
    assert 0 < feed_queries(setup.database, 1.0) <= polls * 1.5
    assert not any(stream.ended(timeout=0) for stream in streams)


# The broadcaster itself, with concurrent writers and a buffer small enough to overflow.


def follow_in_thread(
    broadcaster: EventBroadcaster, subscription: Subscription, into: list[str]
) -> threading.Thread:
    def run() -> None:
        for entry in broadcaster.follow(subscription):
            if entry is not None:
                into.append(entry.envelope["id"])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("seed", [4, 5])
def test_subscribers_during_concurrent_writers_get_each_event_once(
    fresh_database, clock, seed
) -> None:
    broadcaster = EventBroadcaster(fresh_database, poll_seconds=0.01, buffer_size=4, page_size=3)
    broadcaster.start()
    start = settle(fresh_database)
    received: list[list[str]] = [[], []]
    subscribers = [
        follow_in_thread(
            broadcaster, Subscription(start, FeedFilter(), HEARTBEAT, lambda: True), into
        )
        for into in received
    ]
    writers = Writers(fresh_database, clock, seed=seed).start()
    writers.join()
    wait_until_served(fresh_database, writers.committed)
    deadline = time.monotonic() + SETTLE_SECONDS
    while any(len(r) < len(writers.committed) for r in received) and time.monotonic() < deadline:
        time.sleep(0.02)
    broadcaster.stop()
    for thread in subscribers:
        thread.join(timeout=5)
        assert not thread.is_alive()
    for got in received:
        assert len(got) == len(set(got)), "an event was sent twice"
        assert sorted(got) == sorted(writers.committed), "an event was missed or invented"


# Over a real socket: what a browser's EventSource or curl sees.


@pytest.fixture
def server(setup: StreamSetup) -> Iterator[str]:
    wsgi = make_server("127.0.0.1", 0, setup.app, threaded=True)
    thread = threading.Thread(target=wsgi.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"127.0.0.1:{wsgi.server_port}"
    setup.broadcaster.stop()
    wsgi.shutdown()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the server could not shut down"


def http_stream(address: str, headers: dict[str, str]) -> tuple[Stream, socket.socket]:
    """A stream read over HTTP, and the client's socket (to hang up with)."""
    connection = http.client.HTTPConnection(address, timeout=10)
    connection.connect()
    client = connection.sock

    def request() -> http.client.HTTPResponse:
        connection.request("GET", "/api/v1/events/stream", headers=headers)
        return connection.getresponse()

    stream = Stream(request)
    assert stream.response().status == 200
    return stream, client


def test_over_http_events_stream_and_a_disconnect_unsubscribes(setup, server, clock) -> None:
    stream, client = http_stream(server, setup.tokens.header("admin"))
    response = stream.response()
    assert response.getheader("Cache-Control") == "no-cache"
    assert response.getheader("Content-Type").startswith("text/event-stream")
    assert stream.block().startswith("id: ")
    write(setup.database, clock, ("item.approved", setup.unit_a))
    [sent] = stream.events(1)
    assert sent["event"] == "item.approved"
    client.shutdown(socket.SHUT_RDWR)  # the client goes away; the next heartbeat finds out
    deadline = time.monotonic() + 10
    while setup.broadcaster._subscribers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert setup.broadcaster._subscribers == 0
    assert feed_queries(setup.database, 0.5) == 0  # nobody listens: the poller rests


def test_over_http_stopping_lets_the_server_shut_down(setup, server) -> None:
    stream, _client = http_stream(server, setup.tokens.header("staff_a"))
    assert stream.block().startswith("id: ")
    setup.broadcaster.stop()
    assert stream.ended()


def test_the_stream_is_documented_as_server_sent_events(setup) -> None:
    spec = setup.client.get("/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/events/stream"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert "Last-Event-ID" in {p["name"] for p in operation["parameters"]}
    assert "FeedEvent" in spec["components"]["schemas"]


# Under gevent, as `checklist serve` and gunicorn's gevent worker run it: a process of
# its own, monkey-patched before anything else is imported.
GEVENT_SCRIPT = """
from gevent import monkey

monkey.patch_all()

import http.client, json, os, sys, time
import gevent
from gevent.pywsgi import WSGIServer
from service.app import create_app
from service.clock import SystemClock
from service.config import Config
from service.db import Database
from service.services.events import record_event
from service.stream import stop_broadcaster

url, token, subscribers, patience = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
database = Database(url)
config = Config(database_url=url, secret_key="t", log_format="text", sse_heartbeat_seconds=0.5)
app = create_app(config, database=database)
server = WSGIServer(("127.0.0.1", 0), app, log=None)
server.start()
delivered, ended = [], []


def listen():
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=patience)
    connection.request("GET", "/api/v1/events/stream", headers={"Authorization": token})
    response = connection.getresponse()
    text = b""
    seen = False
    while chunk := response.read1(65536):
        text += chunk
        if not seen and b"event: item.approved" in text:
            seen = True
            delivered.append(1)
    ended.append(text.count(b"event: item.approved"))


listeners = [gevent.spawn(listen) for _ in range(subscribers)]
gevent.sleep(2)
idle_threads = len(os.listdir("/proc/self/task"))
with database.transaction() as session:
    record_event(session, "item.approved", "items/1", {}, now=SystemClock().now())
deadline = time.monotonic() + patience
while len(delivered) < subscribers and time.monotonic() < deadline:
    gevent.sleep(0.05)
stopping = time.monotonic()
stop_broadcaster(app)
gevent.joinall(listeners, timeout=10)
server.stop(timeout=5)
print(json.dumps({
    "idle_threads": idle_threads,
    "ended": sorted(ended),
    "stop_seconds": time.monotonic() - stopping,
}))
"""


def test_under_gevent_idle_streams_cost_no_threads(fresh_database, clock, repo_root) -> None:
    """200 open streams on one gevent process: a handful of OS threads, all get the event."""
    tokens = make_tokens(fresh_database, clock)
    settle(fresh_database)
    arguments = [fresh_database.url, f"Bearer {tokens.admin}", "200", str(SETTLE_SECONDS)]
    result = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT, *arguments],
        capture_output=True,
        text=True,
        timeout=SETTLE_SECONDS + 60,
        cwd=repo_root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["idle_threads"] < 20
    assert outcome["ended"] == [1] * 200  # each stream got the event once, then ended
    assert outcome["stop_seconds"] < 5


def test_the_stream_conforms_to_its_schema(setup, clock) -> None:
    """Generated requests to the stream: never a 5xx, and every event as documented."""
    write(setup.database, clock, ("item.assigned", setup.unit_a), ("unit.merged", None))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", setup.app)
    [operation] = [
        result.ok() for result in schema.include(path="/api/v1/events/stream").get_all_operations()
    ]
    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.response_schema_conformance,
        schemathesis.checks.content_type_conformance,
    ]
    admin = setup.tokens.header("admin")

    @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def conforms(case: schemathesis.Case) -> None:
        # A stream never ends: read it for half a second (a few heartbeats), then judge.
        case.call_and_validate(headers=admin, checks=checks, timeout=0.5)

    conforms()
    replay = operation.Case(headers={"Last-Event-ID": str(START)})  # a stream with events in it
    assert (
        replay.call_and_validate(headers=admin, checks=checks, timeout=0.5).content.count(b"data: ")
        >= 2
    )
