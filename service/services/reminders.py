"""Deadline reminders: the sweep that sends what is due exactly once, its preview, the policy.

The sweep reads only the items whose `next_reminder_at` has come (an indexed range), in
batches with a transaction each. For each it plans the reminders due (checklists.reminders),
records every new step in the ledger with INSERT … ON CONFLICT DO NOTHING, and writes the
step's event only when its ledger row was really inserted, in the same transaction: two
sweeps at once, a sweep run twice or one cut off half-way never send a reminder twice.
Then it moves the item's `next_reminder_at` to its next step (None: nothing pending).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from checklists import reminders
from checklists.reminders import REMINDED, ItemFacts, Plan, Policy, PolicyError, Step
from checklists.workdays import CalendarNotCovered, covered_years
from service.config import Config
from service.db import Database
from service.errors import InvalidInput, NotFound
from service.models import AuditRecord, Document, Item, Measure, Reminder, Unit
from service.services.audit import Actor, record_audit
from service.services.events import record_item_event

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# Actions that hand an item to a unit afresh or move its deadline: steps dated before
# them are not sent (the unit hears about its new item or deadline, not stale news).
HANDOVERS = ("reassign", "grant_extension", "change_deadline")


@dataclass(frozen=True)
class SentReminder:
    """One reminder a sweep sent (or, in a preview, would send)."""

    item_id: int
    title: str
    unit_id: int
    unit_name: str
    document_id: int
    document_title: str
    measure_ref: str
    kind: str
    step: str
    deadline: date
    due_at: datetime
    message: str
    event_id: int | None = None


@dataclass
class SweepReport:
    """What one sweep did: the reminders sent, the steps superseded, the items skipped."""

    now: datetime
    sent: list[SentReminder] = field(default_factory=list)
    superseded: int = 0
    skipped: int = 0
    # Years the holiday calendar lacks, which kept `skipped` items from being planned.
    uncovered_years: list[int] = field(default_factory=list)
    items_read: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        """One line for logs and the command line."""
        line = (
            f"{len(self.sent)} reminder(s) sent, {self.superseded} superseded, "
            f"{self.items_read} item(s) read"
        )
        if self.skipped:
            years = ", ".join(map(str, self.uncovered_years))
            line += f", {self.skipped} skipped (holiday calendar lacks {years})"
        return line

    def skip(self, error: CalendarNotCovered) -> None:
        self.skipped += 1
        if error.year not in self.uncovered_years:
            self.uncovered_years.append(error.year)
            self.uncovered_years.sort()


def default_policy(config: Config) -> Policy:
    """The global reminder settings (REMINDER_OFFSETS, OVERDUE_EVERY, ESCALATE_AFTER)."""
    return Policy(
        due_soon_offsets=config.reminder_offsets_days,
        overdue_every=config.overdue_every,
        escalate_after=config.escalate_after,
    )


def sweep(database: Database, config: Config, now: datetime) -> SweepReport:
    """Send every reminder due at `now`, once; the clock calls this every few minutes."""
    report = SweepReport(now)
    after: tuple[datetime, int] | None = None
    while True:
        with database.transaction() as session:
            batch = due_items(session, now, after, lock=True)
            if not batch:
                break
            after = (batch[-1].next_reminder_at, batch[-1].id)
            Batch(session, config, now, batch).run(report, write=True)
    if report.skipped:
        log.error(
            "reminder sweep skipped %d item(s): the holiday calendar does not cover %s; "
            "upgrade the chinesecalendar package",
            report.skipped,
            ", ".join(map(str, report.uncovered_years)),
        )
    return report


def preview(database: Database, config: Config, as_of: datetime) -> SweepReport:
    """What a sweep at `as_of` would send, given the database as it is now; writes nothing."""
    report = SweepReport(as_of)
    after: tuple[datetime, int] | None = None
    with database.reading() as session:
        while batch := due_items(session, as_of, after, lock=False):
            after = (batch[-1].next_reminder_at, batch[-1].id)
            Batch(session, config, as_of, batch).run(report, write=False)
    return report


def due_items(
    session: Session, now: datetime, after: tuple[datetime, int] | None, *, lock: bool
) -> Sequence[Item]:
    """The next batch of items due by `now`, in (next_reminder_at, id) order after `after`.

    Skipped items stay due, so the batch after them starts past them, not at them again.
    Locked rows are skipped: another sweep (or a transition) has them.
    """
    query = select(Item).where(col(Item.next_reminder_at) <= now)
    if after is not None:
        at, item_id = after
        query = query.where(
            or_(
                col(Item.next_reminder_at) > at,
                and_(col(Item.next_reminder_at) == at, col(Item.id) > item_id),
            )
        )
    query = query.order_by(col(Item.next_reminder_at), col(Item.id)).limit(BATCH_SIZE)
    if lock:
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).all()


def replan(item: Item, now: datetime) -> None:
    """After a change to an item, have the next sweep plan it afresh (or drop it).

    Called wherever an item's status, deadline, unit or progress changes: the sweep has
    the settings to compute the next moment and sends anything that became due.
    """
    active = item.status in REMINDED and not item.withdrawn
    item.next_reminder_at = now if active else None


def schedule_items(session: Session, items: Sequence[Item], config: Config, now: datetime) -> None:
    """Recompute `next_reminder_at` of each item: its next step, or now if one is due unsent.

    An item whose plan needs a year the holiday calendar lacks is left due, so the sweep
    reports it until the calendar is upgraded.
    """
    if not items:
        return
    batch = Batch(session, config, now, items)
    for item in items:
        try:
            planned = batch.plan(item)
        except CalendarNotCovered:
            item.next_reminder_at = now
            continue
        pending = [s for s in planned.due if batch.key(item, s) not in batch.recorded]
        item.next_reminder_at = pending[0].due_at if pending else planned.next_at


def reschedule_items(database: Database, config: Config, now: datetime) -> int:
    """Recompute the next reminder of every open item, batch by batch (after an upgrade)."""
    count, after = 0, 0
    while True:
        with database.transaction() as session:
            items = open_items(session, after)
            if not items:
                return count
            schedule_items(session, items, config, now)
            count, after = count + len(items), items[-1].id


def open_items(session: Session, after: int, document_id: int | None = None) -> Sequence[Item]:
    """The next batch of items in a reminded state, in id order after `after`."""
    query = select(Item).where(
        col(Item.id) > after,
        col(Item.status).in_([s.value for s in REMINDED]),
        col(Item.withdrawn).is_(False),
    )
    if document_id is not None:
        measures = select(Measure.id).where(Measure.document_id == document_id)
        query = query.where(col(Item.measure_id).in_(measures))
    return session.exec(query.order_by(col(Item.id)).limit(BATCH_SIZE)).all()


class Batch:
    """A batch of items with what planning them needs, read in a handful of queries."""

    def __init__(
        self, session: Session, config: Config, now: datetime, items: Sequence[Item]
    ) -> None:
        self.session, self.config, self.now, self.items = session, config, now, items
        ids = [item.id for item in items]
        self.measures = rows_by_id(session, Measure, {i.measure_id for i in items})
        self.documents = rows_by_id(
            session, Document, {m.document_id for m in self.measures.values()}
        )
        self.units = rows_by_id(session, Unit, {i.unit_id for i in items})
        self.handed_over = handover_dates(session, ids, config)
        self.recorded = recorded_keys(session, ids)
        self.policies = {d.id: effective_policy(d, config) for d in self.documents.values()}

    def plan(self, item: Item) -> Plan:
        measure = self.measures[item.measure_id]
        handed_over = self.handed_over.get(item.id, item.assigned_on)
        facts = ItemFacts(
            status=item.status,
            deadline=item.deadline,
            assigned_on=max(item.assigned_on, handed_over),
            unit_id=item.unit_id,
            last_progress_at=item.last_progress_at,
            withdrawn=item.withdrawn,
        )
        return reminders.plan(
            facts,
            self.policies[measure.document_id],
            send_at=self.config.reminder_clock_time,
            tz=self.config.tz,
            now=self.now,
        )

    @staticmethod
    def key(item: Item, step: Step) -> tuple[int, str, str, date, int]:
        return (item.id, step.kind.value, step.step, step.deadline, item.unit_id)

    def run(self, report: SweepReport, *, write: bool) -> None:
        """Plan every item; record and send its new steps when `write`, else only report."""
        report.items_read += len(self.items)
        for item in self.items:
            try:
                planned = self.plan(item)
            except CalendarNotCovered as error:
                report.skip(error)
                continue
            to_send = planned.to_send
            for step in planned.due:
                if self.key(item, step) in self.recorded:
                    continue
                status = "sent" if step in to_send else "superseded"
                ledger_id = self.record(item, step, status) if write else None
                if write and ledger_id is None:
                    continue  # another sweep recorded it first
                if status == "superseded":
                    report.superseded += 1
                elif ledger_id is not None:
                    report.sent.append(self.send(item, step, ledger_id))
                else:
                    report.sent.append(self.row(item, step))
            if write:
                item.next_reminder_at = planned.next_at

    def record(self, item: Item, step: Step, status: str) -> int | None:
        """Insert the step's ledger row unless it exists; its id, or None if it did."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(Reminder)
            .values(
                item_id=item.id,
                unit_id=item.unit_id,
                kind=step.kind.value,
                step=step.step,
                deadline=step.deadline,
                due_at=step.due_at,
                status=status,
                recorded_at=self.now,
            )
            .on_conflict_do_nothing()
            .returning(col(Reminder.id))
        )
        return self.session.exec(statement).scalar_one_or_none()

    def send(self, item: Item, step: Step, ledger_id: int) -> SentReminder:
        """The step's event, in the transaction of its ledger row, linked from it."""
        measure = self.measures[item.measure_id]
        event = record_item_event(
            self.session,
            step.kind.event_type,
            item,
            now=self.now,
            measure=measure,
            document=self.documents[measure.document_id],
            unit=self.units[item.unit_id],
            note=step.message,
        )
        self.session.flush()
        self.session.exec(
            update(Reminder).where(col(Reminder.id) == ledger_id).values(event_id=event.id)
        )
        return self.row(item, step, event.id)

    def row(self, item: Item, step: Step, event_id: int | None = None) -> SentReminder:
        measure = self.measures[item.measure_id]
        document = self.documents[measure.document_id]
        unit = self.units[item.unit_id]
        return SentReminder(
            item_id=item.id,
            title=measure.title,
            unit_id=unit.id,
            unit_name=unit.name,
            document_id=document.id,
            document_title=document.title,
            measure_ref=measure.ref,
            kind=step.kind.value,
            step=step.step,
            deadline=step.deadline,
            due_at=step.due_at,
            message=step.message,
            event_id=event_id,
        )


def rows_by_id(session: Session, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    rows = session.exec(select(model).where(col(model.id).in_(list(ids)))).all()
    return {row.id: row for row in rows}


def handover_dates(session: Session, item_ids: list[int], config: Config) -> dict[int, date]:
    """The local date each item last changed hands or deadline, where it did."""
    rows = session.exec(
        select(AuditRecord.item_id, func.max(AuditRecord.at))
        .where(col(AuditRecord.item_id).in_(item_ids), col(AuditRecord.action).in_(HANDOVERS))
        .group_by(col(AuditRecord.item_id))
    ).all()
    return {item_id: config.local_date(at) for item_id, at in rows}


def recorded_keys(session: Session, item_ids: list[int]) -> set[tuple[int, str, str, date, int]]:
    rows = session.exec(
        select(
            Reminder.item_id, Reminder.kind, Reminder.step, Reminder.deadline, Reminder.unit_id
        ).where(col(Reminder.item_id).in_(item_ids))
    ).all()
    return {tuple(row) for row in rows}


def sweep_moment(config: Config, value: date | datetime) -> datetime:
    """The UTC instant of a local date (at REMINDER_TIME) or local moment, for `as_of`."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, config.reminder_clock_time)
    if value.tzinfo is None:
        value = value.replace(tzinfo=config.tz)
    years = covered_years()
    if value.astimezone(config.tz).year not in years:
        message = f"节假日日历只覆盖 {years[0]}–{years[-1]} 年"
        raise InvalidInput(message, {"as_of": [message]})
    return value.astimezone(UTC)


def parse_moment(text: str) -> date | datetime:
    """YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][±HH:MM]; ValueError otherwise."""
    text = text.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    if len(text) < 16 or text[10] not in "T ":
        raise ValueError(f"not a date or date and time: {text!r}")
    return datetime.fromisoformat(text)


def reminder_policy(database: Database, config: Config, document_id: int) -> dict[str, Any]:
    """A document's reminder overrides and the policy in effect for it."""
    with database.reading() as session:
        return policy_view(get_document(session, document_id), config)


def set_reminder_policy(
    database: Database,
    config: Config,
    document_id: int,
    overrides: dict[str, Any],
    *,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """Store a document's overrides (validated), audit it, reschedule its open items."""
    try:
        clean = reminders.validate_overrides(overrides)
    except PolicyError as error:
        raise InvalidInput("提醒设置有误", error.errors) from None
    with database.transaction() as session:
        document = get_document(session, document_id, lock=True)
        before = document.reminder_policy
        document.reminder_policy = clean or None
        document.updated_at = now
        session.add(document)
        record_audit(
            session,
            actor,
            "document",
            document.id,
            "reminder_policy",
            now=now,
            details={"from": before, "to": document.reminder_policy},
        )
        after = 0
        while items := open_items(session, after, document_id):
            schedule_items(session, items, config, now)
            after = items[-1].id
        return policy_view(document, config)


def get_document(session: Session, document_id: int, *, lock: bool = False) -> Document:
    query = select(Document).where(Document.id == document_id)
    document = session.exec(query.with_for_update() if lock else query).first()
    if document is None:
        raise NotFound(f"文件 {document_id} 不存在")
    return document


def effective_policy(document: Document, config: Config) -> Policy:
    """The global settings with the document's overrides.

    Overrides are checked when stored; ones written around the API that do not pass are
    logged and ignored, so they never stop the sweep.
    """
    try:
        return reminders.policy_from(default_policy(config), document.reminder_policy)
    except PolicyError as error:
        log.error("document %s: reminder policy ignored: %s", document.id, error)
        return default_policy(config)


def policy_view(document: Document, config: Config) -> dict[str, Any]:
    return {
        "document_id": document.id,
        "overrides": document.reminder_policy,
        "effective": effective_policy(document, config).as_dict(),
    }
