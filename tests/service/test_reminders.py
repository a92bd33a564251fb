"""The reminder sweep against a real database: exactly once, on working days, at 09:00."""

from __future__ import annotations

import bisect
import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as orm_event
from sqlmodel import col, func, select

from checklists.reminders import ItemFacts, Policy, plan
from checklists.workflow import Payload
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.models import Document, Event, Item, Measure, Reminder, Unit
from service.services import items as item_service
from service.services.audit import CLI_ACTOR, Actor
from service.services.documents import ImportRequest, import_document
from service.services.reminders import preview, replan, sweep
from tests.service.conftest import PLAN

D = date
SHANGHAI = ZoneInfo("Asia/Shanghai")
SUPERVISOR = Actor(label="督查室", role="supervisor")
AUGUST = D(2025, 8, 1)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A local (Beijing) moment, as the aware UTC instant the service works with."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def shown(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%m-%d %a %H:%M")


@dataclass
class Office:
    """One document with its units; items are added one measure each."""

    database: Database
    document_id: int
    units: dict[str, int]

    def add(
        self,
        deadline: date | None,
        *,
        unit: str = "市交通运输局",
        assigned_on: date = AUGUST,
        status: str = "assigned",
    ) -> int:
        created = at(assigned_on, 10)
        with self.database.transaction() as session:
            count = session.exec(select(func.count()).select_from(Measure)).one()
            measure = Measure(
                document_id=self.document_id,
                position=count,
                ref=f"（{count + 1}）",
                title=f"措施{count + 1}",
                text="按期完成。",
                deadline=deadline,
            )
            session.add(measure)
            session.flush()
            item = Item(
                measure_id=measure.id,
                unit_id=self.units[unit],
                role="lead",
                status=status,
                deadline=deadline,
                original_deadline=deadline,
                assigned_on=assigned_on,
                created_at=created,
                updated_at=created,
            )
            replan(item, created)
            session.add(item)
            session.flush()
            return item.id

    def act(self, item_id: int, action: str, now: datetime, **payload: object) -> None:
        with self.database.reading() as session:
            unit_id = session.get(Item, item_id).unit_id
        staff = Actor(label="经办人", role="staff", unit_id=unit_id)
        supervisors = ("approve", "reject", "waive", "reassign", "grant_extension", "reopen")
        item_service.transition(
            self.database,
            SUPERVISOR if action in supervisors else staff,
            item_id,
            if_match="*",
            action=action,
            payload=Payload(**payload),
            now=now,
            today=now.astimezone(SHANGHAI).date(),
        )


def open_office(database: Database, policy: dict | None = None) -> Office:
    now = at(D(2025, 8, 1), 8)
    with database.transaction() as session:
        document = Document(
            title="某市重点任务督办方案",
            title_key="某市重点任务督办方案",
            content_hash="0" * 64,
            text="",
            reminder_policy=policy,
            created_at=now,
            updated_at=now,
        )
        units = [
            session.exec(select(Unit).where(Unit.name == name)).first()
            or Unit(name=name, name_key=name, created_at=now)
            for name in ("市交通运输局", "市财政局", "市公安局")
        ]
        session.add_all([document, *units])
        session.flush()
        return Office(database, document.id, {u.name: u.id for u in units})


def fetch(database: Database, query: Any) -> list[SimpleNamespace]:
    """Rows of a one-model query, detached from the session as plain objects."""
    with database.reading() as session:
        return [SimpleNamespace(**row.model_dump()) for row in session.exec(query).all()]


@pytest.fixture
def office(database: Database) -> Office:
    return open_office(database)


def every(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    moment = start
    while moment <= end:
        yield moment
        moment += step


Sent = tuple[str, int, str, str]


def run(database: Database, config: Config, moments: Iterator[datetime]) -> list[Sent]:
    """Sweep at each moment; what was sent, as (local time, item, kind, step)."""
    sent: list[Sent] = []
    for moment in moments:
        report = sweep(database, config, moment)
        sent += [(shown(moment), r.item_id, r.kind, r.step) for r in report.sent]
    return sent


QUARTER_HOUR = timedelta(minutes=15)
HOURLY = timedelta(hours=1)
WALK_START, WALK_END = at(D(2025, 9, 1), 0), at(D(2025, 10, 30), 23, 45)

# Worked out by hand from the State Council notice for 2025: 10-01..10-08 off, Sunday
# 09-28 and Saturday 10-11 worked. Item A is due 10-01 (a holiday), B on 10-10.
NATIONAL_DAY_WALK = [
    ("09-18 Thu 09:00", "A", "due_soon", "10"),
    ("09-19 Fri 09:00", "B", "due_soon", "10"),
    ("09-28 Sun 09:00", "A", "due_soon", "3"),
    ("09-29 Mon 09:00", "B", "due_soon", "3"),
    ("09-30 Tue 09:00", "A", "due_soon", "1"),
    ("10-09 Thu 09:00", "A", "overdue", "1"),
    ("10-09 Thu 09:00", "B", "due_soon", "1"),
    ("10-11 Sat 09:00", "B", "overdue", "1"),
    ("10-13 Mon 09:00", "A", "overdue", "2"),
    ("10-14 Tue 09:00", "A", "escalated", "5"),
    ("10-15 Wed 09:00", "B", "overdue", "2"),
    ("10-16 Thu 09:00", "A", "overdue", "3"),
    ("10-16 Thu 09:00", "B", "escalated", "5"),
    ("10-20 Mon 09:00", "B", "overdue", "3"),
    ("10-21 Tue 09:00", "A", "overdue", "4"),
    ("10-23 Thu 09:00", "B", "overdue", "4"),
    ("10-24 Fri 09:00", "A", "overdue", "5"),
    ("10-28 Tue 09:00", "B", "overdue", "5"),
    ("10-29 Wed 09:00", "A", "overdue", "6"),
]


def national_day_items(office: Office) -> dict[int, str]:
    return {office.add(D(2025, 10, 1)): "A", office.add(D(2025, 10, 10)): "B"}


def named(sent: list[Sent], names: dict[int, str]) -> list[tuple[str, str, str, str]]:
    return [(when, names[item], kind, step) for when, item, kind, step in sent]


def test_the_national_day_walk_every_quarter_hour(
    database: Database, config: Config, office: Office
) -> None:
    names = national_day_items(office)
    sent = run(database, config, every(WALK_START, WALK_END, QUARTER_HOUR))
    assert named(sent, names) == NATIONAL_DAY_WALK
    events = fetch(
        database, select(Event).where(col(Event.type).like("item.%")).order_by(col(Event.id))
    )
    ledger = fetch(database, select(Reminder))
    reminders = [e for e in events if e.type != "item.assigned"]
    assert [(shown(e.time), names[e.item_id], e.type) for e in reminders] == [
        (when, name, f"item.{kind}") for when, name, kind, _step in NATIONAL_DAY_WALK
    ]
    assert {r.status for r in ledger} == {"sent"}
    assert {r.event_id for r in ledger} == {e.id for e in reminders}


def test_a_second_sweep_at_the_same_moment_sends_nothing(
    database: Database, config: Config, office: Office
) -> None:
    national_day_items(office)
    moment = at(D(2025, 10, 9))
    assert len(sweep(database, config, moment).sent) == 2
    again = sweep(database, config, moment)
    assert (again.sent, again.superseded, again.items_read) == ([], 0, 0)


def outages(seed: int, longest: timedelta) -> Callable[[datetime], bool]:
    """A few random stretches of time during which the clock is down."""
    rng = random.Random(seed)
    span = (WALK_END - WALK_START).total_seconds()
    windows = []
    for _ in range(8):
        start = WALK_START + timedelta(seconds=rng.uniform(0, span))
        windows.append(
            (start, start + timedelta(seconds=rng.uniform(3600, longest.total_seconds())))
        )
    return lambda moment: any(start <= moment < end for start, end in windows)


def due_moment(when: str) -> datetime:
    month, day = int(when[:2]), int(when[3:5])
    return at(D(2025, month, day))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_short_outages_only_delay_reminders(
    database: Database, config: Config, office: Office, seed: int
) -> None:
    names = national_day_items(office)
    down = outages(seed, timedelta(hours=23))
    moments = [m for m in every(WALK_START, WALK_END, QUARTER_HOUR) if not down(m)]
    sent = named(run(database, config, iter(moments)), names)
    for name in "AB":
        assert [s[2:] for s in sent if s[1] == name] == [
            s[2:] for s in NATIONAL_DAY_WALK if s[1] == name
        ]
    # Each reminder goes out at the first sweep at or after its moment.
    sent_at = {s[1:]: s[0] for s in sent}
    for when, *key in NATIONAL_DAY_WALK:
        first = moments[bisect.bisect_left(moments, due_moment(when))]
        assert sent_at[tuple(key)] == shown(first)


LINES = {"due_soon": "deadline", "overdue": "deadline", "escalated": "escalated"}


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_long_outages_send_the_latest_news_once(
    database: Database, config: Config, office: Office, seed: int
) -> None:
    names = national_day_items(office)
    down = outages(seed, timedelta(days=6))
    moments = [m for m in every(WALK_START, WALK_END, QUARTER_HOUR) if not down(m)]
    sent = named(run(database, config, iter(moments)), names)
    # The oracle: each step is handled by the first sweep at or after it; of the steps on
    # one line of news a sweep handles for one item, only the latest is sent.
    handled: dict[tuple[datetime, str, str], list[tuple[str, str]]] = defaultdict(list)
    recorded = []
    for when, name, kind, step in NATIONAL_DAY_WALK:
        index = bisect.bisect_left(moments, due_moment(when))
        if index < len(moments):  # the walk may end inside an outage
            handled[(moments[index], name, LINES[kind])].append((kind, step))
            recorded.append((name, kind, step))
    expected = [(shown(first), name, *steps[-1]) for (first, name, _line), steps in handled.items()]
    assert sorted(sent) == sorted(expected)
    ledger = fetch(database, select(Reminder).order_by(col(Reminder.due_at), col(Reminder.item_id)))
    # Nothing is lost: every step is in the ledger, sent or superseded, exactly once.
    assert [(names[r.item_id], r.kind, r.step) for r in ledger] == recorded
    assert sum(r.status == "superseded" for r in ledger) == len(recorded) - len(sent)


def test_a_clock_down_over_the_holiday_catches_up_once(
    database: Database, config: Config, office: Office
) -> None:
    names = national_day_items(office)
    before = run(database, config, every(WALK_START, at(D(2025, 9, 29), 12), QUARTER_HOUR))
    report = sweep(database, config, at(D(2025, 10, 14), 15))
    # Once overdue, "due in 1 working day" is stale news: it is recorded, not sent.
    assert sorted((names[r.item_id], r.kind, r.step) for r in report.sent) == [
        ("A", "escalated", "5"),
        ("A", "overdue", "2"),
        ("B", "overdue", "1"),
    ]
    assert report.superseded == 3  # A's due-soon 1 and overdue 1, B's due-soon 1
    assert len(before) == 4


def test_two_overlapping_sweeps_send_each_reminder_once(
    fresh_database: Database, config: Config, backend: str
) -> None:
    office = open_office(fresh_database)
    rng = random.Random(7)
    ids = [office.add(D(2025, 9, 15) + timedelta(days=rng.randrange(40))) for _ in range(120)]
    reports: list = []
    lock = threading.Lock()

    def sweeper(moment: datetime, barrier: threading.Barrier) -> None:
        barrier.wait()
        report = sweep(fresh_database, config, moment)
        with lock:
            reports.append(report)

    end = at(D(2025, 11, 10))
    for moment in every(at(D(2025, 9, 1)), end, timedelta(hours=8)):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=sweeper, args=(moment, barrier)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    sent = [(r.item_id, r.kind, r.step) for report in reports for r in report.sent]
    assert len(sent) == len(set(sent))
    items = fetch(fresh_database, select(Item).where(col(Item.id).in_(ids)))
    ledger = fetch(fresh_database, select(Reminder))
    kinds = ["item.due_soon", "item.overdue", "item.escalated"]
    events = fetch(fresh_database, select(Event).where(col(Event.type).in_(kinds)))
    expected = sum(
        len(
            plan(
                facts(item), Policy(), send_at=config.reminder_clock_time, tz=SHANGHAI, now=end
            ).due
        )
        for item in items
    )
    assert len(sent) == len(ledger) == len(events) == expected
    assert {r.event_id for r in ledger} == {e.id for e in events}


def facts(item: Any) -> ItemFacts:
    return ItemFacts(item.status, item.deadline, item.assigned_on, item.unit_id)


def test_an_extension_moves_the_pending_due_soon_reminders(
    database: Database, config: Config, office: Office
) -> None:
    item = office.add(D(2025, 10, 10), status="in_progress")
    run(database, config, every(WALK_START, at(D(2025, 9, 22)), HOURLY))
    office.act(
        item, "request_extension", at(D(2025, 9, 22), 10), deadline=D(2025, 10, 31), note="需协调"
    )
    office.act(item, "grant_extension", at(D(2025, 9, 22), 11))
    sent = run(database, config, every(at(D(2025, 9, 22), 11), WALK_END, HOURLY))
    ledger = fetch(database, select(Reminder).order_by(col(Reminder.id)))
    assert [(r.kind, r.step, r.deadline.isoformat()) for r in ledger] == [
        ("due_soon", "10", "2025-10-10"),
        ("due_soon", "10", "2025-10-31"),
        ("due_soon", "3", "2025-10-31"),
        ("due_soon", "1", "2025-10-31"),
    ]
    assert [s[0] for s in sent] == ["10-17 Fri 09:00", "10-28 Tue 09:00", "10-30 Thu 09:00"]


def test_a_reassignment_sends_the_new_unit_its_own(
    database: Database, config: Config, office: Office
) -> None:
    item = office.add(D(2025, 10, 10))
    run(database, config, every(WALK_START, at(D(2025, 9, 30), 12), HOURLY))
    office.act(
        item, "reassign", at(D(2025, 9, 30), 14), unit_id=office.units["市财政局"], note="职责调整"
    )
    run(database, config, every(at(D(2025, 9, 30), 14), at(D(2025, 10, 12)), HOURLY))
    units = {unit_id: name for name, unit_id in office.units.items()}
    ledger = fetch(database, select(Reminder).order_by(col(Reminder.id)))
    assert [(units[r.unit_id], r.kind, r.step, shown(r.due_at)) for r in ledger] == [
        ("市交通运输局", "due_soon", "10", "09-19 Fri 09:00"),
        ("市交通运输局", "due_soon", "3", "09-29 Mon 09:00"),
        ("市财政局", "due_soon", "1", "10-09 Thu 09:00"),
        ("市财政局", "overdue", "1", "10-11 Sat 09:00"),
    ]


@pytest.mark.parametrize(
    ("steps", "resumes"),
    [
        ([("submit", {"note": "已完成"})], False),
        ([("submit", {"note": "已完成"}), ("approve", {})], False),
        ([("waive", {"note": "不再需要"})], False),
        ([("submit", {"note": "已完成"}), ("reject", {"note": "材料不全"})], True),
    ],
    ids=["submit", "approve", "waive", "reject"],
)
def test_closing_or_submitting_stops_reminders(
    database: Database, config: Config, office: Office, steps: list, resumes: bool
) -> None:
    item = office.add(D(2025, 10, 10), status="in_progress")
    run(database, config, every(WALK_START, at(D(2025, 9, 22)), HOURLY))
    for action, payload in steps:
        office.act(item, action, at(D(2025, 9, 22), 10), **payload)
    sent = run(database, config, every(at(D(2025, 9, 22), 10), WALK_END, timedelta(hours=1)))
    with database.reading() as session:
        next_at = session.get(Item, item).next_reminder_at
    if resumes:
        assert sent[0][2:] == ("due_soon", "3") and next_at is not None
    else:
        assert sent == [] and next_at is None


@pytest.fixture
def monthly(database: Database) -> Office:
    return open_office(database, {"progress": {"every": "month", "day": 25}})


def test_monthly_progress_requests_and_missed_notices(
    database: Database, config: Config, monthly: Office
) -> None:
    silent = monthly.add(D(2025, 12, 31), assigned_on=D(2025, 9, 1))
    diligent = monthly.add(D(2025, 12, 31), assigned_on=D(2025, 9, 1), unit="市财政局")
    monthly.act(diligent, "acknowledge", at(D(2025, 9, 1), 11))
    sent, start = [], at(D(2025, 9, 1), 12)
    for reported in (at(D(2025, 9, 10), 16), at(D(2025, 10, 23), 16)):
        sent += run(database, config, every(start, reported, timedelta(hours=3)))
        monthly.act(diligent, "report_progress", reported, note="按计划推进")
        start = reported + timedelta(hours=2)  # back on the 3-hourly beat
    sent += run(database, config, every(start, at(D(2025, 11, 1)), timedelta(hours=3)))
    assert [s for s in sent if s[1] == diligent] == [
        ("10-22 Wed 09:00", diligent, "progress_requested", "2025-10"),
    ]
    assert [s for s in sent if s[1] == silent] == [
        ("09-22 Mon 09:00", silent, "progress_requested", "2025-09"),
        ("09-26 Fri 09:00", silent, "progress_missed", "2025-09"),
        ("10-22 Wed 09:00", silent, "progress_requested", "2025-10"),
        ("10-27 Mon 09:00", silent, "progress_missed", "2025-10"),  # 10-25 was a Saturday
    ]


def test_quarterly_progress_and_recurring_periods(database: Database, config: Config) -> None:
    office = open_office(
        database, {"progress": {"every": "quarter", "day": 20, "remind_before": 2}}
    )
    q4 = office.add(D(2025, 12, 31), assigned_on=D(2025, 10, 1))
    q1 = office.add(D(2026, 3, 31), assigned_on=D(2026, 1, 5))
    moments = every(at(D(2025, 10, 1), 3), at(D(2026, 1, 31)), timedelta(hours=6))
    sent = run(database, config, moments)
    progress = [(when, item, kind, step) for when, item, kind, step in sent if "progress" in kind]
    assert progress == [
        ("10-16 Thu 09:00", q4, "progress_requested", "2025-Q4"),
        ("10-21 Tue 09:00", q4, "progress_missed", "2025-Q4"),
        ("01-16 Fri 09:00", q1, "progress_requested", "2026-Q1"),
        ("01-21 Wed 09:00", q1, "progress_missed", "2026-Q1"),
    ]


def test_a_deadline_in_an_uncovered_year_is_skipped_and_reported(
    database: Database, config: Config, office: Office, caplog: pytest.LogCaptureFixture
) -> None:
    late = office.add(D(2027, 3, 1), assigned_on=D(2026, 11, 2))
    fine = office.add(D(2026, 11, 27), assigned_on=D(2026, 11, 2))
    with caplog.at_level(logging.ERROR, logger="service.services.reminders"):
        report = sweep(database, config, at(D(2026, 11, 20)))
        again = sweep(database, config, at(D(2026, 11, 20), 9, 15))
    assert [(r.item_id, r.kind, r.step) for r in report.sent] == [(fine, "due_soon", "10")]
    assert (report.skipped, report.uncovered_years) == (1, [2027])
    assert (again.skipped, again.sent) == (1, [])
    assert "2027" in str(report)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("2027" in r.getMessage() for r in errors)
    with database.reading() as session:
        assert session.get(Item, late).next_reminder_at <= at(D(2026, 11, 20))


def test_a_sweep_reads_only_the_due_items(
    database: Database, config: Config, office: Office
) -> None:
    due = [office.add(D(2025, 10, 10)) for _ in range(3)]
    later = [office.add(D(2025, 12, 31)) for _ in range(30)]
    closed = [office.add(D(2025, 10, 10), status="approved") for _ in range(30)]
    sweep(database, config, at(D(2025, 9, 1)))  # every item is planned once at first
    loaded: list[int] = []

    def count(target: Item, _context: object) -> None:
        loaded.append(target.id)

    orm_event.listen(Item, "load", count)
    try:
        report = sweep(database, config, at(D(2025, 9, 19)))
    finally:
        orm_event.remove(Item, "load", count)
    assert sorted(loaded) == sorted(due)
    assert report.items_read == 3 and len(report.sent) == 3
    assert len(later) + len(closed) == 60


def test_preview_shows_what_a_sweep_would_send_and_writes_nothing(
    database: Database, config: Config, office: Office
) -> None:
    names = national_day_items(office)
    sweep(database, config, at(D(2025, 9, 1)))
    shown_rows = preview(database, config, at(D(2025, 10, 9)))
    assert sorted((names[r.item_id], r.kind, r.step) for r in shown_rows.sent) == [
        ("A", "overdue", "1"),
        ("B", "due_soon", "1"),
    ]
    assert shown_rows.superseded == 5 and {r.event_id for r in shown_rows.sent} == {None}
    assert shown_rows.sent[0].measure_ref and shown_rows.sent[0].document_title
    with database.reading() as session:
        assert session.exec(select(func.count()).select_from(Reminder)).one() == 0
    report = sweep(database, config, at(D(2025, 10, 9)))
    assert [(r.item_id, r.kind, r.step) for r in report.sent] == [
        (r.item_id, r.kind, r.step) for r in shown_rows.sent
    ]


def test_imported_items_are_planned_by_the_next_sweep(
    database: Database, config: Config, clock: FixedClock
) -> None:
    now = clock.now()
    request = ImportRequest(PLAN.encode(), "plan.txt")
    import_document(
        database, request, actor=CLI_ACTOR, now=now, today=D(2026, 11, 20), max_bytes=10**6
    )
    items = fetch(database, select(Item))
    assert {i.next_reminder_at for i in items} == {now}
    report = sweep(database, config, now)
    assert report.items_read == len(items) and report.skipped == 0
    deadlines = {i.id: i.deadline for i in items}
    for item in fetch(database, select(Item)):
        # Due 2026-12-31: ten working days before. Overdue since 2025: the next notice.
        assert item.next_reminder_at > now
        if deadlines[item.id] == D(2026, 12, 31):
            assert item.next_reminder_at == at(D(2026, 12, 17))


def test_a_stored_policy_that_fails_its_checks_falls_back_to_the_defaults(
    database: Database, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    office = open_office(database, {"overdue_every": 0})
    office.add(D(2025, 10, 1))
    with caplog.at_level(logging.ERROR, logger="service.services.reminders"):
        report = sweep(database, config, at(D(2025, 9, 18)))
    assert [(r.kind, r.step) for r in report.sent] == [("due_soon", "10")]
    assert "reminder policy ignored" in caplog.text
