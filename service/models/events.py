"""The event log: every change appends one CloudEvents envelope in its own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field, SQLModel

from service.models.types import JSONDocument, UTCDateTime


class Event(SQLModel, table=True):
    """One event; `id` orders the feed and is its cursor."""

    # AUTOINCREMENT on SQLite so that ids are never reused and the feed never goes back.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    event_id: str = Field(max_length=64, unique=True)
    type: str = Field(max_length=64, index=True)
    source: str = Field(max_length=200)
    subject: str = Field(max_length=200)
    time: datetime = Field(sa_type=UTCDateTime)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    document_id: int | None = Field(default=None, foreign_key="document.id")
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDocument)
