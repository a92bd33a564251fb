"""Reading the audit trail (supervisors): newest first, cursor pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from service.db import Database
from service.models import AuditRecord


def audit_page(
    database: Database,
    *,
    item_id: int | None,
    entity: str | None,
    since: datetime | None,
    before_id: int | None,
    limit: int,
) -> dict[str, Any]:
    query = select(AuditRecord)
    if item_id is not None:
        query = query.where(AuditRecord.item_id == item_id)
    if entity is not None:
        query = query.where(AuditRecord.entity == entity)
    if since is not None:
        query = query.where(col(AuditRecord.at) >= since)
    if before_id is not None:
        query = query.where(col(AuditRecord.id) < before_id)
    with database.reading() as session:
        rows = session.exec(query.order_by(col(AuditRecord.id).desc()).limit(limit + 1)).all()
        records = [r.model_dump() for r in rows[:limit]]
    return {"records": records, "next_before": records[-1]["id"] if len(rows) > limit else None}
