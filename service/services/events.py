"""Appending events: every change writes its event in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from service.models import Document, Event, Item, Measure, Unit
from service.models.events import current_txid
from service.services.outbox import enqueue
from webhooks.events import item_data

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
    fan_out: bool = True,
) -> Event:
    """Add one event and its deliveries; they commit (or not) with the change they describe.

    `fan_out=False` leaves the deliveries to the caller (a ping goes to one endpoint only).
    """
    event = Event(
        txid=current_txid(),
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
    session.flush()  # the deliveries refer to the event's id
    if fan_out:
        enqueue(session, event, now)
    return event


def record_item_event(
    session: Session,
    type: str,
    item: Item,
    *,
    now: datetime,
    measure: Measure | None = None,
    document: Document | None = None,
    unit: Unit | None = None,
    **change: Any,
) -> Event:
    """An item's event, with where it sits (document, measure, unit) and what changed."""
    measure = measure or session.get(Measure, item.measure_id)
    document = document or session.get(Document, measure.document_id)
    unit = unit or session.get(Unit, item.unit_id)
    data = item_data(
        item_id=item.id,
        title=measure.title,
        unit_id=unit.id,
        unit_name=unit.name,
        role=item.role,
        document_id=document.id,
        document_title=document.title,
        measure_ref=measure.ref,
        deadline=item.deadline,
        **change,
    )
    return record_event(
        session,
        type,
        f"items/{item.id}",
        data,
        now=now,
        unit_id=unit.id,
        document_id=document.id,
        item_id=item.id,
    )
