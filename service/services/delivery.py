"""Webhook delivery, database side: claim endpoints, plan their messages, record attempts.

Each function is one short transaction; the worker makes the HTTP calls between them,
so no transaction stays open while a receiver is slow. One worker at a time holds an
endpoint's lease, which is what makes its rate limit hold across all workers. A worker
that dies mid-delivery leaves its deliveries pending and its lease to expire: another
worker sends them again (at least once; receivers dedupe by event id or webhook-id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, exists, func, or_, select, update

from service.config import Config
from service.db import Database
from service.models import Delivery, DeliveryAttempt, Event, Subscription
from service.services.events import record_event
from service.services.outbox import envelope
from service.services.subscriptions import signing_secrets
from webhooks.events import SUBSCRIPTION_DISABLED
from webhooks.ratelimit import (
    SKEW,
    DigestMode,
    EndpointPolicy,
    allowance,
    plan_messages,
    policy_for,
)
from webhooks.retry import (
    DEFAULT_POLICY,
    DISABLE_AFTER,
    Outcome,
    Random,
    RetryPolicy,
    Verdict,
    failing_since,
    next_attempt_at,
    should_disable,
)
from webhooks.transport import Attempt

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
RATE_LIMITED = "rate_limited"
DEFAULT_LEASE = timedelta(seconds=60)
CLAIM_LIMIT = 10
# One pass over an endpoint sends at most this many messages before others get a turn.
MAX_MESSAGES_PER_PASS = 50
MAX_LOADED = 500
# A "slow down" answer that does not say for how long pauses the endpoint this long.
RATE_LIMIT_PAUSE = timedelta(minutes=1)
# A receiver cannot make the worker hammer it (Retry-After: 0) or park it for a year.
MIN_PAUSE = timedelta(seconds=5)
REASON_CHARS = 500
EXCERPT_CHARS = 2048
# Row locks that still let other transactions add deliveries referring to the row.
ROW_LOCK = {"key_share": True}

Waiting = tuple[Delivery, Event]


@dataclass(frozen=True)
class DeliverySettings:
    """The configured retry schedule, the auto-disable threshold and the lease length."""

    retry: RetryPolicy = DEFAULT_POLICY
    disable_after: timedelta = DISABLE_AFTER
    lease: timedelta = DEFAULT_LEASE

    @classmethod
    def from_config(cls, config: Config) -> DeliverySettings:
        return cls(
            retry=RetryPolicy(schedule=config.retry_schedule),
            disable_after=timedelta(days=config.webhook_disable_after_days),
        )


@dataclass(frozen=True)
class Endpoint:
    """What the worker needs to reach a subscription: URL, format, secrets valid now."""

    subscription_id: int
    url: str
    format: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    """One request's worth of deliveries: one event, or a digest of several."""

    msg_id: str
    delivery_ids: tuple[int, ...]
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Plan:
    """What one pass sends to one endpoint (nothing when it has no free slot)."""

    endpoint: Endpoint
    messages: list[Message]


@dataclass(frozen=True)
class Recorded:
    """What an attempt did to its deliveries, and whether the endpoint may get more now."""

    outcome: str
    keep_going: bool


def _due(now: datetime) -> ColumnElement[bool]:
    return (
        (Delivery.subscription_id == Subscription.id)
        & (col(Delivery.status) == PENDING)
        & (col(Delivery.next_attempt_at) <= now)
    )


def claim(
    database: Database,
    worker_id: str,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = CLAIM_LIMIT,
) -> list[int]:
    """Lease up to `limit` active, unpaused, unleased subscriptions that have due deliveries.

    The endpoint waiting longest comes first. On PostgreSQL `FOR NO KEY UPDATE SKIP
    LOCKED` keeps concurrent workers off each other's rows (the NO KEY form does not
    wait for transactions that are adding deliveries to an endpoint); SQLite writers
    are serial anyway. A lease this worker still holds counts as free: it is left over
    from a pass the database dropped out of (so the release failed too), and would
    otherwise keep the worker off its own endpoint until the lease ran out.
    """
    oldest_due = select(func.min(Delivery.next_attempt_at)).where(_due(now)).scalar_subquery()
    query = (
        select(Subscription)
        .where(
            col(Subscription.active).is_(True),
            or_(col(Subscription.paused_until).is_(None), col(Subscription.paused_until) <= now),
            or_(
                col(Subscription.lease_until).is_(None),
                col(Subscription.lease_until) <= now,
                col(Subscription.lease_owner) == worker_id,
            ),
            exists().where(_due(now)),
        )
        .order_by(oldest_due, col(Subscription.id))
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )
    with database.transaction() as session:
        subscriptions = session.exec(query).all()
        for subscription in subscriptions:
            subscription.lease_owner = worker_id
            subscription.lease_until = now + lease
        return [s.id for s in subscriptions]


def release(database: Database, subscription_id: int, worker_id: str) -> None:
    """Give up the lease, if this worker still holds it."""
    with database.transaction() as session:
        session.exec(
            update(Subscription)
            .where(col(Subscription.id) == subscription_id, Subscription.lease_owner == worker_id)
            .values(lease_owner=None, lease_until=None)
        )


def _held(
    session: Session, subscription_id: int, worker_id: str, now: datetime
) -> Subscription | None:
    subscription = session.get(Subscription, subscription_id, with_for_update=ROW_LOCK)
    if subscription is None or not subscription.active:
        return None
    if subscription.lease_owner != worker_id or not subscription.lease_until:
        return None
    return subscription if subscription.lease_until > now else None


def next_messages(
    database: Database,
    subscription_id: int,
    worker_id: str,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
) -> Plan | None:
    """The messages a leased subscription may be sent now, within its rate limit.

    None when the lease is no longer this worker's. With no free slot, the
    subscription is paused until the next one and the plan is empty.
    """
    with database.transaction() as session:
        subscription = _held(session, subscription_id, worker_id, now)
        if subscription is None:
            return None
        policy = policy_for(
            subscription.format, subscription.rate_limit_per_minute, subscription.digest
        )
        room = allowance(policy, _recent_sends(session, subscription_id, policy, now), now)
        endpoint = _endpoint(subscription, now)
        if not room.available:
            subscription.paused_until = room.next_slot_at
            return Plan(endpoint, [])
        slots = min(room.available, MAX_MESSAGES_PER_PASS)
        per_message = 1 if policy.digest is DigestMode.NEVER else policy.max_per_message
        waiting = _waiting(session, subscription_id, now, min(slots * per_message, MAX_LOADED))
        subscription.lease_until = now + lease
        return Plan(endpoint, [_message(group) for group in group_messages(waiting, slots, policy)])


def _recent_sends(
    session: Session, subscription_id: int, policy: EndpointPolicy, now: datetime
) -> list[datetime]:
    """Times of this endpoint's attempts inside its longest window: shared by all workers."""
    if not policy.windows:
        return []
    since = now - max(window.period for window in policy.windows) - SKEW
    query = select(DeliveryAttempt.attempted_at).where(
        DeliveryAttempt.subscription_id == subscription_id,
        col(DeliveryAttempt.attempted_at) > since,
    )
    return list(session.exec(query).all())


def _waiting(session: Session, subscription_id: int, now: datetime, limit: int) -> list[Waiting]:
    query = (
        select(Delivery, Event)
        .join(Event, col(Event.id) == Delivery.event_id)
        .where(
            Delivery.subscription_id == subscription_id,
            col(Delivery.status) == PENDING,
            col(Delivery.next_attempt_at) <= now,
        )
        .order_by(col(Event.txid), col(Event.id))
        .limit(limit)
    )
    return [(delivery, event) for delivery, event in session.exec(query).all()]


def group_messages(
    waiting: Sequence[Waiting], slots: int, policy: EndpointPolicy
) -> list[list[Waiting]]:
    """Deliveries grouped into at most `slots` messages, oldest first.

    When the endpoint digests (always, or because more wait than slots allow), each
    unit gets one digest per pass, so a robot's readers see their own unit's list.
    """
    limited = policy.digest is DigestMode.WHEN_LIMITED and len(waiting) > slots
    if policy.digest is not DigestMode.ALWAYS and not limited:
        return plan_messages(waiting, slots, policy)
    by_unit: dict[int | None, list[Waiting]] = {}
    for row in waiting:
        by_unit.setdefault(row[1].unit_id, []).append(row)
    one_digest = replace(policy, digest=DigestMode.ALWAYS)
    return [plan_messages(group, 1, one_digest)[0] for group in list(by_unit.values())[:slots]]


def digest_msg_id(member_ids: Sequence[str]) -> str:
    """A digest's webhook-id: derived from its members, so a retry of it keeps the id."""
    digest = hashlib.sha256("\n".join(sorted(member_ids)).encode()).hexdigest()
    return f"msg_digest_{digest[:32]}"


def _message(group: Sequence[Waiting]) -> Message:
    deliveries = [delivery for delivery, _ in group]
    msg_id = (
        deliveries[0].msg_id if len(group) == 1 else digest_msg_id([d.msg_id for d in deliveries])
    )
    return Message(
        msg_id=msg_id,
        delivery_ids=tuple(d.id for d in deliveries),
        events=tuple(envelope(event) for _, event in group),
    )


def _endpoint(subscription: Subscription, now: datetime) -> Endpoint:
    return Endpoint(
        subscription_id=subscription.id,
        url=subscription.url,
        format=subscription.format,
        secrets=tuple(signing_secrets(subscription, now)),
    )


class _Drawn:
    """One random draw shared by a message's deliveries, so a digest retries together."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def record(
    database: Database,
    endpoint: Endpoint,
    message: Message,
    attempt: Attempt,
    verdict: Verdict,
    *,
    worker_id: str,
    now: datetime,
    rng: Random,
    settings: DeliverySettings,
) -> Recorded:
    """Store one attempt and settle its deliveries; disable an endpoint failing too long.

    A rate-limited answer costs no attempt: the whole endpoint pauses instead.
    """
    with database.transaction() as session:
        subscription = session.get(Subscription, endpoint.subscription_id, with_for_update=ROW_LOCK)
        if subscription is None:  # deleted meanwhile, with its deliveries and log
            return Recorded("deleted", keep_going=False)
        row = _attempt_row(endpoint, message, attempt, verdict, now)
        session.add(row)
        session.flush()
        deliveries = session.exec(
            select(Delivery).where(
                col(Delivery.id).in_(message.delivery_ids), col(Delivery.status) == PENDING
            )
        ).all()
        if verdict.rate_limited:
            asked = RATE_LIMIT_PAUSE if verdict.retry_after is None else verdict.retry_after
            pause = min(max(asked, MIN_PAUSE), settings.retry.max_retry_after)
            outcome = _pause(subscription, deliveries, row, now + pause)
        else:
            outcome = _settle(deliveries, row, verdict, now, _Drawn(rng.random()), settings.retry)
        # "Slow down" proves the endpoint alive: it neither starts nor ends a failure streak.
        if not verdict.rate_limited:
            subscription.failing_since = failing_since(
                subscription.failing_since, verdict.outcome, now
            )
        if (
            subscription.active
            and not verdict.rate_limited
            and should_disable(subscription.failing_since, now, settings.disable_after)
        ):
            disable(session, subscription, verdict, now, settings.disable_after)
        held = subscription.active and subscription.lease_owner == worker_id
        if held:
            subscription.lease_until = now + settings.lease
        return Recorded(outcome, keep_going=held and not verdict.rate_limited)


def _attempt_outcome(verdict: Verdict) -> str:
    return RATE_LIMITED if verdict.rate_limited else verdict.outcome.value


def _attempt_row(
    endpoint: Endpoint, message: Message, attempt: Attempt, verdict: Verdict, now: datetime
) -> DeliveryAttempt:
    # PostgreSQL text cannot hold NUL, and a receiver may answer anything.
    excerpt = attempt.excerpt.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return DeliveryAttempt(
        subscription_id=endpoint.subscription_id,
        msg_id=message.msg_id,
        event_count=len(message.delivery_ids),
        attempted_at=now,
        status_code=attempt.status,
        latency_ms=round(attempt.latency_s * 1000),
        outcome=_attempt_outcome(verdict),
        reason=verdict.reason[:REASON_CHARS],
        response_excerpt=excerpt[:EXCERPT_CHARS],
    )


def _pause(
    subscription: Subscription,
    deliveries: Sequence[Delivery],
    row: DeliveryAttempt,
    until: datetime,
) -> str:
    subscription.paused_until = max(until, subscription.paused_until or until)
    for delivery in deliveries:
        delivery.last_attempt_id = row.id
        delivery.last_error = row.reason
        delivery.next_attempt_at = max(delivery.next_attempt_at, until)
    return RATE_LIMITED


def _settle(
    deliveries: Sequence[Delivery],
    row: DeliveryAttempt,
    verdict: Verdict,
    now: datetime,
    rng: Random,
    policy: RetryPolicy,
) -> str:
    """Delivered, scheduled again, or failed (permanent, or out of tries)."""
    for delivery in deliveries:
        delivery.attempts += 1
        delivery.last_attempt_id = row.id
        delivery.last_error = None if verdict.outcome is Outcome.DELIVERED else row.reason
        if verdict.outcome is Outcome.DELIVERED:
            delivery.status, delivery.delivered_at = DELIVERED, now
            continue
        again = None
        if verdict.outcome is Outcome.RETRY:
            again = next_attempt_at(delivery.attempts, now, rng, verdict.retry_after, policy)
        delivery.status = PENDING if again else FAILED
        delivery.next_attempt_at = again or delivery.next_attempt_at
    if verdict.outcome is Outcome.DELIVERED or not deliveries:
        return verdict.outcome.value
    return "retry" if any(d.status == PENDING for d in deliveries) else FAILED


def disable(
    session: Session,
    subscription: Subscription,
    verdict: Verdict,
    now: datetime,
    after: timedelta,
) -> Event:
    """Deactivate an endpoint that has not accepted anything for `after`, and say so."""
    note = f"连续 {after.days} 天推送均未成功，已自动停用。最近一次：{verdict.reason}"
    subscription.active = False
    subscription.disabled_at = now
    subscription.disabled_reason = note[:REASON_CHARS]
    subscription.lease_owner = subscription.lease_until = None
    data = {
        "subscription": {
            "id": str(subscription.id),
            "description": subscription.description,
            "format": subscription.format,
        },
        "reason": "failing",
        "failing_since": subscription.failing_since.isoformat(),
        "note": subscription.disabled_reason,
    }
    return record_event(
        session, SUBSCRIPTION_DISABLED, f"subscriptions/{subscription.id}", data, now=now
    )
