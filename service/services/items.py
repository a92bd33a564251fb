"""Checklist items: listing with filters, detail with history, and workflow transitions."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from checklists import workflow
from checklists.periods import next_period
from checklists.status import colour, days_overdue, measure_state
from checklists.workflow import Action, ItemState, Payload, Status
from service.db import Database
from service.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from service.models import AuditRecord, Document, Item, Measure, Target, Unit
from service.services.audit import Actor, record_audit
from service.services.events import record_item_event
from service.services.reminders import replan
from webhooks import events

# Item ids are integers; a cursor naming a larger one is refused before any query.
MAX_ITEM_ID = 2**31 - 1

# The event each workflow action emits.
EVENT_FOR_ACTION: dict[Action, str] = {
    Action.ACKNOWLEDGE: events.ITEM_ACKNOWLEDGED,
    Action.START: events.ITEM_STARTED,
    Action.REPORT_PROGRESS: events.ITEM_PROGRESS_REPORTED,
    Action.SUBMIT: events.ITEM_SUBMITTED,
    Action.APPROVE: events.ITEM_APPROVED,
    Action.REJECT: events.ITEM_REJECTED,
    Action.RETURN: events.ITEM_RETURNED,
    Action.INSIST: events.ITEM_INSISTED,
    Action.REASSIGN: events.ITEM_REASSIGNED,
    Action.REQUEST_EXTENSION: events.ITEM_EXTENSION_REQUESTED,
    Action.GRANT_EXTENSION: events.ITEM_EXTENSION_GRANTED,
    Action.DENY_EXTENSION: events.ITEM_EXTENSION_DENIED,
    Action.CHANGE_DEADLINE: events.ITEM_DEADLINE_CHANGED,
    Action.WAIVE: events.ITEM_WAIVED,
    Action.REOPEN: events.ITEM_REOPENED,
}


@dataclass(frozen=True)
class ItemFilters:
    unit: int | None = None
    document: int | None = None
    status: tuple[str, ...] = ()
    due_before: date | None = None
    overdue: bool | None = None
    q: str | None = None


def etag(item: Item) -> str:
    return f'"{item.id}-{item.version}"'


def workflow_actor(actor: Actor) -> workflow.Actor:
    return workflow.Actor(role=workflow.Role(actor.role), unit_id=actor.unit_id)


def state_of(item: Item, targets: list[Target]) -> ItemState:
    return ItemState(
        status=Status(item.status),
        unit_id=item.unit_id,
        deadline=item.deadline,
        original_deadline=item.original_deadline,
        assigned_on=item.assigned_on,
        targets={t.id: t.value for t in targets},
        values={int(k): v for k, v in item.target_values.items()},
        percent=item.percent,
        extension_pending=item.extension_pending,
        requested_deadline=item.requested_deadline,
    )


def encode_cursor(item_id: int) -> str:
    return base64.urlsafe_b64encode(f"i{item_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[:1] != "i" or not raw[1:].isdigit() or int(raw[1:]) > MAX_ITEM_ID:
            raise ValueError
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInput("cursor 无效", {"cursor": ["无效的分页游标"]}) from None


def list_items(
    database: Database,
    actor: Actor,
    filters: ItemFilters,
    *,
    cursor: str | None,
    limit: int,
    today: date,
) -> dict[str, Any]:
    """A page of items in id order; staff only ever see their own unit's."""
    with database.reading() as session:
        query = (
            select(Item, Measure, Document, Unit)
            .join(Measure, col(Measure.id) == Item.measure_id)
            .join(Document, col(Document.id) == Measure.document_id)
            .join(Unit, col(Unit.id) == Item.unit_id)
            .where(col(Item.withdrawn).is_(False))
            # A page shows neither text: reading (and sorting) them costs more than the rest.
            .options(defer(Measure.text), defer(Document.text))
        )
        query = apply_filters(query, actor, filters, today)
        if cursor:
            query = query.where(col(Item.id) > decode_cursor(cursor))
        rows = session.exec(query.order_by(col(Item.id)).limit(limit + 1)).all()
        page = rows[:limit]
        targets = targets_by_measure(session, {m.id for _i, m, _d, _u in page})
        items = [summary(i, m, d, u, targets.get(m.id, []), today) for i, m, d, u in page]
    next_cursor = encode_cursor(items[-1]["id"]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


def apply_filters(query: Any, actor: Actor, filters: ItemFilters, today: date) -> Any:
    if actor.role == "staff":
        query = query.where(Item.unit_id == actor.unit_id)
    if filters.unit is not None:
        query = query.where(Item.unit_id == filters.unit)
    if filters.document is not None:
        query = query.where(Measure.document_id == filters.document)
    if filters.status:
        query = query.where(col(Item.status).in_(filters.status))
    if filters.due_before is not None:
        query = query.where(col(Item.deadline) < filters.due_before)
    if filters.overdue is not None:
        open_statuses = [s.value for s in workflow.OPEN]
        overdue = col(Item.deadline) < today
        condition = overdue & col(Item.status).in_(open_statuses)
        query = query.where(condition if filters.overdue else ~condition | (Item.deadline == None))  # noqa: E711
    if filters.q:
        # `%` and `_` in the search text are characters to find, not LIKE wildcards.
        searched = (col(Measure.title), col(Measure.text), col(Unit.name), col(Document.title))
        query = query.where(or_(*(c.contains(filters.q, autoescape=True) for c in searched)))
    return query


def targets_by_measure(session: Session, measure_ids: set[int]) -> dict[int, list[Target]]:
    grouped: dict[int, list[Target]] = {}
    rows = session.exec(
        select(Target).where(col(Target.measure_id).in_(measure_ids)).order_by(Target.position)
    ).all()
    for target in rows:
        grouped.setdefault(target.measure_id, []).append(target)
    return grouped


def summary(
    item: Item,
    measure: Measure,
    document: Document,
    unit: Unit,
    targets: list[Target],
    today: date,
) -> dict[str, Any]:
    state = state_of(item, targets)
    late = days_overdue(item.deadline, today)
    return {
        **item.model_dump(),
        "etag": etag(item),
        "colour": colour(state, today).value,
        "days_overdue": late.calendar if item.status not in ("approved", "waived") else 0,
        "unit": {"id": unit.id, "name": unit.name, "is_group": unit.is_group},
        "document": {"id": document.id, "title": document.title},
        "measure": {
            "id": measure.id,
            "ref": measure.ref,
            "title": measure.title,
            "recurrence": measure.recurrence,
        },
    }


def load_item(session: Session, actor: Actor, item_id: int, *, lock: bool = False) -> Item:
    query = select(Item).where(Item.id == item_id)
    item = session.exec(query.with_for_update() if lock else query).first()
    if item is None:
        raise NotFound(f"事项 {item_id} 不存在")
    if actor.role == "staff" and item.unit_id != actor.unit_id:
        raise Forbidden("只能查看和办理本单位的事项")
    return item


def item_detail(database: Database, actor: Actor, item_id: int, today: date) -> dict[str, Any]:
    with database.reading() as session:
        return detail(session, actor, load_item(session, actor, item_id), today)


Place = tuple[Measure, Document, Unit]


def place_of(session: Session, item: Item) -> Place:
    """The item's measure, document (without its text, which no caller shows) and unit."""
    return session.exec(
        select(Measure, Document, Unit)
        .join(Document, col(Document.id) == Measure.document_id)
        .join(Unit, col(Unit.id) == item.unit_id)
        .where(Measure.id == item.measure_id)
        .options(defer(Document.text))
    ).one()


def detail(
    session: Session,
    actor: Actor,
    item: Item,
    today: date,
    *,
    place: Place | None = None,
    targets: list[Target] | None = None,
) -> dict[str, Any]:
    """The item with its measure text, targets, sibling units, history and allowed actions.

    A transition passes the place and targets it has already read.
    """
    measure, document, unit = place or place_of(session, item)
    if targets is None:
        targets = targets_by_measure(session, {measure.id}).get(measure.id, [])
    siblings = session.exec(
        select(Item, Unit)
        .join(Unit, col(Unit.id) == Item.unit_id)
        .where(
            Item.measure_id == measure.id,
            Item.period == item.period,
            col(Item.withdrawn).is_(False),
        )
        .order_by(col(Item.id))
    ).all()
    lead = next((Status(i.status) for i, _u in siblings if i.role == "lead"), None)
    state = measure_state(lead, {u.name: Status(i.status) for i, u in siblings if i.role != "lead"})
    history = session.exec(
        select(AuditRecord).where(AuditRecord.item_id == item.id).order_by(col(AuditRecord.id))
    ).all()
    return {
        **summary(item, measure, document, unit, targets, today),
        "measure": {
            **measure.model_dump(),
            "complete": state.complete,
            "units": [{"unit": u.name, "role": i.role, "status": i.status} for i, u in siblings],
        },
        "targets": [
            {**t.model_dump(), "reported": item.target_values.get(str(t.id))} for t in targets
        ],
        "allowed_actions": workflow.allowed_actions(
            state_of(item, targets), workflow_actor(actor), today
        ),
        "history": [h.model_dump() for h in history],
    }


def transition(
    database: Database,
    actor: Actor,
    item_id: int,
    *,
    if_match: str | None,
    action: str,
    payload: Payload,
    now: datetime,
    today: date,
) -> dict[str, Any]:
    """Take one workflow action, guarded by the item's ETag; one audit record, one event."""
    with database.transaction() as session:
        item = load_item(session, actor, item_id, lock=True)
        if not if_match:
            raise PreconditionRequired("请求须带 If-Match（事项的 ETag），以免覆盖他人的修改")
        if if_match.strip() not in (etag(item), "*"):
            raise PreconditionFailed(
                "事项已被他人修改，请刷新后重试", {"If-Match": [f"当前为 {etag(item)}"]}
            )
        targets = targets_by_measure(session, {item.measure_id}).get(item.measure_id, [])
        outcome = workflow.apply(
            state_of(item, targets), action, workflow_actor(actor), payload, today=today
        )
        if outcome.action == Action.REASSIGN:
            check_reassignment(session, item, int(outcome.item.unit_id))
        before = {"status": item.status, "unit_id": item.unit_id, "deadline": iso(item.deadline)}
        persist(item, outcome, now)
        replan(item, now)
        session.add(item)
        session.flush()
        place = place_of(session, item)  # after the action: a reassignment changes the unit
        record_transition(session, actor, item, outcome, before, now, place)
        if outcome.to_status == Status.APPROVED:
            open_next_period(session, item, now, today)
        return detail(session, actor, item, today, place=place, targets=targets)


def persist(item: Item, outcome: workflow.Outcome, now: datetime) -> None:
    new = outcome.item
    item.status = new.status.value
    item.unit_id = int(new.unit_id)
    item.deadline, item.original_deadline = new.deadline, new.original_deadline
    item.extension_pending, item.requested_deadline = new.extension_pending, new.requested_deadline
    item.percent = new.percent or 0
    item.target_values = {str(k): v for k, v in new.values.items()}
    if "note" in outcome.details and outcome.action in (Action.REPORT_PROGRESS, Action.SUBMIT):
        item.last_progress_at = now
        item.last_progress_note = str(outcome.details["note"])
    item.version += 1
    item.updated_at = now


def check_reassignment(session: Session, item: Item, unit_id: int) -> None:
    unit = session.get(Unit, unit_id)
    if unit is None or unit.merged_into_id is not None:
        raise InvalidInput("改派的单位不存在", {"unit_id": ["单位不存在"]})
    twin = session.exec(
        select(Item).where(
            Item.measure_id == item.measure_id, Item.unit_id == unit_id, Item.period == item.period
        )
    ).first()
    if twin is not None:
        raise Conflict("该单位在此措施下已有事项", {"unit_id": [f"已有事项 {twin.id}"]})


def record_transition(
    session: Session,
    actor: Actor,
    item: Item,
    outcome: workflow.Outcome,
    before: dict[str, Any],
    now: datetime,
    place: Place,
) -> None:
    details = {k: jsonable(v) for k, v in outcome.details.items()}
    changes = {k: [jsonable(a), jsonable(b)] for k, (a, b) in outcome.changes.items()}
    note = outcome.details.get("note")
    record_audit(
        session,
        actor,
        "item",
        item.id,
        outcome.action.value,
        now=now,
        item_id=item.id,
        from_status=outcome.from_status.value,
        to_status=outcome.to_status.value,
        note=str(note) if note is not None else None,
        details={**details, "changes": changes},
    )
    measure, document, unit = place
    record_item_event(
        session,
        EVENT_FOR_ACTION[outcome.action],
        item,
        now=now,
        measure=measure,
        document=document,
        unit=unit,
        actor_id=actor.token_id,
        actor_name=actor.label,
        before=before,
        after={"status": item.status, "unit_id": item.unit_id, "deadline": iso(item.deadline)},
        note=str(note) if note is not None else None,
    )


def open_next_period(session: Session, item: Item, now: datetime, today: date) -> None:
    """Signing off a recurring item opens the next period's, while the plan runs."""
    measure = session.get(Measure, item.measure_id)
    if not measure.recurrence or not item.period:
        return
    label, deadline = next_period(item.period, measure.recurrence)
    if measure.deadline is not None and deadline > measure.deadline:
        return
    exists = session.exec(
        select(Item).where(
            Item.measure_id == item.measure_id, Item.unit_id == item.unit_id, Item.period == label
        )
    ).first()
    if exists is not None:
        return
    follow = Item(
        measure_id=item.measure_id,
        unit_id=item.unit_id,
        role=item.role,
        implicit=item.implicit,
        period=label,
        deadline=deadline,
        original_deadline=deadline,
        assigned_on=today,
        created_at=now,
        updated_at=now,
    )
    replan(follow, now)
    session.add(follow)
    session.flush()
    record_item_event(
        session,
        events.ITEM_ASSIGNED,
        follow,
        now=now,
        measure=measure,
        after={"status": follow.status},
    )


def iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def jsonable(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Status | Action):
        return value.value
    return value
