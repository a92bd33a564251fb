"""Supervisor reports: the items as they stood at the end of a day, in a few queries.

A report reads the items in one query and streams them to the core. As of a past date,
it also reads, in one query ordered by (item, time), the audit records written since:
items without any come straight from the stream (they are as they were), the few with
some are rewound and merged back in order. Nothing is read per item.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import IO, Any

from sqlalchemy import ColumnElement, Row, Select, Text, and_, case, cast, func, or_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from checklists import reports as core
from checklists.report_files import (
    OVERDUE_COLUMNS,
    csv_chunks,
    overdue_sheets,
    scorecard_sheet,
    summary_columns,
    summary_rows,
    summary_sheets,
    write_xlsx,
)
from checklists.report_history import (
    PROGRESS_ACTIONS,
    Change,
    change_from_record,
    reported_values,
    rewind,
)
from checklists.report_scorecard import period_bounds, scorecard
from checklists.reports import Grouping, ReportItem
from checklists.status import DUE_SOON_WORKDAYS
from checklists.workdays import CalendarNotCovered, covered_years
from checklists.workflow import OPEN, ItemState, Status
from service.db import Database
from service.errors import Forbidden, InvalidInput, NotFound
from service.models import AuditRecord, Document, Item, Measure, Target, Unit
from service.services.audit import Actor
from service.services.units import lookup

BATCH_ROWS = 5_000


@dataclass(frozen=True)
class ReportRequest:
    """What a report covers: the day it is as of, whose items, grouped how."""

    as_of: date
    tz: tzinfo
    unit: int | None = None
    document: int | None = None
    grouping: Grouping = Grouping.UNIT
    due_soon_workdays: int = DUE_SOON_WORKDAYS

    @property
    def cutoff(self) -> datetime:
        """The end of `as_of` where the office is: what happened before it counts."""
        return datetime.combine(self.as_of + timedelta(days=1), time(), tzinfo=self.tz)


def scoped(request: ReportRequest, actor: Actor) -> ReportRequest:
    """Staff see only their own unit's items; supervisors and admins see every unit's."""
    if actor.role != "staff":
        return request
    if request.unit is not None and request.unit != actor.unit_id:
        raise Forbidden("只能查看本单位的报表", {"unit": ["只能查看本单位"]})
    return replace(request, unit=actor.unit_id)


def check_as_of(as_of: date) -> None:
    """Refuse, before any query, a date the working-day calendar does not cover."""
    years = covered_years()
    if as_of.year not in years:
        raise InvalidInput(
            f"as_of 须在工作日日历覆盖的年份内（{years[0]}–{years[-1]}）",
            {"as_of": [f"工作日日历只覆盖 {years[0]}–{years[-1]} 年，请升级 chinesecalendar"]},
        )


@dataclass(frozen=True)
class Selection:
    """Which items a report reads: `where` on the stored rows, `keep` on rewound ones.

    `order_by` and `key` give the same order in SQL and in Python, so that rewound
    items merge into the stream where they belong. `with_record` adds sign-offs and
    extensions (for on-time rates), `detail` the measure's text and the last progress.
    """

    where: ColumnElement[bool]
    keep: Callable[[ReportItem], bool] = lambda item: not item.withdrawn
    order_by: tuple[Any, ...] = ()
    key: Callable[[ReportItem], Any] | None = None
    with_record: bool = False
    detail: bool = False


def everything() -> Selection:
    """Every live item, with its sign-off date and granted extensions (for on-time rates)."""
    return Selection(where=col(Item.withdrawn).is_(False), with_record=True)


def overdue(request: ReportRequest) -> Selection:
    """Open items past their deadline, in report order (see `core.overdue_sort_key`)."""
    open_statuses = [status.value for status in OPEN]
    if request.grouping == Grouping.UNIT:
        order = (Item.unit_id, Item.deadline, Measure.document_id, Measure.position, Item.id)
    else:
        order = (Measure.document_id, Measure.position, Item.id)
    return Selection(
        where=and_(
            col(Item.withdrawn).is_(False),
            col(Item.status).in_(open_statuses),
            col(Item.deadline) < request.as_of,
        ),
        keep=lambda item: core.is_overdue(item, request.as_of),
        order_by=order,
        key=core.overdue_sort_key(request.grouping),
        detail=True,
    )


def due_in(start: date, end: date) -> Selection:
    """Live items whose original deadline falls between `start` and `end` (a scorecard)."""
    due = func.coalesce(Item.original_deadline, Item.deadline)
    return Selection(
        where=and_(col(Item.withdrawn).is_(False), due >= start, due <= end), with_record=True
    )


@dataclass(frozen=True)
class Directory:
    """What item rows refer to by id, read once per report: names, titles and targets.

    Small tables, so the item query joins none of them and fetches no text it repeats.
    """

    units: Mapping[int, str]
    documents: Mapping[int, str]
    targets: Mapping[int, Mapping[int, float]]


def load_directory(session: Session, request: ReportRequest) -> Directory:
    units = session.execute(sql_select(Unit.id, Unit.name))
    documents = sql_select(Document.id, Document.title)
    targets = sql_select(Target.measure_id, Target.id, Target.value)
    if request.document is not None:
        documents = documents.where(Document.id == request.document)
        targets = targets.join(Measure, col(Measure.id) == Target.measure_id).where(
            Measure.document_id == request.document
        )
    by_measure: dict[int, dict[int, float]] = {}
    for measure_id, target_id, value in session.execute(targets):
        by_measure.setdefault(measure_id, {})[target_id] = value
    return Directory(
        units={unit_id: name for unit_id, name in units},
        documents={document_id: title for document_id, title in session.execute(documents)},
        targets=by_measure,
    )


def report_items(
    session: Session, request: ReportRequest, selection: Selection
) -> Iterator[ReportItem]:
    """The selected items as they stood at the end of `request.as_of`, in selection order."""
    history = load_history(session, request)
    directory = load_directory(session, request)
    query = item_query(request, selection)
    stable = query.where(selection.where).order_by(*selection.order_by)
    if request.unit is not None:
        stable = stable.where(Item.unit_id == request.unit)
    build = Builder(request, selection, directory)
    if not history:
        yield from _stream(session, stable, build)
        return
    changed = changed_since(request.cutoff)
    rewound = [
        rewind(build(row), history[row.id], request.cutoff, directory.units)
        for row in session.execute(query.where(col(Item.id).in_(changed)))
    ]
    kept = [item for item in rewound if in_scope(item, request) and selection.keep(item)]
    if selection.key is not None:
        kept.sort(key=selection.key)
    rest = _stream(session, stable.where(col(Item.id).not_in(changed)), build)
    if selection.key is None:
        yield from kept
        yield from rest
    else:
        yield from heapq.merge(rest, kept, key=selection.key)


def in_scope(item: ReportItem, request: ReportRequest) -> bool:
    return request.unit is None or item.unit_id == request.unit


def _stream(
    session: Session, query: Select[Any], build: Callable[[Row[Any]], ReportItem]
) -> Iterator[ReportItem]:
    rows = session.connection().execute(query.execution_options(yield_per=BATCH_ROWS))
    for batch in rows.partitions():
        yield from map(build, batch)


def item_query(request: ReportRequest, selection: Selection) -> Select[Any]:
    """Items with their measure's document (and text); existing by the end of the day."""
    columns: list[Any] = [
        Item.id,
        Item.status,
        Item.unit_id,
        Item.role,
        Item.period,
        Item.deadline,
        Item.original_deadline,
        Item.assigned_on,
        # As text: parsed only for the items of measures with numeric targets.
        cast(Item.target_values, Text).label("target_values"),
        Item.withdrawn,
        Item.measure_id,
        Measure.document_id,
    ]
    if selection.detail:
        columns += [
            Measure.ref,
            Measure.title,
            Measure.position,
            Item.last_progress_at,
            Item.last_progress_note,
        ]
    query = (
        sql_select(*columns)
        .join(Measure, col(Measure.id) == Item.measure_id)
        .where(col(Item.created_at) < request.cutoff)
    )
    if request.document is not None:
        query = query.where(Measure.document_id == request.document)
    if selection.with_record:
        record = sign_offs(request.cutoff)
        query = query.add_columns(record.c.approved_at, record.c.extensions).outerjoin(
            record, record.c.item_id == Item.id
        )
    return query


def sign_offs(cutoff: datetime) -> Any:
    """Per item, its latest 销号 (sign-off) and its granted extensions before `cutoff`."""
    approve = AuditRecord.action == "approve"
    grant = AuditRecord.action == "grant_extension"
    return (
        sql_select(
            AuditRecord.item_id,
            func.max(case((approve, AuditRecord.at))).label("approved_at"),
            func.sum(case((grant, 1), else_=0)).label("extensions"),
        )
        .where(
            col(AuditRecord.item_id).is_not(None),
            col(AuditRecord.action).in_(("approve", "grant_extension")),
            col(AuditRecord.at) < cutoff,
        )
        .group_by(AuditRecord.item_id)
        .subquery("sign_off")
    )


def changed_since(cutoff: datetime) -> Select[Any]:
    """The ids of items with an audit record from `cutoff` on."""
    return sql_select(AuditRecord.item_id).where(
        col(AuditRecord.at) >= cutoff, col(AuditRecord.item_id).is_not(None)
    )


@dataclass(frozen=True)
class Builder:
    """Turns rows of `item_query` into ReportItems; unpacked by position (the hot loop)."""

    request: ReportRequest
    selection: Selection
    directory: Directory

    def __call__(self, row: Row[Any]) -> ReportItem:
        (
            item_id, status, unit_id, role, period, deadline, original_deadline, assigned_on,
            values, withdrawn, measure_id, document_id, *rest,
        ) = row  # fmt: skip
        ref, title, position, progress_at, note = rest[:5] if self.selection.detail else NO_DETAIL
        approved_at, extensions = rest[-2:] if self.selection.with_record else (None, 0)
        targets = self.directory.targets.get(measure_id, {})
        state = ItemState(
            status=STATUS_OF[status],
            unit_id=unit_id,
            deadline=deadline,
            original_deadline=original_deadline,
            assigned_on=assigned_on,
            targets=targets,
            values=reported_values(json.loads(values or "{}")) if targets else {},
        )
        tz = self.request.tz
        return ReportItem(
            item_id=item_id,
            document_id=document_id,
            document_title=self.directory.documents.get(document_id, ""),
            measure_ref=ref,
            measure_title=title,
            position=position,
            unit_name=self.directory.units.get(unit_id, ""),
            role=role,
            period=period,
            state=state,
            withdrawn=withdrawn,
            approved_on=local_date(approved_at, tz),
            extensions=extensions or 0,
            last_progress_on=local_date(progress_at, tz),
            last_progress_note=note,
        )


NO_DETAIL = ("", "", 0, None, None)
STATUS_OF = {status.value: status for status in Status}


def local_date(moment: datetime | None, tz: tzinfo) -> date | None:
    return moment.astimezone(tz).date() if moment is not None else None


def load_history(session: Session, request: ReportRequest) -> dict[int, list[Change]]:
    """The changes of every item changed since the cutoff, with its earlier progress notes.

    One query, ordered by item and time; empty for a report as of today.
    """
    cutoff = request.cutoff
    progress = and_(
        col(AuditRecord.action).in_(PROGRESS_ACTIONS), col(AuditRecord.note).is_not(None)
    )
    query = (
        sql_select(
            AuditRecord.item_id,
            AuditRecord.at,
            AuditRecord.action,
            AuditRecord.from_status,
            AuditRecord.note,
            AuditRecord.details,
        )
        .where(
            col(AuditRecord.item_id).in_(changed_since(cutoff)),
            or_(col(AuditRecord.at) >= cutoff, progress),
        )
        .order_by(AuditRecord.item_id, AuditRecord.at, AuditRecord.id)
    )
    history: dict[int, list[Change]] = {}
    for row in session.execute(query):
        on = row.at.astimezone(request.tz).date()
        change = change_from_record(row.at, on, row.action, row.from_status, row.note, row.details)
        history.setdefault(row.item_id, []).append(change)
    return history


def unit_id_of(database: Database, reference: int | str) -> int:
    """A unit's id from its id, name or alias (for the command line)."""
    with database.reading() as session:
        return int(lookup(session, reference).id or 0)


def check_scope(session: Session, request: ReportRequest) -> None:
    if request.unit is not None and session.get(Unit, request.unit) is None:
        raise NotFound(f"单位 {request.unit} 不存在", {"unit": ["单位不存在"]})
    if request.document is not None and session.get(Document, request.document) is None:
        raise NotFound(f"文件 {request.document} 不存在", {"document": ["文件不存在"]})


def prepared(database: Database, request: ReportRequest) -> None:
    """Everything that can refuse a report, done before a streamed answer begins.

    A date the caller chose is checked by `check_as_of` (422); today outside the calendar
    is the server's problem (503 until chinesecalendar is upgraded).
    """
    if request.as_of.year not in covered_years():
        raise CalendarNotCovered(request.as_of.year)
    with database.reading() as session:
        check_scope(session, request)


def summarise(session: Session, request: ReportRequest) -> dict[str, Any]:
    items = report_items(session, request, everything())
    return core.summarise(items, request.as_of, request.due_soon_workdays)


def overdue_rows(session: Session, request: ReportRequest) -> Iterator[dict[str, Any]]:
    for item in report_items(session, request, overdue(request)):
        yield core.overdue_row(item, request.as_of, request.grouping)


def summary_report(database: Database, request: ReportRequest) -> dict[str, Any]:
    """Counts by colour and on-time rates: in total, per unit and per document."""
    prepared(database, request)
    with database.reading() as session:
        return summarise(session, request)


def overdue_report(database: Database, request: ReportRequest) -> dict[str, Any]:
    """Every overdue item, by unit or by document, with each group's counts."""
    prepared(database, request)
    with database.reading() as session:
        summary = summarise(session, request)
        rows = list(overdue_rows(session, request))
    return core.overdue_report(summary, rows, request.grouping)


def overdue_csv(database: Database, request: ReportRequest) -> Iterator[str]:
    """The overdue rows as CSV text in chunks, read as they are written."""
    prepared(database, request)
    return _overdue_csv(database, request)


def _overdue_csv(database: Database, request: ReportRequest) -> Iterator[str]:
    with database.reading() as session:
        yield from csv_chunks(OVERDUE_COLUMNS, overdue_rows(session, request))


def overdue_xlsx(database: Database, request: ReportRequest, target: IO[bytes]) -> None:
    """A 汇总 (summary) sheet, then one sheet per unit or document with overdue items."""
    prepared(database, request)
    with database.reading() as session:
        summary = summarise(session, request)
        rows = overdue_rows(session, request)
        write_xlsx(target, overdue_sheets(summary, rows, request.grouping.value))


def summary_csv(database: Database, request: ReportRequest) -> Iterator[str]:
    summary = summary_report(database, request)
    grouping = request.grouping.value
    return csv_chunks(summary_columns(grouping), summary_rows(summary, grouping))


def summary_xlsx(database: Database, request: ReportRequest, target: IO[bytes]) -> None:
    write_xlsx(target, summary_sheets(summary_report(database, request)))


def scorecard_report(database: Database, request: ReportRequest, period: str) -> dict[str, Any]:
    """Per unit, lead and co-unit items apart: how the items due in `period` went."""
    try:
        start, end = period_bounds(period)
    except ValueError as error:
        raise InvalidInput(f"period 无效：{period}", {"period": [str(error)]}) from None
    prepared(database, request)
    with database.reading() as session:
        return scorecard(report_items(session, request, due_in(start, end)), period, request.as_of)


def scorecard_csv(card: Mapping[str, Any]) -> Iterator[str]:
    sheet = scorecard_sheet(card)
    return csv_chunks(sheet.columns, sheet.rows)


def scorecard_xlsx(card: Mapping[str, Any], target: IO[bytes]) -> None:
    write_xlsx(target, [scorecard_sheet(card)])
