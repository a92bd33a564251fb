"""Checklist items: one per (measure, responsible unit, period)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.models.types import JSONDocument, UTCDateTime


class Item(SQLModel, table=True):
    """What one unit owes for one measure, and how far it has got."""

    __table_args__ = (
        UniqueConstraint("measure_id", "unit_id", "period", name="uq_item_measure_unit_period"),
        Index("ix_item_status_deadline", "status", "deadline"),
        Index("ix_item_unit_status", "unit_id", "status"),
        # A unit's items in id order: a staff member's pages stop after one page of rows.
        Index("ix_item_unit_id_id", "unit_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    measure_id: int = Field(foreign_key="measure.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    role: str = Field(max_length=10)
    implicit: bool = False
    # "" for a one-off item, else the period label of a recurring one ("2026", "2026-Q2").
    period: str = Field(default="", max_length=10)
    status: str = Field(default="assigned", max_length=20)
    deadline: date | None = None
    # The deadline as first assigned: on-time figures are measured against it.
    original_deadline: date | None = None
    assigned_on: date
    percent: float = 0
    # Latest reported value per numeric target, keyed by target id.
    target_values: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDocument)
    # 延期申请: a unit asked for a later deadline; the supervisor has not answered yet.
    extension_pending: bool = False
    requested_deadline: date | None = None
    last_progress_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_progress_note: str | None = None
    # When the clock next has something to send about this item; None when nothing is
    # pending. Indexed, so a sweep reads only the due items, whatever the total.
    next_reminder_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # Bumped on every change; the HTTP ETag, so concurrent edits cannot overwrite each other.
    version: int = 1
    # The revision that dropped this unit from the measure; the item keeps its history.
    withdrawn: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
