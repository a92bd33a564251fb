"""Webhook subscriptions and the transactional outbox of deliveries.

A delivery row is written for each (event × matching subscription) in the same
transaction as the event, so a committed change can never miss its subscribers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from service.models.types import JSONDocument, UTCDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Subscription(SQLModel, table=True):
    """An endpoint (OA system or chat robot) and the events it wants."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    format: str = Field(max_length=16)
    description: str = Field(default="", max_length=200)
    # Valid signing secrets, newest first: [{"secret": "...", "expires_at": iso | null}].
    # During a rotation the old one stays valid until its expiry.
    secrets: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDocument)
    event_types: list[str] = Field(default_factory=list, sa_type=JSONDocument)
    units: list[int] = Field(default_factory=list, sa_type=JSONDocument)
    documents: list[int] = Field(default_factory=list, sa_type=JSONDocument)
    rate_limit_per_minute: int | None = None
    digest: bool | None = None
    active: bool = Field(default=True, index=True)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=500)
    # Start of the current failure streak; a success clears it.
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # No sends before this moment: a rate-limit slot or a robot's block.
    paused_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # One worker at a time sends to an endpoint, so its rate limit holds across workers.
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One event owed to one subscription: pending until delivered or failed."""

    __table_args__ = (
        Index(
            "ix_delivery_subscription_status_due", "subscription_id", "status", "next_attempt_at"
        ),
        Index("ix_delivery_status_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    subscription_id: int = Field(foreign_key="subscription.id")
    event_id: int = Field(
        sa_column=Column(BigId, ForeignKey("event.id"), nullable=False, index=True)
    )
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    # The Standard Webhooks `webhook-id`: the same across retries of one message.
    msg_id: str = Field(max_length=100)
    last_attempt_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("delivery_attempt.id"), nullable=True)
    )
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    """One POST to an endpoint, carrying one event or a digest of several."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (
        Index("ix_delivery_attempt_subscription_time", "subscription_id", "attempted_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    subscription_id: int = Field(foreign_key="subscription.id")
    msg_id: str = Field(max_length=100)
    event_count: int
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    latency_ms: int = 0
    outcome: str = Field(max_length=16)
    reason: str = Field(default="", max_length=500)
    response_excerpt: str = Field(default="", max_length=2048)
