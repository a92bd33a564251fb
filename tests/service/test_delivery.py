"""The delivery worker against a real receiver on 127.0.0.1, with a clock the test moves."""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, delete, func, select

from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.models import Delivery, DeliveryAttempt, Event, Subscription, Unit
from service.models.events import current_txid
from service.services.delivery import (
    DeliverySettings,
    Recorded,
    claim,
    digest_msg_id,
    next_messages,
    record,
)
from service.worker import DeliveryWorker
from tests.conftest import TEST_NOW
from tests.receivers import ACCEPTED, Receiver, Reply, receiving, robot_error
from webhooks import events as ev
from webhooks.retry import Outcome, Verdict
from webhooks.signing import new_standard_secret, verify_standard
from webhooks.transport import Attempt

SECRET = new_standard_secret(bytes(range(32)))
OLD_SECRET = new_standard_secret(bytes(range(1, 33)))
SECONDS = timedelta(seconds=1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def worker_config(config: Config) -> Config:
    return config.with_overrides(
        {"webhook_allowed_networks": "127.0.0.0/8", "base_url": "https://duban.example.cn"}
    )


def make_worker(
    config: Config, database: Database, clock: FixedClock, worker_id: str = "w1"
) -> DeliveryWorker:
    return DeliveryWorker(config, database, clock, rng=random.Random(5), worker_id=worker_id)


@pytest.fixture
def worker(
    worker_config: Config, database: Database, clock: FixedClock
) -> Iterator[DeliveryWorker]:
    delivery = make_worker(worker_config, database, clock)
    yield delivery
    delivery.close()


def subscribe(
    database: Database,
    url: str,
    format: str = "standard",
    *,
    secrets: tuple[str, ...] = (SECRET,),
    **settings: object,
) -> int:
    with database.transaction() as session:
        row = Subscription(
            url=url,
            format=format,
            secrets=[{"secret": s, "expires_at": None} for s in secrets],
            created_at=TEST_NOW,
            updated_at=TEST_NOW,
            **settings,
        )
        session.add(row)
        session.flush()
        return int(row.id)


def add_unit(database: Database, name: str) -> int:
    with database.transaction() as session:
        unit = Unit(name=name, name_key=name, created_at=TEST_NOW)
        session.add(unit)
        session.flush()
        return int(unit.id)


def owe(
    database: Database,
    subscription_id: int,
    count: int = 1,
    *,
    now: datetime = TEST_NOW,
    unit_id: int | None = None,
) -> list[str]:
    """`count` events owed to one subscription: Event and Delivery rows, as the outbox writes."""
    event_ids = []
    with database.transaction() as session:
        for number in range(1, count + 1):
            data = ev.item_data(
                item_id=number, title=f"建设智慧路口第{number}项", unit_id=unit_id, unit_name="单位"
            )
            event = Event(
                txid=current_txid(),
                event_id=str(uuid.uuid4()),
                type=ev.ITEM_OVERDUE,
                source="/duban-checklists",
                subject=f"items/{number}",
                time=now,
                data=data,
                unit_id=unit_id,
            )
            session.add(event)
            session.flush()
            session.add(
                Delivery(
                    subscription_id=subscription_id,
                    event_id=event.id,
                    next_attempt_at=now,
                    msg_id=f"msg_{event.event_id}",
                    created_at=now,
                )
            )
            event_ids.append(event.event_id)
    return event_ids


def deliveries(database: Database, subscription_id: int) -> list[Delivery]:
    with database.reading() as session:
        query = select(Delivery).where(Delivery.subscription_id == subscription_id)
        rows = list(session.exec(query.order_by(col(Delivery.id))).all())
        session.expunge_all()
    return rows


def attempts(database: Database, subscription_id: int) -> list[DeliveryAttempt]:
    with database.reading() as session:
        query = select(DeliveryAttempt).where(DeliveryAttempt.subscription_id == subscription_id)
        rows = list(session.exec(query.order_by(col(DeliveryAttempt.id))).all())
        session.expunge_all()
    return rows


def subscription(database: Database, subscription_id: int) -> Subscription:
    with database.reading() as session:
        row = session.get(Subscription, subscription_id)
        session.expunge_all()
    return row


def test_a_delivered_event_is_signed_recorded_and_released(database, worker, receiver, clock):
    sid = subscribe(database, receiver.url + "/hook")
    [event_id] = owe(database, sid)
    assert worker.run_once() == 1
    [request] = receiver.received
    assert request.path == "/hook" and request.json()["id"] == event_id
    assert request.headers["content-type"].startswith("application/cloudevents+json")
    stamp = int(clock.now().timestamp())
    assert verify_standard([SECRET], request.headers, request.body, now=stamp)
    [delivery] = deliveries(database, sid)
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (
        "delivered",
        1,
        clock.now(),
    )
    assert request.headers["webhook-id"] == delivery.msg_id
    [attempt] = attempts(database, sid)
    assert (attempt.status_code, attempt.outcome, attempt.event_count) == (204, "delivered", 1)
    assert attempt.msg_id == delivery.msg_id and delivery.last_attempt_id == attempt.id
    endpoint = subscription(database, sid)
    assert endpoint.lease_owner is None and endpoint.failing_since is None
    assert worker.run_once() == 0


def test_retries_follow_the_schedule_with_jitter_then_fail(
    database, worker, worker_config, receiver, clock
):
    receiver.answer(Reply(500, b"boom"))
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    schedule = worker_config.retry_schedule
    for tries in range(1, len(schedule) + 1):
        assert worker.run_once() == 1
        [delivery] = deliveries(database, sid)
        assert delivery.attempts == tries and delivery.last_error == "HTTP 500"
        if tries == len(schedule):
            break
        delay = delivery.next_attempt_at - clock.now()
        assert schedule[tries] * 0.8 <= delay <= schedule[tries] * 1.2
        clock.advance(delay - SECONDS)
        assert worker.run_once() == 0
        clock.set(delivery.next_attempt_at)
    assert delivery.status == "failed"
    assert len(receiver.received) == len(schedule)
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery.msg_id}
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0
    assert subscription(database, sid).active


@pytest.mark.parametrize(
    "retry_after", ["3600", "Fri, 20 Nov 2026 02:30:00 GMT"], ids=["seconds", "http-date"]
)
def test_retry_after_is_honoured(database, worker, receiver, clock, retry_after):
    receiver.script(Reply(503, headers={"Retry-After": retry_after}))
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    assert worker.run_once() == 1
    [delivery] = deliveries(database, sid)
    assert delivery.next_attempt_at == clock.now() + timedelta(hours=1)
    assert delivery.attempts == 1 and delivery.status == "pending"
    clock.advance(timedelta(minutes=59))
    assert worker.run_once() == 0
    clock.advance(timedelta(minutes=1))
    assert worker.run_once() == 1
    assert deliveries(database, sid)[0].status == "delivered"


def test_a_permanent_failure_is_not_retried(database, worker, receiver, clock):
    receiver.answer(Reply(410, b"gone"))
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    assert worker.run_once() == 1
    [delivery] = deliveries(database, sid)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, "HTTP 410")
    [attempt] = attempts(database, sid)
    assert attempt.outcome == "permanent" and attempt.response_excerpt == "gone"
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0 and len(receiver.received) == 1
    assert subscription(database, sid).failing_since == TEST_NOW


@pytest.mark.parametrize(
    ("format", "secrets", "reply", "status"),
    [
        ("dingtalk", ("SECabc",), robot_error(310000, "keywords not in content"), "failed"),
        ("dingtalk", ("SECabc",), robot_error(-1, "system busy"), "pending"),
        ("dingtalk", ("SECabc",), Reply(200, b"<html>gateway</html>"), "pending"),
        ("wecom", (), robot_error(93000, "invalid webhook url"), "failed"),
        ("feishu", ("fs",), robot_error(19021, "sign match fail", field="code"), "failed"),
        ("slack", (), Reply(200, b'{"ok":false,"error":"invalid_blocks"}'), "pending"),
    ],
)
def test_robot_errors_on_http_200_are_failures(
    database, worker, receiver, format, secrets, reply, status
):
    receiver.answer(reply)
    sid = subscribe(database, receiver.url, format, secrets=secrets)
    owe(database, sid)
    assert worker.run_once() == 1
    [delivery] = deliveries(database, sid)
    assert (delivery.status, delivery.attempts) == (status, 1)
    assert deliveries(database, sid)[0].delivered_at is None


@pytest.mark.parametrize(
    ("format", "reply", "pause"),
    [
        ("dingtalk", robot_error(130101, "send too fast"), timedelta(minutes=10)),
        ("wecom", robot_error(45009, "api freq out of limit"), timedelta(minutes=1)),
        ("feishu", robot_error(11232, "frequency limited", field="code"), timedelta(minutes=1)),
        ("feishu", Reply(400, b'{"code":9499,"msg":"too many request"}'), timedelta(minutes=1)),
        ("standard", Reply(429, headers={"Retry-After": "120"}), timedelta(seconds=120)),
        ("slack", Reply(429, b"rate_limited"), timedelta(minutes=1)),
    ],
)
def test_rate_limited_answers_pause_the_endpoint_without_using_attempts(
    database, worker, receiver, clock, format, reply, pause
):
    receiver.script(reply)
    receiver.answer(ACCEPTED[format])
    sid = subscribe(database, receiver.url, format)
    owe(database, sid, 2)
    assert worker.run_once() == 1  # the robot said stop: the second message waits
    endpoint = subscription(database, sid)
    assert endpoint.paused_until == clock.now() + pause and endpoint.lease_owner is None
    assert [(d.status, d.attempts) for d in deliveries(database, sid)] == [("pending", 0)] * 2
    assert [a.outcome for a in attempts(database, sid)] == ["rate_limited"]
    clock.advance(pause - SECONDS)
    assert worker.run_once() == 0
    clock.advance(SECONDS)
    assert worker.run_once() >= 1  # Slack, one a second, gets both in a digest
    assert [(d.status, d.attempts) for d in deliveries(database, sid)] == [("delivered", 1)] * 2


def test_a_per_minute_limit_holds_back_the_rest_until_a_slot_opens(
    database, worker, receiver, clock
):
    sid = subscribe(database, receiver.url, rate_limit_per_minute=2, digest=False)
    owe(database, sid, 3)
    assert worker.run_once() == 2
    assert worker.run_once() == 0
    assert subscription(database, sid).paused_until == clock.now() + timedelta(seconds=61)
    clock.advance(timedelta(seconds=30))
    assert worker.run_once() == 0
    clock.advance(timedelta(seconds=31))
    assert worker.run_once() == 1
    assert len(receiver.received) == 3
    assert {d.status for d in deliveries(database, sid)} == {"delivered"}


def test_a_digest_is_one_message_per_unit(database, worker, receiver):
    north, south = add_unit(database, "北区交通局"), add_unit(database, "南区交通局")
    sid = subscribe(database, receiver.url, digest=True)
    expected = {north: [], south: []}
    for unit in (north, south, north, south, north):
        expected[unit] += owe(database, sid, unit_id=unit)
    assert worker.run_once() == 2
    batches = [request.json() for request in receiver.received]
    assert [[e["id"] for e in batch] for batch in batches] == [expected[north], expected[south]]
    assert (
        receiver.received[0]
        .headers["content-type"]
        .startswith("application/cloudevents-batch+json")
    )
    rows = deliveries(database, sid)  # written north, south, north, south, north
    assert receiver.received[0].headers["webhook-id"] == digest_msg_id(
        [rows[0].msg_id, rows[2].msg_id, rows[4].msg_id]
    )
    assert {(d.status, d.attempts) for d in rows} == {("delivered", 1)}


def test_a_retried_digest_keeps_its_webhook_id(database, worker, receiver, clock):
    receiver.script(Reply(500))
    sid = subscribe(database, receiver.url, digest=True)
    owe(database, sid, 3)
    assert worker.run_once() == 1
    clock.set(min(d.next_attempt_at for d in deliveries(database, sid)))
    assert worker.run_once() == 1
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]


def test_every_unexpired_secret_signs_newest_first(database, worker, receiver, clock):
    expired = new_standard_secret(bytes(range(2, 34)))
    with database.transaction() as session:
        row = Subscription(
            url=receiver.url,
            format="standard",
            secrets=[
                {"secret": SECRET, "expires_at": None},
                {"secret": OLD_SECRET, "expires_at": (clock.now() + timedelta(days=1)).isoformat()},
                {"secret": expired, "expires_at": "2026-11-01T00:00:00Z"},
            ],
            created_at=TEST_NOW,
            updated_at=TEST_NOW,
        )
        session.add(row)
        session.flush()
        sid = int(row.id)
    owe(database, sid)
    assert worker.run_once() == 1
    [request] = receiver.received
    stamp = int(clock.now().timestamp())
    assert len(request.headers["webhook-signature"].split()) == 2
    for secret, valid in ((SECRET, True), (OLD_SECRET, True), (expired, False)):
        assert verify_standard([secret], request.headers, request.body, now=stamp) is valid


def test_a_strange_answer_is_kept_readable(database, worker, receiver):
    receiver.answer(Reply(500, b"\x00\xff\xfe oops " + "错误".encode() + b"x" * 5000))
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    assert worker.run_once() == 1
    [attempt] = attempts(database, sid)
    assert attempt.response_excerpt.startswith("\ufffd\ufffd\ufffd oops 错误")
    assert len(attempt.response_excerpt) <= 2048 and attempt.latency_ms >= 0


def test_an_endpoint_failing_for_five_days_is_disabled_and_others_are_told(
    database, worker, receiver, clock
):
    receiver.answer(Reply(500))
    sid = subscribe(database, receiver.url + "/broken", description="某OA系统")
    with receiving(ACCEPTED["standard"]) as observer:
        watcher = subscribe(database, observer.url, event_types=["subscription.*"])
        owe(database, sid)
        assert worker.run_once() == 1
        clock.advance(timedelta(days=4))
        owe(database, sid, now=clock.now())
        assert worker.run_once() == 2
        assert subscription(database, sid).active
        clock.advance(timedelta(days=1))
        owe(database, sid, now=clock.now())
        assert worker.run_once() == 1  # the first failure at five days stops the pass
        endpoint = subscription(database, sid)
        assert not endpoint.active and endpoint.disabled_at == clock.now()
        assert "5 天" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
        assert endpoint.failing_since == TEST_NOW
        assert worker.run_once() == 1  # the news goes to the watcher, never to the broken one
        [news] = [r.json() for r in observer.received]
    assert news["type"] == ev.SUBSCRIPTION_DISABLED and news["subject"] == f"subscriptions/{sid}"
    assert news["data"]["subscription"] == {
        "id": str(sid),
        "description": "某OA系统",
        "format": "standard",
    }
    assert "5 天" in news["data"]["note"]
    assert [d.status for d in deliveries(database, watcher)] == ["delivered"]
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0


def test_a_success_ends_the_failure_streak(database, worker, receiver, clock):
    receiver.script(Reply(500))
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    worker.run_once()
    assert subscription(database, sid).failing_since == TEST_NOW
    clock.advance(timedelta(minutes=1))
    worker.run_once()
    assert subscription(database, sid).failing_since is None


def test_a_crashed_workers_lease_expires_and_its_deliveries_go_out(
    database, worker, receiver, clock
):
    sid = subscribe(database, receiver.url)
    owe(database, sid, 2)
    assert claim(database, "crashed", clock.now()) == [sid]
    plan = next_messages(database, sid, "crashed", clock.now())
    assert plan is not None and len(plan.messages) == 2  # then it died before sending
    assert worker.run_once() == 0
    clock.advance(timedelta(seconds=59))
    assert worker.run_once() == 0 and receiver.received == []
    clock.advance(timedelta(seconds=1))
    assert worker.run_once() == 2
    assert {d.status for d in deliveries(database, sid)} == {"delivered"}


def test_a_worker_takes_back_its_own_lease_left_by_a_database_outage(database, receiver, clock):
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    assert claim(database, "w1", clock.now()) == [sid]  # then the release failed
    assert claim(database, "w2", clock.now()) == []  # others still wait for the lease
    assert claim(database, "w1", clock.now()) == [sid]


def test_a_lost_lease_stops_the_old_holder(database, worker_config, receiver, clock):
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    assert claim(database, "slow", clock.now()) == [sid]
    clock.advance(timedelta(minutes=2))
    assert claim(database, "other", clock.now()) == [sid]
    assert next_messages(database, sid, "slow", clock.now()) is None


def pending(database: Database) -> int:
    with database.reading() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
        return session.exec(query).one()


class CountingWorker(DeliveryWorker):
    sent = 0

    def run_once(self, now: datetime | None = None) -> int:
        sent = super().run_once(now)
        self.sent += sent
        return sent


def test_two_workers_never_send_the_same_delivery_twice(fresh_database, worker_config):
    config = worker_config.with_overrides({"worker_poll_seconds": 0.01})
    clock = FixedClock(TEST_NOW)
    with receiving(Reply(204, delay_s=0.002)) as receiver:
        for number in range(25):
            owe(fresh_database, subscribe(fresh_database, f"{receiver.url}/hook/{number}"), 4)
        workers = [
            CountingWorker(config, fresh_database, clock, rng=random.Random(n), worker_id=f"w{n}")
            for n in range(2)
        ]
        stop = threading.Event()
        threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while pending(fresh_database) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join(5)
        ids = [request.headers["webhook-id"] for request in receiver.received]
    assert not any(thread.is_alive() for thread in threads)
    assert len(ids) == 100 and len(set(ids)) == 100
    assert all(w.sent > 0 for w in workers) and sum(w.sent for w in workers) == 100


def test_the_loop_survives_a_database_outage_and_stops_promptly(worker_config, clock, caplog):
    unreachable = Database("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    delivery = DeliveryWorker(
        worker_config.with_overrides({"worker_poll_seconds": 0.05}), unreachable, clock
    )
    stop = threading.Event()
    thread = threading.Thread(target=delivery.run, args=(stop,))
    with caplog.at_level(logging.WARNING, logger="service.worker"):
        thread.start()
        deadline = time.monotonic() + 10
        while sum(r.message == "database unavailable" for r in caplog.records) < 2:
            assert time.monotonic() < deadline, "no outage logged"
            time.sleep(0.02)
        stop.set()
        thread.join(2)
    assert not thread.is_alive()
    unreachable.dispose()


def test_retry_after_zero_still_pauses_a_little(database, worker, receiver, clock):
    receiver.script(Reply(429, headers={"Retry-After": "0"}))
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    assert worker.run_once() == 1
    assert subscription(database, sid).paused_until == clock.now() + 5 * SECONDS
    assert worker.run_once() == 0


def test_an_endpoint_deleted_mid_send_is_left_alone(database, worker_config, receiver, clock):
    sid = subscribe(database, receiver.url)
    owe(database, sid)
    [sid] = claim(database, "w1", clock.now())
    plan = next_messages(database, sid, "w1", clock.now())
    with database.transaction() as session:
        session.exec(delete(Delivery).where(col(Delivery.subscription_id) == sid))
        session.delete(session.get(Subscription, sid))
    recorded = record(
        database,
        plan.endpoint,
        plan.messages[0],
        Attempt(204),
        Verdict(Outcome.DELIVERED, "HTTP 204"),
        worker_id="w1",
        now=clock.now(),
        rng=random.Random(1),
        settings=DeliverySettings.from_config(worker_config),
    )
    assert recorded == Recorded("deleted", keep_going=False)
    assert attempts(database, sid) == []
