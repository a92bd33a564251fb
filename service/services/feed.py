"""The event feed: every committed event exactly once, in an order no late commit slips behind.

The order is (`txid`, `id`): the writing transaction first, then the row. On PostgreSQL
ids come from a sequence before commit, so a reader that followed ids alone could pass
an id whose transaction commits later. The feed therefore serves only events of
transactions older than the oldest one still running (the snapshot's xmin): those are
all finished, and every transaction still to commit has a larger txid than any event
served. A long-open write transaction holds the feed back until it ends. On SQLite
writes are serial (BEGIN IMMEDIATE), `txid` is 0 and AUTOINCREMENT ids never go back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import literal_column, or_, tuple_
from sqlmodel import col, select

from service.db import Database
from service.errors import Forbidden
from service.models import Event
from service.services.audit import Actor
from webhooks.events import build_event, type_matches

MAX_BIGINT = 2**63 - 1
CURSOR_FORMAT = re.compile(r"^(\d{1,19})-(\d{1,19})$")
# Every transaction below this id has finished: its events are all committed or gone.
SNAPSHOT_XMIN = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the feed: just after the event (`txid`, `id`)."""

    txid: int
    id: int

    def __str__(self) -> str:
        return f"{self.txid}-{self.id}"


START = Cursor(0, 0)


def parse_cursor(text: str) -> Cursor:
    """Read an opaque `<txid>-<id>` cursor; ValueError if it is not one."""
    match = CURSOR_FORMAT.match(text)
    if match is None:
        raise ValueError(f"not a feed cursor: {text!r}")
    txid, row_id = int(match[1]), int(match[2])
    if txid > MAX_BIGINT or row_id > MAX_BIGINT:
        raise ValueError(f"feed cursor out of range: {text!r}")
    return Cursor(txid, row_id)


@dataclass(frozen=True)
class FeedEntry:
    """One event of the feed: its CloudEvents envelope, its cursor, and what filters read."""

    cursor: Cursor
    type: str
    unit_id: int | None
    envelope: dict[str, Any]


@dataclass(frozen=True)
class FeedFilter:
    """Which events a reader wants: type patterns (`item.*`, `*`, exact; none = all), one unit."""

    types: tuple[str, ...] = ()
    unit: int | None = None

    def admits(self, entry: FeedEntry) -> bool:
        """The same test as `where`, for events already in memory."""
        if self.types and not any(type_matches(p, entry.type) for p in self.types):
            return False
        return self.unit is None or entry.unit_id == self.unit

    def where(self, query: Any) -> Any:
        if self.types and "*" not in self.types:
            exact = [p for p in self.types if not p.endswith(".*")]
            conditions = [col(Event.type).in_(exact)] if exact else []
            conditions += [
                col(Event.type).startswith(p[:-1], autoescape=True)  # `item.*` → `item.%`
                for p in self.types
                if p.endswith(".*")
            ]
            query = query.where(or_(*conditions))
        if self.unit is not None:
            query = query.where(Event.unit_id == self.unit)
        return query


EVERYTHING = FeedFilter()


def visible_to(actor: Actor, wanted: FeedFilter) -> FeedFilter:
    """The filter `actor` may read: staff only ever see their own unit's events.

    Events of no unit (a document import, a disabled subscription) are not theirs either.
    """
    if actor.role != "staff":
        return wanted
    if wanted.unit is not None and wanted.unit != actor.unit_id:
        raise Forbidden("只能查看本单位的事件", {"unit": ["只能指定本单位"]})
    return replace(wanted, unit=actor.unit_id)


def read_entries(
    database: Database, feed_filter: FeedFilter, *, after: Cursor, limit: int
) -> list[FeedEntry]:
    """Up to `limit` events after `after` in feed order, with one query."""
    query = select(Event).where(
        tuple_(col(Event.txid), col(Event.id)) > tuple_(after.txid, after.id)
    )
    if database.backend == "postgresql":
        query = query.where(col(Event.txid) < SNAPSHOT_XMIN)
    query = feed_filter.where(query).order_by(col(Event.txid), col(Event.id)).limit(limit)
    with database.reading() as session:
        return [entry(row) for row in session.exec(query).all()]


def entry(row: Event) -> FeedEntry:
    envelope = build_event(
        row.type, row.subject, row.data, id=row.event_id, time=row.time, source=row.source
    )
    return FeedEntry(Cursor(row.txid, int(row.id or 0)), row.type, row.unit_id, envelope)


def with_cursor(entry: FeedEntry) -> dict[str, Any]:
    """The envelope with its cursor as a CloudEvents extension attribute."""
    return {**entry.envelope, "cursor": str(entry.cursor)}


def feed_page(
    database: Database, actor: Actor, wanted: FeedFilter, *, after: Cursor, limit: int
) -> dict[str, Any]:
    """A page of the events `actor` may see; `next_cursor` resumes after the last one."""
    entries = read_entries(database, visible_to(actor, wanted), after=after, limit=limit)
    next_cursor = entries[-1].cursor if entries else after
    return {"events": [with_cursor(e) for e in entries], "next_cursor": str(next_cursor)}


def end_cursor(database: Database) -> Cursor:
    """The cursor after the newest event served today: following it yields only new events."""
    query = select(Event.txid, Event.id)
    if database.backend == "postgresql":
        query = query.where(col(Event.txid) < SNAPSHOT_XMIN)
    query = query.order_by(col(Event.txid).desc(), col(Event.id).desc()).limit(1)
    with database.reading() as session:
        newest = session.exec(query).first()
    return START if newest is None else Cursor(newest[0], int(newest[1] or 0))
