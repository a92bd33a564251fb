"""Imported policy documents and the measures found in them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from service.models.types import JSONDocument, UTCDateTime


class Document(SQLModel, table=True):
    """A policy document (若干意见, 行动计划, 实施方案) as last imported."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=500)
    title_key: str = Field(max_length=500, index=True)
    filename: str | None = Field(default=None, max_length=255)
    content_hash: str = Field(max_length=64, index=True)
    text: str
    period_start: int | None = None
    period_end: int | None = None
    lead_rule: str | None = Field(default=None, max_length=200)
    default_deadline: date | None = None
    revision: int = 1
    # The supervising office's reminder settings for this document (offsets, overdue
    # cadence, progress-report cadence); None means the global defaults.
    reminder_policy: dict[str, Any] | None = Field(default=None, sa_type=JSONDocument)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Measure(SQLModel, table=True):
    """One measure (措施/任务) of a document, at its place in the outline."""

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    position: int
    ref: str = Field(max_length=100)
    title: str = Field(max_length=500)
    text: str
    deadline: date | None = None
    deadline_source: str | None = Field(default=None, max_length=50)
    recurrence: str | None = Field(default=None, max_length=20)
    # 按职责分工负责: a joint list with no lead unit.
    joint: bool = False
    # A later revision of the document dropped this measure; its items keep their history.
    withdrawn: bool = False


class Target(SQLModel, table=True):
    """A numeric target of a measure ("不少于150个"), for progress reports against it."""

    id: int | None = Field(default=None, primary_key=True)
    measure_id: int = Field(foreign_key="measure.id", index=True)
    position: int
    text: str = Field(max_length=500)
    value: float
    unit: str = Field(default="", max_length=20)
    comparator: str = Field(max_length=2)
