"""Appending events: every change writes its event in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from service.models import Event

SOURCE = "/duban-checklists"


def record_event(
    session: Session,
    type: str,
    subject: str,
    data: dict[str, Any],
    *,
    now: datetime,
    unit_id: int | None = None,
    document_id: int | None = None,
    item_id: int | None = None,
) -> Event:
    """Add one event to the session; it commits (or not) with the change it describes."""
    event = Event(
        event_id=str(uuid.uuid4()),
        type=type,
        source=SOURCE,
        subject=subject,
        time=now,
        data=data,
        unit_id=unit_id,
        document_id=document_id,
        item_id=item_id,
    )
    session.add(event)
    return event
