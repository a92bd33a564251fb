"""Audit records: who changed what, written in the transaction of the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from service.models import AuditRecord


@dataclass(frozen=True)
class Actor:
    """Who is acting: an API token's holder, or an operator at the command line."""

    label: str
    role: str
    unit_id: int | None = None
    token_id: int | None = None


CLI_ACTOR = Actor(label="命令行", role="admin")


def record_audit(
    session: Session,
    actor: Actor,
    entity: str,
    entity_id: int | None,
    action: str,
    *,
    now: datetime,
    item_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    record = AuditRecord(
        at=now,
        actor=actor.label,
        actor_role=actor.role,
        entity=entity,
        entity_id=entity_id or 0,
        item_id=item_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        details=details or {},
    )
    session.add(record)
    return record
