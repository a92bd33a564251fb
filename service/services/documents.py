"""Importing policy documents: measures, units and items, created or revised in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from checklists.extract import Extraction, extract
from checklists.extract import Measure as ExtractedMeasure
from checklists.periods import current_period
from checklists.reading import read_document
from checklists.revisions import MeasureKey, match_measures
from checklists.unitnames import name_key, short_key
from service.db import Database
from service.errors import InvalidInput, NotFound
from service.models import Document, Item, Measure, Target, Unit
from service.services.audit import Actor, record_audit
from service.services.events import record_event, record_item_event
from service.services.reminders import replan
from service.services.units import UnitResolver, unknown_names
from webhooks import events

# A 实施方案 has tens of measures and a 任务分解 table a few thousand at most. Far more
# is not a policy document, and storing it would hold the database's write lock for long.
MAX_MEASURES = 10_000
MAX_ITEMS = 50_000
MAX_TARGETS = 50_000


@dataclass
class ImportReport:
    """What an import did, for the CLI and the API to show."""

    document_id: int
    title: str
    outcome: str  # created | unchanged | revised
    revision: int
    measures: int = 0
    items: int = 0
    unassigned: int = 0
    new_units: list[str] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ImportRequest:
    data: bytes
    filename: str
    title: str | None = None
    default_deadline: date | None = None
    replace_id: int | None = None


def read_and_extract(request: ImportRequest, *, max_bytes: int) -> tuple[str, Extraction]:
    """The document's text and what the extractor finds in it (no database involved)."""
    text = read_document(request.data, request.filename, max_bytes=max_bytes)
    extraction = extract(text, title=request.title, default_deadline=request.default_deadline)
    if not extraction.measures:
        raise InvalidInput(
            "没有在文件中识别出任何措施或任务，请检查文件内容",
            {"file": ["未识别出措施"]},
        )
    measures = extraction.measures
    items = sum(len(measure.units) for measure in measures)
    targets = sum(len(measure.targets) for measure in measures)
    if len(measures) > MAX_MEASURES or items > MAX_ITEMS or targets > MAX_TARGETS:
        raise InvalidInput(
            f"措施、事项或指标过多（上限 {MAX_MEASURES} 项措施、{MAX_ITEMS} 个事项、"
            f"{MAX_TARGETS} 个指标），请拆分后再导入",
            {"file": [f"识别出 {len(measures)} 项措施、{items} 个事项、{targets} 个指标"]},
        )
    return text, extraction


@dataclass(frozen=True)
class ImportPreview:
    """What importing a file would do, worked out without storing anything."""

    extraction: Extraction
    outcome: str  # created | unchanged | revised, as the import would report it
    previous: dict[str, Any] | None  # the document the import would revise
    new_units: dict[str, str]  # short key → name: units the import would create

    def is_new(self, name: str) -> bool:
        return short_key(name) in self.new_units


def preview_import(database: Database, request: ImportRequest, *, max_bytes: int) -> ImportPreview:
    """Read and extract `request`, and say which document it revises and which units are new."""
    text, extraction = read_and_extract(request, max_bytes=max_bytes)
    names = [unit.name for measure in extraction.measures for unit in measure.units]
    with database.reading() as session:
        previous = find_previous(session, request, extraction)
        new_units = unknown_names(session, names)
        if previous is None:
            return ImportPreview(extraction, "created", None, new_units)
        same = previous.content_hash == content_hash(text, request)
        shown = previous.model_dump(include={"id", "title", "revision"})
        return ImportPreview(extraction, "unchanged" if same else "revised", shown, new_units)


def import_document(
    database: Database,
    request: ImportRequest,
    *,
    actor: Actor,
    now: datetime,
    today: date,
    max_bytes: int,
) -> ImportReport:
    """Store a document's measures and items; a revision updates them in place."""
    text, extraction = read_and_extract(request, max_bytes=max_bytes)
    digest = content_hash(text, request)
    with database.transaction() as session:
        existing = find_previous(session, request, extraction)
        if existing is not None and existing.content_hash == digest:
            return summarise(session, existing, "unchanged", {})
        importer = Importer(session, actor, now, today, UnitResolver(session, now))
        if existing is None:
            document = importer.create(extraction, text, digest, request)
            outcome, changes = "created", {}
        else:
            document = existing
            changes = importer.revise(document, extraction, text, digest, request)
            outcome = "revised"
        report = summarise(session, document, outcome, changes)
        report.new_units = [unit.name for unit in importer.units.created]
        record_event(
            session,
            events.DOCUMENT_IMPORTED,
            f"documents/{document.id}",
            {
                "document": {"id": str(document.id), "title": document.title},
                "outcome": outcome,
                "revision": document.revision,
                **report.as_dict(),
            },
            now=now,
            document_id=document.id,
        )
        return report


def content_hash(text: str, request: ImportRequest) -> str:
    """Same text with the same options is the same import (a no-op when repeated)."""
    options = f"{request.title or ''}\x00{request.default_deadline or ''}"
    return hashlib.sha256(f"{text}\x00{options}".encode()).hexdigest()


def find_previous(
    session: Session, request: ImportRequest, extraction: Extraction
) -> Document | None:
    """The document this import revises: the one named by `replace_id`, else same title."""
    if request.replace_id is not None:
        document = session.get(Document, request.replace_id)
        if document is None:
            raise NotFound(f"文件 {request.replace_id} 不存在", {"replace": ["文件不存在"]})
        return document
    query = select(Document).where(Document.title_key == name_key(extraction.title))
    return session.exec(query.order_by(col(Document.id).desc())).first()


def summarise(
    session: Session, document: Document, outcome: str, changes: dict[str, int]
) -> ImportReport:
    measures = session.exec(
        select(Measure).where(Measure.document_id == document.id, col(Measure.withdrawn).is_(False))
    ).all()
    ids = [m.id for m in measures]
    items = session.exec(
        select(Item.measure_id).where(col(Item.measure_id).in_(ids), col(Item.withdrawn).is_(False))
    ).all()
    with_items = set(items)
    return ImportReport(
        document_id=document.id,
        title=document.title,
        outcome=outcome,
        revision=document.revision,
        measures=len(measures),
        items=len(items),
        unassigned=sum(1 for m in measures if m.id not in with_items),
        changes=changes,
    )


@dataclass
class Importer:
    """Writes one extraction into the database within the caller's transaction."""

    session: Session
    actor: Actor
    now: datetime
    today: date
    units: UnitResolver
    counts: dict[str, int] = field(default_factory=dict)

    def create(
        self, extraction: Extraction, text: str, digest: str, request: ImportRequest
    ) -> Document:
        document = Document(
            title=extraction.title[:500],
            title_key=name_key(extraction.title)[:500],
            filename=safe_filename(request.filename),
            content_hash=digest,
            text=text,
            period_start=extraction.period[0] if extraction.period else None,
            period_end=extraction.period[1] if extraction.period else None,
            lead_rule=extraction.lead_rule,
            default_deadline=request.default_deadline,
            created_at=self.now,
            updated_at=self.now,
        )
        self.session.add(document)
        self.session.flush()
        for position, extracted in enumerate(extraction.measures):
            self.add_measure(document, position, extracted)
        record_audit(
            self.session,
            self.actor,
            "document",
            document.id,
            "import",
            now=self.now,
            note=document.title,
        )
        return document

    def revise(
        self,
        document: Document,
        extraction: Extraction,
        text: str,
        digest: str,
        request: ImportRequest,
    ) -> dict[str, int]:
        """Update `document` in place; every existing item keeps its status and history."""
        old = self.session.exec(
            select(Measure)
            .where(Measure.document_id == document.id, col(Measure.withdrawn).is_(False))
            .order_by(Measure.position)
        ).all()
        new = extraction.measures
        pairs = match_measures(
            [MeasureKey(m.ref, m.title) for m in old], [MeasureKey(m.ref, m.title) for m in new]
        )
        for old_index, new_index in pairs:
            if old_index is None:
                self.add_measure(document, new_index, new[new_index])
                self.count("measures_added")
            elif new_index is None:
                self.withdraw_measure(old[old_index])
            else:
                self.update_measure(old[old_index], new_index, new[new_index])
        document.title = extraction.title[:500]
        document.text = text
        document.content_hash = digest
        document.filename = safe_filename(request.filename)
        document.period_start = extraction.period[0] if extraction.period else None
        document.period_end = extraction.period[1] if extraction.period else None
        document.lead_rule = extraction.lead_rule
        document.default_deadline = request.default_deadline
        document.revision += 1
        document.updated_at = self.now
        self.session.add(document)
        record_audit(
            self.session,
            self.actor,
            "document",
            document.id,
            "revise",
            now=self.now,
            details=dict(self.counts),
        )
        return dict(self.counts)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def add_measure(self, document: Document, position: int, extracted: ExtractedMeasure) -> None:
        measure = Measure(document_id=document.id, position=position, **measure_fields(extracted))
        self.session.add(measure)
        self.session.flush()
        self.sync_targets(measure, extracted)
        self.sync_items(document, measure, extracted)

    def update_measure(self, measure: Measure, position: int, extracted: ExtractedMeasure) -> None:
        fields = measure_fields(extracted)
        changed = {k for k, v in fields.items() if getattr(measure, k) != v}
        old_deadline = measure.deadline
        for key, value in fields.items():
            setattr(measure, key, value)
        measure.position = position
        self.session.add(measure)
        if changed:
            self.count("measures_updated")
        self.sync_targets(measure, extracted)
        document = self.session.get(Document, measure.document_id)
        self.sync_items(document, measure, extracted, old_deadline=old_deadline)

    def withdraw_measure(self, measure: Measure) -> None:
        measure.withdrawn = True
        self.session.add(measure)
        self.count("measures_withdrawn")
        for item in self.session.exec(select(Item).where(Item.measure_id == measure.id)).all():
            self.withdraw_item(item, "措施已从修订后的文件中删除")

    def sync_targets(self, measure: Measure, extracted: ExtractedMeasure) -> None:
        """Targets keep their ids by position, so reported values stay attached to them."""
        existing = self.session.exec(
            select(Target).where(Target.measure_id == measure.id).order_by(Target.position)
        ).all()
        for position, target in enumerate(extracted.targets):
            row = (
                existing[position]
                if position < len(existing)
                else Target(
                    measure_id=measure.id, position=position, text="", value=0, comparator=""
                )
            )
            row.text = target.text[:500]
            row.value = float(target.value)
            row.unit = (target.unit or "")[:20]
            row.comparator = target.comparator
            self.session.add(row)
        for row in existing[len(extracted.targets) :]:
            self.session.delete(row)

    def sync_items(
        self,
        document: Document,
        measure: Measure,
        extracted: ExtractedMeasure,
        *,
        old_deadline: date | None = None,
    ) -> None:
        """One item per listed unit; units dropped by a revision have their items withdrawn."""
        wanted: dict[int, tuple[str, bool, Unit]] = {}
        for listed in extracted.units:
            unit = self.units.resolve(listed.name, is_group=listed.group)
            if unit.id not in wanted:  # a unit named twice keeps its first (lead) role
                wanted[unit.id] = (listed.role, listed.implicit, unit)
        items = self.session.exec(select(Item).where(Item.measure_id == measure.id)).all()
        by_unit: dict[int, list[Item]] = {}
        for item in items:
            by_unit.setdefault(item.unit_id, []).append(item)
        for unit_id, (role, implicit, unit) in wanted.items():
            if unit_id in by_unit:
                for item in by_unit[unit_id]:
                    self.keep_item(item, measure, role, implicit, old_deadline)
            else:
                self.assign_item(document, measure, unit, role, implicit)
        for unit_id, unit_items in by_unit.items():
            if unit_id not in wanted:
                for item in unit_items:
                    self.withdraw_item(item, "修订后的文件不再列出该单位")

    def assign_item(
        self, document: Document, measure: Measure, unit: Unit, role: str, implicit: bool
    ) -> None:
        period, deadline = "", measure.deadline
        if measure.recurrence:
            period, deadline = current_period(measure.recurrence, self.today, measure.deadline)
        item = Item(
            measure_id=measure.id,
            unit_id=unit.id,
            role=role,
            implicit=implicit,
            period=period,
            deadline=deadline,
            original_deadline=deadline,
            assigned_on=self.today,
            created_at=self.now,
            updated_at=self.now,
        )
        replan(item, self.now)
        self.session.add(item)
        self.session.flush()
        self.count("items_added")
        record_item_event(
            self.session,
            events.ITEM_ASSIGNED,
            item,
            now=self.now,
            measure=measure,
            document=document,
            unit=unit,
            after={"status": item.status},
        )

    def keep_item(
        self, item: Item, measure: Measure, role: str, implicit: bool, old_deadline: date | None
    ) -> None:
        changed = item.withdrawn or item.role != role or item.implicit != implicit
        item.withdrawn, item.role, item.implicit = False, role, implicit
        # Follow a revised deadline only where nobody has moved this item's own deadline.
        if not measure.recurrence and item.deadline == old_deadline != measure.deadline:
            record_audit(
                self.session,
                self.actor,
                "item",
                item.id,
                "change_deadline",
                now=self.now,
                item_id=item.id,
                note="文件修订调整了办理时限",
                details={"from": str(item.deadline), "to": str(measure.deadline)},
            )
            item.deadline = item.original_deadline = measure.deadline
            changed = True
        if changed:
            replan(item, self.now)
            item.version += 1
            item.updated_at = self.now
            self.session.add(item)
            self.count("items_updated")

    def withdraw_item(self, item: Item, reason: str) -> None:
        if item.withdrawn:
            return
        item.withdrawn = True
        replan(item, self.now)
        item.version += 1
        item.updated_at = self.now
        self.session.add(item)
        self.count("items_withdrawn")
        record_audit(
            self.session,
            self.actor,
            "item",
            item.id,
            "withdraw",
            now=self.now,
            item_id=item.id,
            note=reason,
        )


def measure_fields(extracted: ExtractedMeasure) -> dict[str, Any]:
    return {
        "ref": extracted.ref[:100],
        "title": extracted.title[:500],
        "text": extracted.text,
        "deadline": extracted.deadline,
        "deadline_source": extracted.deadline_source,
        "recurrence": extracted.recurrence,
        "joint": bool(getattr(extracted, "joint", False)),
    }


def safe_filename(filename: str) -> str:
    """Only the base name of an uploaded file is kept (no paths, no control characters).

    A name of dots alone (`..`) names a directory, not a file, and is not kept.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in base if ch.isprintable())[:255]
    return kept if kept.strip(".") else ""


def list_documents(database: Database) -> list[dict[str, Any]]:
    """Every document with its measure, item and unassigned counts."""
    with database.reading() as session:
        return document_rows(session)


def document_rows(session: Session) -> list[dict[str, Any]]:
    documents = session.exec(select(Document).order_by(col(Document.id).desc())).all()
    measure_rows = session.exec(
        select(Measure.id, Measure.document_id).where(col(Measure.withdrawn).is_(False))
    ).all()
    live_items = session.exec(select(Item.measure_id).where(col(Item.withdrawn).is_(False))).all()
    items_per_measure: dict[int, int] = {}
    for measure_id in live_items:
        items_per_measure[measure_id] = items_per_measure.get(measure_id, 0) + 1
    stats: dict[int, dict[str, int]] = {}
    for measure_id, document_id in measure_rows:
        row = stats.setdefault(document_id, {"measures": 0, "items": 0, "unassigned": 0})
        row["measures"] += 1
        row["items"] += items_per_measure.get(measure_id, 0)
        row["unassigned"] += measure_id not in items_per_measure
    empty = {"measures": 0, "items": 0, "unassigned": 0}
    return [
        {**document.model_dump(exclude={"text"}), **stats.get(document.id, empty)}
        for document in documents
    ]


def document_detail(database: Database, document_id: int, actor: Actor) -> dict[str, Any]:
    """A document, its measures and targets, and the items the actor may see."""
    with database.reading() as session:
        return document_view(session, document_id, actor)


def document_view(session: Session, document_id: int, actor: Actor) -> dict[str, Any]:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound(f"文件 {document_id} 不存在")
    measures = session.exec(
        select(Measure).where(Measure.document_id == document_id).order_by(Measure.position)
    ).all()
    ids = [m.id for m in measures]
    targets = session.exec(
        select(Target).where(col(Target.measure_id).in_(ids)).order_by(Target.position)
    ).all()
    rows = session.exec(
        select(Item, Unit)
        .join(Unit, col(Unit.id) == Item.unit_id)
        .where(col(Item.measure_id).in_(ids), col(Item.withdrawn).is_(False))
        .order_by(col(Item.id))
    ).all()
    items_by_measure: dict[int, list[tuple[Item, Unit]]] = {}
    for item, unit in rows:
        items_by_measure.setdefault(item.measure_id, []).append((item, unit))
    targets_by_measure: dict[int, list[dict[str, Any]]] = {}
    for target in targets:
        targets_by_measure.setdefault(target.measure_id, []).append(target.model_dump())
    details = []
    for measure in measures:
        items = items_by_measure.get(measure.id, [])
        visible = [(i, u) for i, u in items if actor.role != "staff" or i.unit_id == actor.unit_id]
        details.append(
            {
                **measure.model_dump(),
                "unassigned": not items,
                "targets": targets_by_measure.get(measure.id, []),
                "units": [
                    {
                        "unit_id": u.id,
                        "name": u.name,
                        "role": i.role,
                        "implicit": i.implicit,
                        "group": u.is_group,
                        "item_id": i.id,
                        "status": i.status,
                        "deadline": i.deadline,
                        "period": i.period,
                    }
                    for i, u in visible
                ],
            }
        )
    live = [m for m in details if not m["withdrawn"]]
    return {
        **document.model_dump(exclude={"text"}),
        "measures": len(live),
        "items": len(rows),
        "unassigned": sum(1 for m in live if m["unassigned"]),
        "measure_list": details,
    }
