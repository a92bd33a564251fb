"""The event log: every change appends one CloudEvents envelope in its own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Field, SQLModel

from service.models.types import JSONDocument, UTCDateTime


class current_txid(FunctionElement[int]):
    """The writing transaction's id on PostgreSQL; 0 on SQLite, where writes are serial."""

    type = BigInteger()
    inherit_cache = True


@compiles(current_txid)
def _serial_txid(element: current_txid, compiler: SQLCompiler, **kw: Any) -> str:
    return "0"


@compiles(current_txid, "postgresql")
def _postgresql_txid(element: current_txid, compiler: SQLCompiler, **kw: Any) -> str:
    return "pg_current_xact_id()::text::bigint"


class Event(SQLModel, table=True):
    """One event; (`txid`, `id`) orders the feed and is its cursor.

    On PostgreSQL ids come from a sequence before commit, so transactions can commit
    out of id order; ordering by the writing transaction first, and serving only
    transactions older than every running one, gives an order no late commit can
    slip behind. On SQLite writes are serial and AUTOINCREMENT ids never go back.
    """

    __table_args__ = (Index("ix_event_txid_id", "txid", "id"), {"sqlite_autoincrement": True})

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    txid: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_id: str = Field(max_length=64, unique=True)
    type: str = Field(max_length=64, index=True)
    source: str = Field(max_length=200)
    subject: str = Field(max_length=200)
    time: datetime = Field(sa_type=UTCDateTime)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    document_id: int | None = Field(default=None, foreign_key="document.id")
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDocument)
