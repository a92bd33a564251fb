"""Reminders already sent (the exactly-once ledger) and the clock's lease."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.models.types import UTCDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Reminder(SQLModel, table=True):
    """One reminder step for one item; the unique key makes each step happen once.

    The key holds the deadline and the unit it was computed for, so an extension or a
    reassignment gives the new deadline or unit its own steps.
    """

    __table_args__ = (
        UniqueConstraint("item_id", "kind", "step", "deadline", "unit_id", name="uq_reminder_key"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    item_id: int = Field(foreign_key="item.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    kind: str = Field(max_length=32)
    step: str = Field(max_length=32)
    deadline: date
    due_at: datetime = Field(sa_type=UTCDateTime)
    # "sent", or "superseded" when a later step of the same kind was due as well
    # (a clock that was down sends the latest news once, not a burst of stale ones).
    status: str = Field(default="sent", max_length=16)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    event_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("event.id"), nullable=True)
    )


class Lease(SQLModel, table=True):
    """A named lease with expiry: only its holder runs the singleton it guards (the clock)."""

    name: str = Field(primary_key=True, max_length=50)
    owner: str = Field(max_length=200)
    acquired_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
