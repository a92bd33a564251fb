"""Server-Sent Events: one poller per process, any number of subscribers waiting on it.

The web server runs gunicorn's gevent worker (the embedded server, gevent's pywsgi), so
the `threading` primitives here are patched into greenlet ones: a waiting subscriber
costs a greenlet, not a thread, and never touches the database while it waits. One
background poller reads the feed every `poll_seconds` while anyone listens, keeps the
newest events in a bounded buffer and wakes the subscribers; a subscriber whose cursor
is older than the buffer catches up with feed queries of its own first.

Access is checked when a stream opens; the token is checked again every
`recheck_seconds`, and a stream whose token was revoked or expired ends there (the
client's reconnect then gets 401).
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app

from service.db import Database
from service.extensions import services
from service.services.audit import Actor
from service.services.feed import (
    EVERYTHING,
    START,
    Cursor,
    FeedEntry,
    FeedFilter,
    end_cursor,
    read_entries,
    visible_to,
    with_cursor,
)

log = logging.getLogger(__name__)

EXTENSION = "event_broadcaster"
KEEPALIVE = ": keepalive\n\n"
_creating = threading.Lock()


@dataclass(frozen=True)
class Subscription:
    """What one stream follows: from where, which events, and how to check it may go on."""

    after: Cursor
    feed_filter: FeedFilter
    heartbeat_seconds: float
    still_allowed: Callable[[], bool]


class EventBroadcaster:
    """Reads the feed once for every subscriber of this process and wakes them with news.

    Invariant: the buffer holds exactly the events after `_floor` up to the newest one
    read, in feed order. While nobody listens the poller does no database work at all,
    and on the next subscriber it starts afresh from the end of the feed.
    """

    def __init__(
        self,
        database: Database,
        *,
        poll_seconds: float = 0.5,
        buffer_size: int = 2000,
        page_size: int = 500,
        recheck_seconds: float = 300.0,
    ) -> None:
        self.database = database
        self.poll_seconds = poll_seconds
        self.page_size = page_size
        self.recheck_seconds = recheck_seconds
        self._buffer_size = buffer_size
        self._buffer: deque[FeedEntry] = deque()
        self._floor = START
        self._head = START
        self._fresh_start = True
        self._subscribers = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        # The broadcaster's database work goes one query at a time, and none runs once the
        # last subscriber has left: a request thread may then use the same connection.
        self._querying = threading.Lock()

    def start(self) -> None:
        """Start the poller, unless it runs already or the broadcaster has been stopped."""
        with self._changed:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(target=self._run, name="event-broadcaster", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End every stream and the poller; the server can then finish its requests."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def end_cursor(self) -> Cursor:
        with self._querying:
            return end_cursor(self.database)

    def follow(self, subscription: Subscription) -> Iterator[FeedEntry | None]:
        """The subscription's events as they arrive; None whenever a heartbeat is due.

        Ends when the broadcaster stops or the subscriber may no longer listen.
        """
        with self._subscribed():
            cursor = subscription.after
            beat_at = time.monotonic() + subscription.heartbeat_seconds
            check_at = time.monotonic() + self.recheck_seconds
            while True:
                news = self._news_after(cursor, until=min(beat_at, check_at))
                if news is None:
                    return
                entries, cursor = news
                for entry in entries:
                    if subscription.feed_filter.admits(entry):
                        yield entry
                        beat_at = time.monotonic() + subscription.heartbeat_seconds
                now = time.monotonic()
                if now >= check_at:
                    if not self._still_allowed(subscription):
                        return
                    check_at = now + self.recheck_seconds
                if now >= beat_at:
                    yield None
                    beat_at = now + subscription.heartbeat_seconds

    def _still_allowed(self, subscription: Subscription) -> bool:
        with self._querying:
            return subscription.still_allowed()

    def _news_after(self, cursor: Cursor, *, until: float) -> tuple[list[FeedEntry], Cursor] | None:
        """Events after `cursor` and the cursor after them; waits until `until` for some.

        None once stopped. A cursor older than the buffer reads one page itself.
        """
        with self._changed:
            while not self._stopped and cursor >= self._floor:
                newer = self._buffered_after(cursor)
                remaining = until - time.monotonic()
                if newer or remaining <= 0:
                    return newer, newer[-1].cursor if newer else cursor
                self._changed.wait(remaining)
            if self._stopped:
                return None
            floor = self._floor
        with self._querying:
            entries = read_entries(self.database, EVERYTHING, after=cursor, limit=self.page_size)
        # Nothing after the cursor means nothing up to the floor either (events are kept).
        return entries, entries[-1].cursor if entries else floor

    def _buffered_after(self, cursor: Cursor) -> list[FeedEntry]:
        newer: list[FeedEntry] = []
        for entry in reversed(self._buffer):
            if entry.cursor <= cursor:
                break
            newer.append(entry)
        newer.reverse()
        return newer

    @contextmanager
    def _subscribed(self) -> Iterator[None]:
        with self._changed:
            self._subscribers += 1
            # Only the poller waits for a first subscriber; waking every open stream on
            # each new one made opening the n-th stream cost O(n) (189 ms at 8,000).
            if self._subscribers == 1:
                self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._subscribers -= 1
                last = self._subscribers == 0
            if last:
                with self._querying:  # waits out a poll in flight; none starts after it
                    pass

    def _run(self) -> None:
        while self._wait_for_subscribers():
            try:
                self._poll()
            except Exception:
                log.exception("event feed poll failed; retrying")
            self._stopping.wait(self.poll_seconds)

    def _wait_for_subscribers(self) -> bool:
        with self._changed:
            while not self._stopped and self._subscribers == 0:
                self._fresh_start = True
                self._changed.wait()
            return not self._stopped

    def _poll(self) -> None:
        with self._querying:
            if self._subscribers == 0:
                return
            if self._fresh_start:
                self._restart_at(end_cursor(self.database))
                return
            while True:
                page = read_entries(
                    self.database, EVERYTHING, after=self._head, limit=self.page_size
                )
                self._append(page)
                if len(page) < self.page_size:
                    return

    def _restart_at(self, cursor: Cursor) -> None:
        with self._changed:
            self._buffer.clear()
            self._floor = self._head = cursor
            self._fresh_start = False
            self._changed.notify_all()

    def _append(self, entries: list[FeedEntry]) -> None:
        if not entries:
            return
        with self._changed:
            self._buffer.extend(entries)
            while len(self._buffer) > self._buffer_size:
                self._floor = self._buffer.popleft().cursor
            self._head = entries[-1].cursor
            self._changed.notify_all()


def broadcaster() -> EventBroadcaster:
    """The current app's broadcaster, created and started by the first stream request."""
    extensions = current_app.extensions
    with _creating:
        found = extensions.get(EXTENSION)
        if found is None:
            found = EventBroadcaster(services().database)
            extensions[EXTENSION] = found
            atexit.register(found.stop)
    found.start()
    return found


def stop_broadcaster(app: Flask) -> None:
    """End the app's streams (call before the server drains its requests on shutdown)."""
    found = app.extensions.get(EXTENSION)
    if found is not None:
        found.stop()


def open_stream(
    source: EventBroadcaster,
    actor: Actor,
    wanted: FeedFilter,
    *,
    after: Cursor | None,
    heartbeat_seconds: float,
    still_allowed: Callable[[], bool],
) -> Iterator[str]:
    """The SSE text of `actor`'s stream: from `after`, else only events from now on.

    Access and the starting point are settled here, before any byte is sent, so that
    errors are still problem responses.
    """
    subscription = Subscription(
        after=after if after is not None else source.end_cursor(),
        feed_filter=visible_to(actor, wanted),
        heartbeat_seconds=heartbeat_seconds,
        still_allowed=still_allowed,
    )
    return sse_frames(source, subscription)


def sse_frames(source: EventBroadcaster, subscription: Subscription) -> Iterator[str]:
    # An id-only block names the starting point, so a reconnect resumes there even when
    # no event has arrived yet; it dispatches no event.
    yield f"id: {subscription.after}\n\n"
    for entry in source.follow(subscription):
        yield KEEPALIVE if entry is None else sse_event(entry)


def sse_event(entry: FeedEntry) -> str:
    """One event as SSE: `id` is the cursor to resume from, `data` one line of JSON."""
    data = json.dumps(with_cursor(entry), ensure_ascii=False, separators=(",", ":"))
    return f"id: {entry.cursor}\nevent: {entry.type}\ndata: {data}\n\n"
