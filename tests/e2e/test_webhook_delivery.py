"""Webhooks end to end: events fan out through the outbox, the worker delivers to real receivers.

Signatures are checked the way each receiver checks them: the `standardwebhooks`
package for generic endpoints, and independent implementations of the DingTalk and
Feishu algorithms as their documentation describes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select, update
from standardwebhooks.webhooks import Webhook

from service import schema
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.models import Delivery, Subscription, Unit
from service.services.events import record_event
from service.worker import DeliveryWorker
from tests.receivers import ACCEPTED, Receiver, Reply, receiving, robot_error
from webhooks import events as ev
from webhooks.signing import new_standard_secret
from webhooks.transport import Transport

pytestmark = pytest.mark.e2e

STANDARD_SECRET = new_standard_secret(os.urandom(32))
DINGTALK_SECRET = "SEC" + os.urandom(16).hex()
FEISHU_SECRET = os.urandom(12).hex()
SECRETS = {"standard": STANDARD_SECRET, "dingtalk": DINGTALK_SECRET, "feishu": FEISHU_SECRET}


@pytest.fixture
def worker_config(config: Config) -> Config:
    return config.with_overrides(
        {"webhook_allowed_networks": "127.0.0.0/8", "base_url": "https://duban.example.cn"}
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def subscribe(database: Database, url: str, format: str, **settings: object) -> int:
    secret = SECRETS.get(format)
    now = datetime.now(UTC)
    with database.transaction() as session:
        row = Subscription(
            url=url,
            format=format,
            secrets=[{"secret": secret, "expires_at": None}] if secret else [],
            created_at=now,
            updated_at=now,
            **settings,
        )
        session.add(row)
        session.flush()
        return int(row.id)


def add_units(database: Database, count: int, now: datetime) -> list[tuple[int, str]]:
    with database.transaction() as session:
        units = [
            Unit(name=f"第{n}区住建局", name_key=f"第{n}区住建局", created_at=now)
            for n in range(count)
        ]
        session.add_all(units)
        session.flush()
        return [(int(unit.id), unit.name) for unit in units]


def emit(
    database: Database, count: int, now: datetime, units: list[tuple[int, str]] | None = None
) -> list[str]:
    """Record `count` item events as the service does; the outbox fans them out."""
    ids = []
    with database.transaction() as session:
        for number in range(1, count + 1):
            unit_id, unit_name = units[number % len(units)] if units else (None, None)
            data = ev.item_data(
                item_id=number,
                title=f"推进老旧小区改造第{number}项",
                unit_id=unit_id,
                unit_name=unit_name,
                role="lead",
                note="已逾期三天",
            )
            event = record_event(
                session, ev.ITEM_OVERDUE, f"items/{number}", data, now=now, unit_id=unit_id
            )
            ids.append(event.event_id)
    return ids


def pending(database: Database) -> int:
    with database.reading() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
        return session.exec(query).one()


def earliest_due(database: Database) -> datetime:
    with database.reading() as session:
        query = select(func.min(Delivery.next_attempt_at)).where(Delivery.status == "pending")
        return session.exec(query).one()


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk 加签 as documented: HMAC-SHA256 keyed by the secret over "timestamp\\nsecret"."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu 签名校验 as documented: "timestamp\\nsecret" is the HMAC key, the message empty."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


FORMATS = ("standard", "dingtalk", "wecom", "feishu", "slack")


def test_every_format_arrives_signed_as_its_receiver_checks(database, worker_config, receiver):
    receiver.responder = lambda request, _seen: ACCEPTED[request.path.strip("/")]
    clock = FixedClock(datetime.now(UTC))  # standardwebhooks checks against the real time
    for format in FORMATS:
        subscribe(database, f"{receiver.url}/{format}", format)
    [event_id] = emit(database, 1, clock.now())
    worker = DeliveryWorker(worker_config, database, clock)
    assert worker.run_once() == len(FORMATS)
    worker.close()
    got = {request.path.strip("/"): request for request in receiver.received}
    assert sorted(got) == sorted(FORMATS)

    standard = got["standard"]
    envelope = Webhook(STANDARD_SECRET).verify(standard.body, standard.headers)
    assert envelope["id"] == event_id and envelope["specversion"] == "1.0"
    assert envelope["type"] == ev.ITEM_OVERDUE and envelope["data"]["note"] == "已逾期三天"

    dingtalk = got["dingtalk"]
    stamp = dingtalk.query["timestamp"]
    assert abs(int(stamp) / 1000 - time.time()) < 3600  # DingTalk refuses older than an hour
    assert dingtalk.query["sign"] == dingtalk_sign(DINGTALK_SECRET, stamp)
    card = dingtalk.json()
    assert card["msgtype"] == "actionCard" and "督办" in card["actionCard"]["title"]
    assert card["actionCard"]["singleURL"] == "https://duban.example.cn/items/1"

    feishu = got["feishu"].json()
    assert feishu["sign"] == feishu_sign(FEISHU_SECRET, feishu["timestamp"])
    assert feishu["msg_type"] == "interactive" and "督办" in json.dumps(
        feishu["card"], ensure_ascii=False
    )

    wecom = got["wecom"].json()
    assert wecom["msgtype"] == "markdown"
    content = wecom["markdown"]["content"]
    assert "督办" in content and len(content.encode()) <= 4096

    slack = got["slack"].json()
    assert "督办" in slack["text"]
    assert [block["type"] for block in slack["blocks"]] == ["header", "section"]


def test_a_receiver_that_recovers_gets_every_event_at_least_once(database, worker_config):
    clock = FixedClock(datetime(2026, 11, 20, 1, 30, tzinfo=UTC))
    with receiving() as receiver:
        # Down for a while: errors, a blocked answer, and one answer so slow the worker
        # gives up although the receiver did take the event (that one arrives twice).
        receiver.script(
            Reply(500),
            Reply(204, delay_s=1.5),
            Reply(503, headers={"Retry-After": "30"}),
            *[Reply(502)] * 8,
            Reply(500),
        )
        subscribe(database, receiver.url, "standard")
        event_ids = emit(database, 10, clock.now())
        transport = Transport(
            monotonic=time.monotonic,
            allowed_networks=worker_config.allowed_networks,
            total_timeout_s=0.5,
        )
        worker = DeliveryWorker(worker_config, database, clock, transport, random.Random(3))
        for _ in range(100):
            worker.run_once()
            if not pending(database):
                break
            clock.set(earliest_due(database))
        transport.close()
        received = list(receiver.received)
    assert not pending(database)
    by_event = defaultdict(set)
    for request in received:
        by_event[request.json()["id"]].add(request.headers["webhook-id"])
    assert set(by_event) == set(event_ids)
    assert all(len(ids) == 1 for ids in by_event.values())  # a duplicate carries the same id
    assert len(received) > len(event_ids)


def test_two_hundred_events_reach_a_dingtalk_robot_as_digests_within_its_limit(
    database, worker_config
):
    start = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    refused = []

    def dingtalk(request, seen):
        # The robot's own rule: more than 20 messages in a minute blocks it for 10 minutes.
        stamp = int(request.query["timestamp"])
        recent = [r for r in seen if stamp - 60_000 < int(r.query["timestamp"]) <= stamp]
        if len(recent) > 20:
            refused.append(request)
            return robot_error(130101, "send too fast")
        return ACCEPTED["dingtalk"]

    with receiving() as receiver:
        receiver.responder = dingtalk
        subscribe(database, receiver.url, "dingtalk")
        units = add_units(database, 40, start)
        emit(database, 200, start, units)
        worker = DeliveryWorker(worker_config, database, FixedClock(start))
        now = start
        while pending(database) and now < start + timedelta(minutes=30):
            while worker.run_once(now):
                pass
            now += timedelta(seconds=5)
        worker.close()
        received = list(receiver.received)
    assert not pending(database) and not refused
    stamps = sorted(int(r.query["timestamp"]) for r in received)
    assert max(sum(1 for t in stamps if s - 60_000 < t <= s) for s in stamps) <= 20
    assert len(received) == 40  # one digest per unit and sweep, not 200 messages
    items = set()
    for request in received:
        message = request.json()
        assert message["msgtype"] == "markdown"
        text = message["markdown"]["text"]
        assert len({line.split("｜")[0] for line in text.splitlines()[2:]}) == 1  # one unit
        items |= set(re.findall(r"/items/(\d+)\)", text))
    assert len(items) == 200


def test_killing_the_worker_mid_delivery_loses_nothing(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    database = Database(url)
    schema.upgrade(database)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WORKER_POLL_SECONDS": "0.1",
        "LOG_FORMAT": "text",
    }
    with receiving(Reply(204, delay_s=0.15)) as receiver:
        subscribe(database, receiver.url, "standard")
        event_ids = emit(database, 30, datetime.now(UTC))
        first = start_worker(env, tmp_path, "first")
        receiver.wait_for(5, timeout=30)
        first.kill()
        first.wait(timeout=10)
        assert pending(database) > 0
        with database.transaction() as session:
            [holder] = session.exec(select(Subscription.lease_owner)).all()
            assert holder is not None  # it died holding the endpoint's lease
            # Sixty seconds pass: the dead worker's lease runs out.
            session.exec(update(Subscription).values(lease_until=datetime.now(UTC)))
        second = start_worker(env, tmp_path, "second")
        deadline = time.monotonic() + 60
        while pending(database) and time.monotonic() < deadline:
            time.sleep(0.1)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=10) == 0
        received = [request.json()["id"] for request in receiver.received]
    database.dispose()
    assert set(received) == set(event_ids)
    assert max(Counter(received).values()) <= 2 and len(received) <= len(event_ids) + 1
    log = (tmp_path / "second.log").read_text()
    assert "Traceback" not in log and "webhook attempt" in log


def start_worker(env: dict[str, str], cwd: Path, name: str) -> subprocess.Popen[bytes]:
    """`checklist worker` as a separate process, its log in NAME.log."""
    with (cwd / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "service", "worker"], env=env, cwd=cwd, stdout=log, stderr=log
        )


def test_worker_command_refuses_an_unmigrated_database(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "service", "worker"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "checklist db upgrade" in result.stderr
