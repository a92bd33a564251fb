"""Proof under faults: processes killed -9 at random moments, the database restarted under load.

The kill test runs the Procfile's web (gunicorn), worker and clock as separate processes
on a fresh PostgreSQL schema while a client reports progress and reminder sweeps run.
The clock reads the system time and no process can be given another, so it sweeps at
the real now, and `checklist remind --as-of DAY` walks the simulated days a reminder
series needs; both are killed like the rest. A dead process's leases are made to run
out at once (the minute they would last), as in test_webhook_delivery.

The restart tests stop and start a private cluster (tests/e2e/pgcluster.py): the shared
server on 5432 serves other tests at the same time.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlmodel import col, func, select, update

from checklists.reminders import Kind
from checklists.workdays import CalendarNotCovered, add_workdays
from checklists.workflow import Action
from service import schema
from service.config import Config
from service.db import Database
from service.models import AuditRecord, Delivery, Event, Lease, Reminder, Subscription
from service.services.items import EVENT_FOR_ACTION
from service.services.reminders import sweep, sweep_moment
from tests.conftest import postgres_schema_url, postgres_server_url
from tests.e2e.conftest import free_port, serving
from tests.e2e.fleet import Fleet, procfile
from tests.e2e.office import (
    TIMEOUT_S,
    Office,
    Ticker,
    acknowledge_all,
    api,
    healthy,
    local_today,
    open_office,
    pending,
    received_ids,
    rows,
    subscribe_over_http,
    wait_until,
)
from tests.e2e.pgcluster import Cluster, private_cluster, why_unavailable
from tests.e2e.test_webhook_delivery import emit, start_worker, subscribe
from tests.receivers import Receiver, Reply, receiving

pytestmark = pytest.mark.e2e

SEED = 20261124
REMINDER_TYPES = {kind.event_type for kind in Kind}
# Working days from today: the items' deadlines, and the days the sweeps walk through.
DEADLINES = (1, 2, 3, 4, 5, 6)
SWEEP_DAYS = (1, 2, 4, 6, 8, 11)


@pytest.fixture
def postgres(request: pytest.FixtureRequest) -> None:
    if "postgresql" not in request.config.getoption("backends"):
        pytest.skip("PostgreSQL is not among --backends")


@pytest.fixture
def schema_url(postgres: None) -> Iterator[str]:
    yield from postgres_schema_url(postgres_server_url())


@pytest.fixture
def cluster(postgres: None) -> Iterator[Cluster]:
    """A private PostgreSQL cluster, which the test may stop and start."""
    if reason := why_unavailable():
        pytest.skip(reason)
    with private_cluster() as running:
        yield running


@pytest.fixture
def cluster_database(cluster: Cluster) -> Iterator[Database]:
    database = Database(cluster.url)
    yield database
    database.dispose()


# --- 1. kill -9 at random moments --------------------------------------------------------

PROCESSES = ("web", "worker", "clock")


def reminder_days(today: date) -> tuple[list[date], list[date]]:
    """The items' deadlines and the days the sweeps walk, in working days from `today`."""
    try:
        add_workdays(today, max(SWEEP_DAYS) + 5)  # the sweeps plan a step or two beyond
    except CalendarNotCovered as error:
        pytest.skip(f"the holiday calendar does not cover the weeks after {today}: {error}")
    return [add_workdays(today, n) for n in DEADLINES], [add_workdays(today, n) for n in SWEEP_DAYS]


def leases_run_out(database: Database, name: str) -> None:
    """The minute a dead process's leases would last passes: an endpoint's, the clock's."""
    now = datetime.now(UTC)
    with database.transaction() as session:
        if name == "worker":
            leased = col(Subscription.lease_until).is_not(None)
            session.exec(update(Subscription).where(leased).values(lease_until=now))
        if name == "clock":
            session.exec(update(Lease).values(expires_at=now))


def simulated_days_arrive(database: Database) -> None:
    """The worker's clock reaches the swept days: their reminders' deliveries fall due.

    A sweep as of a later day records its events, and their deliveries, at that moment.
    """
    now = datetime.now(UTC)
    later = (col(Delivery.status) == "pending") & (col(Delivery.next_attempt_at) > now)
    with database.transaction() as session:
        session.exec(update(Delivery).where(later).values(next_attempt_at=now))


def sweep_days(fleet: Fleet, days: list[date], stop: threading.Event, codes: list[int]) -> None:
    """`checklist remind --as-of DAY` for each day in turn; a killed sweep runs its day again."""
    index = 0
    while not stop.is_set():
        day = days[min(index, len(days) - 1)]
        code = fleet.start("remind", f"checklist remind --as-of {day.isoformat()}").wait()
        codes.append(code)
        index += code == 0


def kill_at_random(
    fleet: Fleet, database: Database, base: str, rng: random.Random, rounds: int
) -> None:
    """SIGKILL web, worker, clock and the running sweep in a seeded order, restarting each."""
    commands = procfile()
    targets = [*PROCESSES, "remind"] * rounds
    rng.shuffle(targets)
    for target in targets:
        time.sleep(rng.uniform(0.3, 1.5))
        if not fleet.kill(target) or target == "remind":
            continue  # the sweeper runs a killed sweep's day again by itself
        time.sleep(rng.uniform(0.0, 0.5))
        leases_run_out(database, target)
        fleet.start(target, commands[target])
        if target == "web":  # else the client would see little but a web process booting
            wait_until(lambda: healthy(base), 60, "the web process answers again")


def test_kill_minus_nine_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, schema_url: str
) -> None:
    port = free_port()
    env = {
        "DATABASE_URL": schema_url,
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WEBHOOK_RETRY_SCHEDULE": "0,0.2,0.5,1,1,1",
        "WORKER_POLL_SECONDS": "0.1",
        "LOG_FORMAT": "text",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    base = f"http://127.0.0.1:{port}"
    database = Database(schema_url)
    fleet = Fleet(env, tmp_path)
    # A receiver that takes a moment keeps the worker mid-request for part of the time.
    with receiving(Reply(204, delay_s=0.05)) as everything, receiving() as progress:
        try:
            run_kill_test(fleet, database, base, everything, progress)
        finally:
            fleet.stop()
            database.dispose()


def run_kill_test(
    fleet: Fleet,
    database: Database,
    base: str,
    everything: Receiver,
    progress: Receiver,
) -> None:
    deadlines, days = reminder_days(local_today())
    office = open_office(database, deadlines)
    commands = procfile()
    fleet.start("web", commands["web"])
    wait_until(lambda: healthy(base), 60, "the web process answers")
    subscribe_over_http(base, office.supervisor, everything.url, [])
    subscribe_over_http(base, office.supervisor, progress.url, ["item.progress_reported"])
    for name in ("worker", "clock"):  # the clock's first sweep comes after the subscriptions
        fleet.start(name, commands[name])
    items = acknowledge_all(base, office.staff)
    assert len(items) == len(DEADLINES)

    ticker = Ticker(base, office.staff)
    sweep_codes: list[int] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=ticker.run, args=(items, stop)),
        threading.Thread(target=sweep_days, args=(fleet, days, stop, sweep_codes)),
    ]
    for thread in threads:
        thread.start()
    try:
        kill_at_random(fleet, database, base, random.Random(SEED), rounds=2)
        wait_until(lambda: healthy(base), 60, "the web process answers again")
        time.sleep(1.0)  # a last stretch of ticks with everything up
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    config = Config()  # what the processes read from their environment, as to reminders
    sweep(database, config, sweep_moment(config, days[-1]))  # catches up; each item is overdue
    simulated_days_arrive(database)
    wait_until(lambda: pending(database) == 0, 60, "every delivery is made")

    assert set(fleet.kills) == {*PROCESSES, "remind"}, fleet.kills
    assert set(sweep_codes) <= {0, -signal.SIGKILL}, sweep_codes
    check_answers(ticker, fleet)
    check_events(database, ticker)
    check_deliveries(database, everything, progress)
    check_reminders(database, everything)
    fleet.stop()
    assert not fleet.tracebacks()


def check_answers(ticker: Ticker, fleet: Fleet) -> None:
    """Only OK or a stale ETag (a change committed whose answer was lost); never a hang."""
    statuses = Counter(answer.status for answer in ticker.answers)
    hung = [a for a in ticker.answers if a.status in ("ReadTimeout", "ConnectTimeout")]
    assert not hung, (hung, fleet.history)
    assert {s for s in statuses if isinstance(s, int)} <= {200, 412}, statuses
    assert len(ticker.committed) >= 10, statuses


def check_events(database: Database, ticker: Ticker) -> None:
    """Each change the client saw, and each audit record, has its event."""
    events = rows(database, select(Event))
    notes = {(e.item_id, e.data["note"]) for e in events if e.type == "item.progress_reported"}
    assert {(item, note) for item, note, _phase in ticker.committed} <= notes
    audits = rows(database, select(AuditRecord).where(AuditRecord.entity == "item"))
    keys = {(e.item_id, e.type, e.time) for e in events}
    changes = [(a.item_id, EVENT_FOR_ACTION[Action(a.action)], a.at) for a in audits]
    assert [change for change in changes if change not in keys] == []
    item_events = [e for e in events if e.type in set(EVENT_FOR_ACTION.values())]
    assert len(item_events) == len(audits)


def check_deliveries(database: Database, everything: Receiver, progress: Receiver) -> None:
    """Each event after the subscriptions reached each subscriber it matches, at least once."""
    [first] = rows(database, select(func.min(Subscription.created_at)))
    events = rows(database, select(Event).where(col(Event.time) > first))
    assert set(rows(database, select(Delivery.status))) == {"delivered"}
    got = received_ids(everything)
    assert [(e.type, e.time) for e in events if e.event_id not in got] == []
    assert len(got) == len(events)
    wanted = {e.event_id for e in events if e.type == "item.progress_reported"}
    assert received_ids(progress) == wanted


def check_reminders(database: Database, everything: Receiver) -> None:
    """Each reminder step is in the ledger once, has one event, and one message id."""
    ledger = rows(database, select(Reminder))
    keys = Counter((r.item_id, r.kind, r.step, r.deadline, r.unit_id) for r in ledger)
    assert max(keys.values()) == 1
    sent = sorted(r.event_id for r in ledger if r.status == "sent")
    events = rows(database, select(Event.id).where(col(Event.type).in_(REMINDER_TYPES)))
    assert sent == sorted(events)
    assert len(sent) >= len(DEADLINES)
    messages: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for request in everything.received:
        body = request.json()
        if body["type"] in REMINDER_TYPES:
            key = (body["data"]["item"]["id"], body["type"], body["data"]["note"])
            messages[key].add(body["id"])
    assert len(messages) == len(sent)
    assert all(len(ids) == 1 for ids in messages.values())


# --- 2. the database restarts under load -------------------------------------------------

def is_problem(answer: requests.Response, status: int) -> bool:
    kind = answer.headers.get("Content-Type", "")
    return answer.status_code == status and kind.startswith("application/problem+json")


def test_requests_fail_cleanly_while_the_database_is_down_and_recover(
    tmp_path: Path, cluster: Cluster, cluster_database: Database
) -> None:
    database = cluster_database
    with receiving() as receiver:
        env = {
            "DATABASE_URL": cluster.url,
            "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "WORKER_POLL_SECONDS": "0.1",
            "LOG_FORMAT": "text",
            "LOG_LEVEL": "ERROR",  # serving() pipes the log; a full pipe would stall serve
        }
        office = open_office(database, [local_today() + timedelta(days=n) for n in DEADLINES])
        with serving(env, tmp_path) as (base, process):
            subscribe_over_http(base, office.supervisor, receiver.url, ["item.progress_reported"])
            items = acknowledge_all(base, office.staff)
            ticker = Ticker(base, office.staff)
            recovery = restart_under_load(cluster, base, office, ticker, items)
            assert process.poll() is None  # the same serve process throughout
            assert recovery < 5.0, recovery
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
            check_outage_answers(ticker)
            wanted = progress_event_ids(database, ticker, phase="up again")
            wait_until(lambda: received_ids(receiver) >= wanted, 30,
                       "the embedded worker delivers the changes made after the restart")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
            assert "Traceback" not in process.stderr.read()


def restart_under_load(
    cluster: Cluster, base: str, office: Office, ticker: Ticker, items: list[int]
) -> float:
    """Three clients tick while the database stops and starts; how long recovery took."""
    stop = threading.Event()
    load = [
        threading.Thread(target=ticker.run, args=(items[n::3], stop, 0.02)) for n in range(3)
    ]
    for thread in load:
        thread.start()
    try:
        time.sleep(1.0)
        ticker.phase = "down"
        cluster.stop()
        probe_while_down(base, office)
        time.sleep(1.5)
        ticker.phase = "restarting"
        cluster.start()
        recovery = time_to_recover(base, office)
        ticker.phase = "up again"
        time.sleep(1.5)
    finally:
        stop.set()
        for thread in load:
            thread.join(timeout=30)
    return recovery


def progress_event_ids(database: Database, ticker: Ticker, *, phase: str) -> set[str]:
    notes = {note for _item, note, when in ticker.committed if when == phase}
    assert notes, f"no change committed while {phase}"
    events = rows(database, select(Event).where(Event.type == "item.progress_reported"))
    found = {e.data["note"]: e.event_id for e in events if e.data["note"] in notes}
    assert set(found) == notes
    return set(found.values())


def probe_while_down(base: str, office: Office) -> None:
    """Every kind of request answers at once with 503 problem+json while the database is down."""
    staff, supervisor = api(base, office.staff), api(base, office.supervisor)
    answers = [
        requests.get(f"{base}/healthz", timeout=TIMEOUT_S),
        staff("GET", "/api/v1/items"),
        staff("POST", "/api/v1/items/1/transitions", json={"action": "report_progress",
              "note": "断库时报送"}, headers={"If-Match": "*"}),
        supervisor("GET", "/api/v1/events"),
        supervisor("GET", "/api/v1/subscriptions"),
    ]
    for answer in answers:
        assert is_problem(answer, 503), (answer.request.url, answer.status_code, answer.text)
        assert answer.elapsed < timedelta(seconds=5)
    assert answers[0].json()["database"]["reachable"] is False


def time_to_recover(base: str, office: Office) -> float:
    started, call = time.monotonic(), api(base, office.staff)
    wait_until(lambda: call("GET", "/api/v1/items").status_code == 200, 30, "requests succeed")
    return time.monotonic() - started


def check_outage_answers(ticker: Ticker) -> None:
    by_phase: dict[str, Counter[int | str]] = defaultdict(Counter)
    for phase, status, kind, _started, seconds in ticker.answers:
        by_phase[phase][status] += 1
        assert seconds < 5.0, (phase, status, seconds)
        if status == 503:
            assert kind.startswith("application/problem+json")
    statuses = {s for counts in by_phase.values() for s in counts}
    assert statuses <= {200, 412, 503}, by_phase
    assert by_phase["down"][503] > 0 and by_phase["up again"][200] > 0, by_phase
    assert set(by_phase["up again"]) <= {200, 412}, by_phase


def test_the_worker_keeps_delivering_across_a_database_restart(
    tmp_path: Path, cluster: Cluster, cluster_database: Database
) -> None:
    database = cluster_database
    with receiving(Reply(204, delay_s=0.2)) as receiver:
        schema.upgrade(database)
        subscribe(database, receiver.url, "standard")
        env = {
            "DATABASE_URL": cluster.url,
            "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "WORKER_POLL_SECONDS": "0.1",
            "LOG_FORMAT": "text",
        }
        worker = start_worker(env, tmp_path, "worker")
        try:
            before = emit(database, 10, datetime.now(UTC))
            receiver.wait_for(3, timeout=30)
            cluster.stop()  # mid-delivery: the worker holds the endpoint's lease
            time.sleep(1.0)
            assert worker.poll() is None
            cluster.start()
            after = emit(database, 5, datetime.now(UTC))
            wanted = set(before) | set(after)
            wait_until(lambda: received_ids(receiver) >= wanted, 20, "every event is delivered")
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=15)
    assert code == 0
    log = (tmp_path / "worker.log").read_text()
    assert "database unavailable" in log and "Traceback" not in log
