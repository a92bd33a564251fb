"""The delivery log of a subscription, and the ways to owe an endpoint again: test, retry, replay.

Each creates pending `Delivery` rows for the worker; none sends anything itself.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from service.db import Database
from service.errors import Conflict, InvalidInput, NotFound
from service.models import Delivery, DeliveryAttempt, Event
from service.services.audit import Actor
from service.services.events import record_event
from service.services.outbox import enqueue, envelope, subscription_filter
from service.services.subscriptions import audit, load_subscription
from webhooks import events
from webhooks.events import matches

REPLAY_LIMIT = 10_000
REPLAY_BATCH = 1_000
MAX_ROW_ID = 2**63 - 1


def send_test(
    database: Database, subscription_id: int, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    """A `subscription.ping` event owed to this subscription alone."""
    with database.transaction() as session:
        subscription = load_subscription(session, subscription_id)
        if not subscription.active:
            raise Conflict("推送地址已停用，请先启用再测试")
        data = {
            "subscription": {"id": str(subscription.id), "description": subscription.description},
            "actor": {"name": actor.label},
            "note": "推送测试：收到这条消息说明推送地址配置正确",
        }
        event = record_event(
            session,
            events.SUBSCRIPTION_PING,
            f"subscriptions/{subscription.id}",
            data,
            now=now,
            fan_out=False,
        )
        delivery = enqueue(session, event, now, only=subscription)[0]
        session.flush()
        audit(session, actor, subscription, "test", now, delivery_id=delivery.id)
        return delivery_view(delivery, event)


def delivery_view(delivery: Delivery, event: Event) -> dict[str, Any]:
    event_ref = {
        "id": event.event_id,
        "type": event.type,
        "subject": event.subject,
        "time": event.time,
    }
    return {**delivery.model_dump(exclude={"event_id"}), "event": event_ref}


def encode_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}{row_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[:1] != kind or not raw[1:].isascii() or not raw[1:].isdigit():
            raise ValueError
        row_id = int(raw[1:])
        if row_id > MAX_ROW_ID:  # beyond a 64-bit id: the driver cannot even send it
            raise ValueError
        return row_id
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInput("cursor 无效", {"cursor": ["无效的分页游标"]}) from None


def delivery_page(
    database: Database,
    subscription_id: int,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A subscription's deliveries, newest first."""
    with database.reading() as session:
        load_subscription(session, subscription_id)
        query = (
            select(Delivery, Event)
            .join(Event, col(Event.id) == Delivery.event_id)
            .where(Delivery.subscription_id == subscription_id)
        )
        if status:
            query = query.where(Delivery.status == status)
        if cursor:
            query = query.where(col(Delivery.id) < decode_cursor("d", cursor))
        rows = session.exec(query.order_by(col(Delivery.id).desc()).limit(limit + 1)).all()
        page = [delivery_view(d, e) for d, e in rows[:limit]]
    more = len(rows) > limit
    return {"deliveries": page, "next_cursor": encode_cursor("d", page[-1]["id"]) if more else None}


def attempt_page(
    database: Database, subscription_id: int, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The attempt log of a subscription, newest first."""
    with database.reading() as session:
        load_subscription(session, subscription_id)
        query = select(DeliveryAttempt).where(DeliveryAttempt.subscription_id == subscription_id)
        if cursor:
            query = query.where(col(DeliveryAttempt.id) < decode_cursor("a", cursor))
        rows = session.exec(query.order_by(col(DeliveryAttempt.id).desc()).limit(limit + 1)).all()
        page = [a.model_dump() for a in rows[:limit]]
    more = len(rows) > limit
    return {"attempts": page, "next_cursor": encode_cursor("a", page[-1]["id"]) if more else None}


def retry_delivery(
    database: Database, delivery_id: int, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    """Send a failed (or waiting) delivery again now, with a fresh retry budget."""
    with database.transaction() as session:
        delivery = session.exec(
            select(Delivery).where(Delivery.id == delivery_id).with_for_update()
        ).first()
        if delivery is None:
            raise NotFound(f"投递 {delivery_id} 不存在")
        if delivery.status not in ("failed", "pending"):
            raise Conflict(f"投递状态为 {delivery.status}，只能重试失败或待发送的投递")
        delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
        session.add(delivery)
        subscription = load_subscription(session, delivery.subscription_id)
        audit(session, actor, subscription, "retry_delivery", now, delivery_id=delivery.id)
        return delivery_view(delivery, session.get(Event, delivery.event_id))


def replay(
    database: Database,
    subscription_id: int,
    *,
    since: datetime,
    actor: Actor,
    now: datetime,
    limit: int = REPLAY_LIMIT,
) -> dict[str, Any]:
    """Queue again every event since `since` that the subscription wants, in feed order.

    Events already waiting for this subscription are not queued twice. At most `limit`
    are queued per call; `next_since` says where to continue.
    """
    with database.transaction() as session:
        subscription = load_subscription(session, subscription_id, lock=True)
        wanted = subscription_filter(subscription)
        waiting = set(
            session.exec(
                select(Delivery.event_id).where(
                    Delivery.subscription_id == subscription.id, Delivery.status == "pending"
                )
            ).all()
        )
        queued = already_waiting = 0
        next_since = None
        for event in events_since(session, since, wanted.event_types):
            if not matches(wanted, envelope(event)):
                continue
            if event.id in waiting:
                already_waiting += 1
            elif queued == limit:
                next_since = event.time
                break
            else:
                enqueue(session, event, now, only=subscription)
                queued += 1
        summary = {
            "since": since.isoformat(),
            "queued": queued,
            "truncated": next_since is not None,
        }
        audit(session, actor, subscription, "replay", now, **summary)
    return {
        "queued": queued,
        "already_waiting": already_waiting,
        "limit": limit,
        "truncated": next_since is not None,
        "next_since": next_since,
    }


def events_since(session: Session, since: datetime, patterns: tuple[str, ...]) -> Iterator[Event]:
    """Events from `since` on, in feed order (txid, id), read in batches.

    Pings are left out: each was a one-off test of one endpoint.
    """
    query = select(Event).where(
        col(Event.time) >= since, col(Event.type) != events.SUBSCRIPTION_PING
    )
    if patterns and "*" not in patterns:
        query = query.where(
            or_(
                *(
                    col(Event.type).startswith(p[:-1], autoescape=True)
                    if p.endswith(".*")
                    else col(Event.type) == p
                    for p in patterns
                )
            )
        )
    last: tuple[int, int] | None = None
    while True:
        batch = query
        if last is not None:
            batch = batch.where(
                or_(
                    col(Event.txid) > last[0],
                    and_(col(Event.txid) == last[0], col(Event.id) > last[1]),
                )
            )
        rows = session.exec(
            batch.order_by(col(Event.txid), col(Event.id)).limit(REPLAY_BATCH)
        ).all()
        yield from rows
        if len(rows) < REPLAY_BATCH:
            return
        last = (rows[-1].txid, int(rows[-1].id))
