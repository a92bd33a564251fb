"""The transactional outbox: each event becomes one pending delivery per subscriber that wants it.

`enqueue` runs in the transaction that records the event, so a change, its event and
its deliveries commit together or not at all. The active subscriptions are read once
per transaction and kept in `session.info`: an import of 400 measures asks once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy.orm import ORMExecuteState, SessionTransaction, UOWTransaction
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from service.models import Delivery, Event, Subscription
from webhooks.events import SubscriptionFilter, build_event, matches

CACHE_KEY = "outbox.active_subscriptions"


@dataclass(frozen=True)
class Subscriber:
    """What the fan-out needs of a subscription, detached from the session."""

    id: int
    filter: SubscriptionFilter


def subscription_filter(subscription: Subscription) -> SubscriptionFilter:
    """The core's filter for a subscription row; ids compare as strings, as events carry them."""
    return SubscriptionFilter(
        event_types=tuple(subscription.event_types),
        units=tuple(str(u) for u in subscription.units),
        documents=tuple(str(d) for d in subscription.documents),
    )


def subscriber(subscription: Subscription) -> Subscriber:
    return Subscriber(id=int(subscription.id), filter=subscription_filter(subscription))


def envelope(event: Event) -> dict[str, Any]:
    """The CloudEvents envelope of a stored event, as subscribers receive it."""
    return build_event(
        event.type,
        event.subject,
        event.data,
        id=event.event_id,
        time=event.time,
        source=event.source,
    )


def message_id(event: Event, subscription_id: int) -> str:
    """The Standard Webhooks `webhook-id`: the same for every send of an event to an endpoint."""
    return f"msg_{event.event_id}_{subscription_id}"


def active_subscribers(session: Session) -> list[Subscriber]:
    """Every active subscription, read once per transaction."""
    cached = session.info.get(CACHE_KEY)
    if cached is None:
        rows = session.exec(
            select(Subscription)
            .where(col(Subscription.active).is_(True))
            .order_by(col(Subscription.id))
        ).all()
        cached = session.info[CACHE_KEY] = [subscriber(row) for row in rows]
    return cached


def enqueue(
    session: Session, event: Event, now: datetime, *, only: Subscription | None = None
) -> list[Delivery]:
    """A pending delivery of a flushed `event` for each active subscription whose filter matches.

    With `only`, that one subscription gets it whatever its filter: a ping, or a replay
    of events the caller has already matched.
    """
    if only is not None:
        targets = [subscriber(only)]
    else:
        wanted = envelope(event)
        targets = [s for s in active_subscribers(session) if matches(s.filter, wanted)]
    deliveries = [
        Delivery(
            subscription_id=target.id,
            event_id=int(event.id),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            msg_id=message_id(event, target.id),
            created_at=now,
        )
        for target in targets
    ]
    session.add_all(deliveries)
    return deliveries


def forget_subscribers(session: OrmSession) -> None:
    session.info.pop(CACHE_KEY, None)


# The cache lives for one transaction and goes as soon as a subscription changes in it,
# whichever code changes it (the API here, the worker disabling an endpoint).
@orm_event.listens_for(OrmSession, "before_flush")
def _subscriptions_flushed(session: OrmSession, _flush: UOWTransaction, _objects: Any) -> None:
    changed: Iterable[object] = (*session.new, *session.dirty, *session.deleted)
    if CACHE_KEY in session.info and any(isinstance(o, Subscription) for o in changed):
        forget_subscribers(session)


@orm_event.listens_for(OrmSession, "do_orm_execute")
def _subscriptions_bulk_changed(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (
        (state.is_update or state.is_delete)
        and mapper is not None
        and mapper.class_ is Subscription
    ):
        forget_subscribers(state.session)


@orm_event.listens_for(OrmSession, "after_transaction_end")
def _transaction_ended(session: OrmSession, transaction: SessionTransaction) -> None:
    # A flush runs in an internal subtransaction; only a real end (or savepoint) counts.
    if transaction.parent is None or transaction.nested:
        forget_subscribers(session)
