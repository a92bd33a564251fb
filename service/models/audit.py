"""The audit trail: who changed what, when, from which state to which, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from service.models.types import JSONDocument, UTCDateTime


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=200)
    actor_role: str = Field(max_length=20)
    entity: str = Field(max_length=20)
    entity_id: int
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    action: str = Field(max_length=40)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    note: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDocument)
