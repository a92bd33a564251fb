"""Importing documents into the database: creation, no-op re-import, revision in place."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import col, func, select

from checklists.reading import DocumentError
from service.clock import FixedClock
from service.db import Database
from service.errors import InvalidInput, NotFound
from service.models import Document, Event, Item, Measure, Unit
from service.services.audit import CLI_ACTOR
from service.services.documents import ImportRequest, import_document
from service.services.units import DirectoryEntry, register_units
from tests.service.conftest import PLAN


def run_import(database: Database, clock: FixedClock, text: str, **options) -> dict:
    request = ImportRequest(text.encode("utf-8"), "plan.txt", **options)
    report = import_document(database, request, actor=CLI_ACTOR, now=clock.now(),
                             today=date(2026, 11, 20), max_bytes=1_000_000)
    return report.as_dict()


def count(database: Database, model: type, *where) -> int:
    with database.reading() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_import_creates_measures_items_units_and_events(database: Database, clock) -> None:
    report = run_import(database, clock, PLAN)
    assert report["outcome"] == "created"
    assert report["measures"] == 4
    # 2 + 1 + 1 (lead) + 1 group ("各相关单位") + 2
    assert report["items"] == count(database, Item) == 7
    assert report["unassigned"] == 0
    assert "市交通运输局" in report["new_units"]
    assert count(database, Event, Event.type == "item.assigned") == 7
    assert count(database, Event, Event.type == "document.imported") == 1
    with database.reading() as session:
        unit = session.exec(select(Unit).where(Unit.name == "市交通运输局")).one()
        assert unit.confirmed is False
        recurring = session.exec(
            select(Item).join(Measure).where(col(Measure.recurrence).is_not(None))
        ).one()
        assert (recurring.period, recurring.deadline) == ("2026", date(2026, 12, 31))


def test_import_resolves_names_through_the_directory(database: Database, clock) -> None:
    register_units(database, [DirectoryEntry("市工业和信息化局", ("市工信局",))],
                   actor=CLI_ACTOR, now=clock.now())
    report = run_import(database, clock, PLAN)
    assert "市工信局" not in report["new_units"]
    with database.reading() as session:
        unit = session.exec(select(Unit).where(Unit.name == "市工业和信息化局")).one()
        assert session.exec(select(Item).where(Item.unit_id == unit.id)).one()


def test_reimporting_the_same_document_changes_nothing(database: Database, clock) -> None:
    first = run_import(database, clock, PLAN)
    events = count(database, Event)
    second = run_import(database, clock, PLAN)
    assert second["outcome"] == "unchanged"
    assert second["document_id"] == first["document_id"]
    assert count(database, Event) == events
    assert count(database, Document) == 1


def test_revision_updates_in_place_and_keeps_item_state(database: Database, clock) -> None:
    first = run_import(database, clock, PLAN)
    with database.transaction() as session:
        kept = session.exec(select(Item).join(Unit).where(Unit.name == "市交通运输局")).one()
        kept.status = "in_progress"
        kept.percent = 40
        session.add(kept)
    revised = (
        PLAN.replace("市交通运输局、市公安局", "市交通运输局")
        .replace("（二）做好资金保障。统筹安排专项资金。（责任单位：市财政局、市发展改革委）\n", "")
        + "（二）开展人才培训。每年培训不少于200人次。（责任单位：市人力社保局）\n"
    )
    report = run_import(database, clock, revised)
    assert report["outcome"] == "revised"
    assert report["document_id"] == first["document_id"]
    assert report["revision"] == 2
    assert report["changes"]["items_withdrawn"] >= 3  # 公安局, 财政局, 发展改革委
    with database.reading() as session:
        again = session.get(Item, kept.id)
        assert (again.status, again.percent, again.withdrawn) == ("in_progress", 40, False)
        assert session.exec(select(func.count()).select_from(Item)).one() == count(
            database, Item
        )
    assert count(database, Document) == 1
    assert count(database, Item, col(Item.withdrawn).is_(False)) == report["items"]


def test_replace_names_a_missing_document(database: Database, clock) -> None:
    with pytest.raises(NotFound):
        run_import(database, clock, PLAN, replace_id=999)


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"", DocumentError), (b"\x00\x01\x02binary\xff\xfe" * 50, DocumentError)],
)
def test_bad_files_are_refused_and_store_nothing(database, clock, data, error) -> None:
    with pytest.raises(error):
        import_document(database, ImportRequest(data, "x.txt"), actor=CLI_ACTOR,
                        now=clock.now(), today=date(2026, 11, 20), max_bytes=1_000_000)
    assert count(database, Document) == 0


def test_text_without_measures_is_refused(database: Database, clock) -> None:
    with pytest.raises(InvalidInput):
        run_import(database, clock, "- 1 -\n\n- 2 -\n")
    assert count(database, Document) == count(database, Event) == 0
