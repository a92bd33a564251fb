"""The outbox: deliveries written with their events, filters, pings, replays, retries, logs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import update
from sqlmodel import col, func, select

from service.clock import FixedClock
from service.db import Database
from service.errors import InvalidInput
from service.models import Delivery, DeliveryAttempt, Document, Event, Subscription
from service.services.audit import CLI_ACTOR
from service.services.delivery_log import replay
from service.services.documents import ImportRequest, import_document
from service.services.events import record_event
from service.services.subscriptions import SubscriptionRequest, create_subscription
from service.services.units import unit_by_name
from tests.conftest import TEST_NOW
from tests.service.conftest import PLAN, Tokens

PUBLIC = "https://93.184.215.14/hook"


def subscribe(database: Database, clock: FixedClock, **fields) -> int:
    request = SubscriptionRequest(url=PUBLIC, format=fields.pop("format", "standard"), **fields)
    made = create_subscription(database, request, actor=CLI_ACTOR, now=clock.now(), networks=())
    return made["id"]


def import_plan(database: Database, clock: FixedClock, text: str = PLAN) -> int:
    request = ImportRequest(text.encode(), "plan.txt")
    report = import_document(
        database,
        request,
        actor=CLI_ACTOR,
        now=clock.now(),
        today=date(2026, 11, 20),
        max_bytes=1_000_000,
    )
    return report.document_id


def owed(database: Database, event_type: str | None = None) -> list[tuple[int, str]]:
    """(subscription id, event type) of every delivery, in id order."""
    with database.reading() as session:
        query = select(Delivery.subscription_id, Event.type).join(
            Event, col(Event.id) == Delivery.event_id
        )
        if event_type:
            query = query.where(Event.type == event_type)
        return [tuple(row) for row in session.exec(query.order_by(col(Delivery.id))).all()]


def count(database: Database, model: type, *where) -> int:
    with database.reading() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def acknowledge_one(client: FlaskClient, tokens: Tokens) -> dict:
    item = client.get("/api/v1/items", headers=tokens.header("staff_a")).get_json()["items"][0]
    response = client.post(
        f"/api/v1/items/{item['id']}/transitions",
        json={"action": "acknowledge"},
        headers={**tokens.header("staff_a"), "If-Match": item["etag"]},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def plan(database: Database, clock: FixedClock, tokens: Tokens) -> int:
    return import_plan(database, clock)


def test_a_transition_owes_one_delivery_to_each_matching_subscription(
    client, tokens, database, clock, plan
) -> None:
    item_unit = client.get("/api/v1/items", headers=tokens.header("staff_a")).get_json()
    unit_a = item_unit["items"][0]["unit_id"]
    unit_b_item = client.get("/api/v1/items", headers=tokens.header("staff_b")).get_json()
    unit_b = unit_b_item["items"][0]["unit_id"]
    wanted = {
        "everything": subscribe(database, clock),
        "star": subscribe(database, clock, event_types=["*"]),
        "items": subscribe(database, clock, event_types=["item.*"], format="dingtalk"),
        "exact": subscribe(database, clock, event_types=["item.acknowledged"], format="wecom"),
        "unit a": subscribe(database, clock, units=[unit_a], format="feishu"),
        "document": subscribe(database, clock, documents=[plan], format="slack"),
        "both": subscribe(database, clock, units=[unit_a], documents=[plan]),
    }
    unwanted = {
        "other type": subscribe(database, clock, event_types=["item.approved", "document.*"]),
        "unit b": subscribe(database, clock, units=[unit_b]),
        "disabled": subscribe(database, clock),
    }
    with database.transaction() as session:
        session.exec(
            update(Subscription).where(Subscription.id == unwanted["disabled"]).values(active=False)
        )
    acknowledge_one(client, tokens)
    assert sorted(s for s, _ in owed(database, "item.acknowledged")) == sorted(wanted.values())
    with database.reading() as session:
        delivery, event = session.exec(
            select(Delivery, Event)
            .join(Event, col(Event.id) == Delivery.event_id)
            .where(Delivery.subscription_id == wanted["exact"])
        ).one()
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
            "pending",
            0,
            clock.now(),
        )
        assert delivery.msg_id == f"msg_{event.event_id}_{wanted['exact']}"
        assert len(delivery.msg_id) <= 100


def test_deliveries_commit_or_roll_back_with_the_change(database, clock) -> None:
    sub = subscribe(database, clock)
    with pytest.raises(RuntimeError), database.transaction() as session:
        record_event(session, "unit.updated", "units/1", {"unit": {"id": "1"}}, now=clock.now())
        assert session.exec(select(Delivery)).one().subscription_id == sub
        raise RuntimeError("the change fails after its event")
    assert count(database, Delivery) == 0
    assert count(database, Event, Event.type == "unit.updated") == 0
    with database.transaction() as session:
        record_event(session, "unit.updated", "units/1", {"unit": {"id": "1"}}, now=clock.now())
    assert owed(database) == [(sub, "unit.updated")]


def test_a_failed_transition_owes_nothing(client, tokens, database, clock, plan) -> None:
    subscribe(database, clock)
    item = client.get("/api/v1/items", headers=tokens.header("staff_a")).get_json()["items"][0]
    refused = client.post(
        f"/api/v1/items/{item['id']}/transitions",
        json={"action": "submit"},
        headers={**tokens.header("staff_a"), "If-Match": item["etag"]},
    )
    assert refused.status_code == 409
    assert count(database, Delivery) == 0


def test_an_import_reads_the_subscriptions_once(database, clock, tokens) -> None:
    subscribe(database, clock)
    subscribe(database, clock, event_types=["document.imported"])
    statements: list[str] = []
    before = count(database, Event)

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa_event.listen(database.engine, "before_cursor_execute", seen)
    try:
        import_plan(database, clock)
    finally:
        sa_event.remove(database.engine, "before_cursor_execute", seen)
    reads = [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT") and "FROM subscription" in s
    ]
    assert len(reads) == 1
    events = count(database, Event) - before
    assert events > 7
    assert count(database, Delivery) == events + 1


def test_subscription_changes_in_the_transaction_reach_the_fan_out(database, clock) -> None:
    first = subscribe(database, clock)
    now = clock.now()
    with database.transaction() as session:
        record_event(session, "unit.updated", "units/1", {"n": 1}, now=now)
        row = session.get(Subscription, first)
        row.active = False
        session.add(row)
        record_event(session, "unit.merged", "units/1", {"n": 2}, now=now)
        second = Subscription(url=PUBLIC, format="slack", created_at=now, updated_at=now)
        session.add(second)
        record_event(session, "item.overdue", "items/1", {"n": 3}, now=now)
        session.exec(update(Subscription).values(active=True))
        record_event(session, "item.due_soon", "items/1", {"n": 4}, now=now)
        second_id = second.id
    assert owed(database) == [
        (first, "unit.updated"),
        (second_id, "item.overdue"),
        (first, "item.due_soon"),
        (second_id, "item.due_soon"),
    ]


def test_ping_goes_to_the_one_subscription(client, tokens, database, clock) -> None:
    with database.reading() as session:
        unit_id = unit_by_name(session, tokens.unit_a).id
    narrow = subscribe(database, clock, event_types=["item.overdue"], units=[unit_id])
    everything = subscribe(database, clock)
    response = client.post(
        f"/api/v1/subscriptions/{narrow}/test", headers=tokens.header("supervisor")
    )
    assert response.status_code == 202
    body = response.get_json()
    assert (body["subscription_id"], body["status"], body["attempts"]) == (narrow, "pending", 0)
    assert body["event"]["type"] == "subscription.ping"
    assert body["msg_id"] == f"msg_{body['event']['id']}_{narrow}"
    assert owed(database) == [(narrow, "subscription.ping")]
    assert everything not in {s for s, _ in owed(database)}
    with database.reading() as session:
        ping = session.exec(select(Event).where(Event.type == "subscription.ping")).one()
        assert ping.data["subscription"]["id"] == str(narrow)
        assert "推送测试" in ping.data["note"]


def test_replay_queues_matching_events_in_feed_order(client, tokens, database, clock, plan) -> None:
    sub = subscribe(database, clock, event_types=["item.assigned"])
    since = (TEST_NOW - timedelta(days=1)).isoformat()

    def replay_since(when: str = since) -> dict:
        response = client.post(
            f"/api/v1/subscriptions/{sub}/replay",
            json={"since": when},
            headers=tokens.header("admin"),
        )
        assert response.status_code == 202, response.get_json()
        return response.get_json()

    first = replay_since()
    assigned = count(database, Event, Event.type == "item.assigned")
    assert assigned == 7
    assert (first["queued"], first["truncated"], first["limit"]) == (assigned, False, 10_000)
    with database.reading() as session:
        replayed = session.exec(
            select(Event.txid, Event.id)
            .join(Delivery, col(Delivery.event_id) == Event.id)
            .order_by(col(Delivery.id))
        ).all()
    assert [tuple(r) for r in replayed] == sorted(tuple(r) for r in replayed)
    again = replay_since()
    assert (again["queued"], again["already_waiting"]) == (0, assigned)
    with database.reading() as session:
        ids = session.exec(select(Delivery.msg_id, Event.event_id).join(Event)).all()
        assert all(msg_id == f"msg_{event_id}_{sub}" for msg_id, event_id in ids)
    with database.transaction() as session:
        session.exec(update(Delivery).values(status="delivered", delivered_at=clock.now()))
    assert replay_since()["queued"] == assigned
    assert replay_since((TEST_NOW + timedelta(minutes=1)).isoformat())["queued"] == 0


def test_replay_is_bounded_and_says_where_to_go_on(database, clock, plan) -> None:
    sub = subscribe(database, clock)
    since = TEST_NOW - timedelta(days=1)
    result = replay(database, sub, since=since, actor=CLI_ACTOR, now=clock.now(), limit=3)
    assert (result["queued"], result["truncated"], result["limit"]) == (3, True, 3)
    assert result["next_since"] == TEST_NOW
    rest = replay(database, sub, since=result["next_since"], actor=CLI_ACTOR, now=clock.now())
    assert rest["already_waiting"] == 3
    assert rest["queued"] == count(database, Event) - 3


def test_replay_leaves_out_pings(client, tokens, database, clock) -> None:
    pinged = subscribe(database, clock)
    client.post(f"/api/v1/subscriptions/{pinged}/test", headers=tokens.header("admin"))
    other = subscribe(database, clock)
    result = replay(
        database, other, since=TEST_NOW - timedelta(days=1), actor=CLI_ACTOR, now=clock.now()
    )
    assert "subscription.ping" not in {t for s, t in owed(database) if s == other}
    assert result["queued"] == count(database, Event) - 1


def test_replay_refuses_a_naive_time(client, tokens, database, clock) -> None:
    sub = subscribe(database, clock)
    response = client.post(
        f"/api/v1/subscriptions/{sub}/replay",
        json={"since": "2026-11-01T00:00:00"},
        headers=tokens.header("admin"),
    )
    assert response.status_code == 422
    assert "since" in response.get_json()["errors"]


def test_retry_makes_a_failed_delivery_due_now(client, tokens, database, clock) -> None:
    sub = subscribe(database, clock)
    delivery = client.post(f"/api/v1/subscriptions/{sub}/test", headers=tokens.header("admin"))
    delivery_id = delivery.get_json()["id"]
    with database.transaction() as session:
        session.exec(
            update(Delivery).values(
                status="failed",
                attempts=8,
                last_error="HTTP 500",
                next_attempt_at=clock.now() + timedelta(days=3),
            )
        )
    shown = client.get(f"/api/v1/subscriptions/{sub}", headers=tokens.header("admin")).get_json()
    assert (shown["pending_deliveries"], shown["failed_deliveries"]) == (0, 1)
    clock.advance(timedelta(hours=1))
    retried = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=tokens.header("admin"))
    assert retried.status_code == 202
    body = retried.get_json()
    assert (body["status"], body["attempts"]) == ("pending", 0)
    assert body["next_attempt_at"] == clock.now().isoformat()
    with database.transaction() as session:
        session.exec(update(Delivery).values(status="delivered", delivered_at=clock.now()))
    again = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=tokens.header("admin"))
    assert again.status_code == 409


def test_delivery_and_attempt_logs_page_newest_first(client, tokens, database, clock) -> None:
    sub = subscribe(database, clock)
    ids = [
        client.post(f"/api/v1/subscriptions/{sub}/test", headers=tokens.header("admin")).get_json()[
            "id"
        ]
        for _ in range(5)
    ]
    with database.transaction() as session:
        session.exec(update(Delivery).where(Delivery.id == ids[1]).values(status="failed"))
        for n in range(5):
            session.add(
                DeliveryAttempt(
                    subscription_id=sub,
                    msg_id=f"msg_{n}",
                    event_count=1,
                    attempted_at=clock.now() + timedelta(seconds=n),
                    status_code=200,
                    latency_ms=12,
                    outcome="delivered",
                    response_excerpt="ok",
                )
            )

    def pages(kind: str, query: str = "") -> list[dict]:
        seen, cursor = [], None
        while True:
            url = f"/api/v1/subscriptions/{sub}/{kind}?limit=2{query}"
            body = client.get(
                url + (f"&cursor={cursor}" if cursor else ""), headers=tokens.header("admin")
            ).get_json()
            seen += body[kind]
            cursor = body["next_cursor"]
            if not cursor:
                return seen

    deliveries = pages("deliveries")
    assert [d["id"] for d in deliveries] == ids[::-1]
    assert deliveries[0]["event"]["type"] == "subscription.ping"
    assert [d["id"] for d in pages("deliveries", "&status=failed")] == [ids[1]]
    attempts = pages("attempts")
    assert [a["msg_id"] for a in attempts] == [f"msg_{n}" for n in range(4, -1, -1)]
    assert attempts[0] | {"id": 0} == {
        "id": 0,
        "attempted_at": (clock.now() + timedelta(seconds=4)).isoformat(),
        "status_code": 200,
        "latency_ms": 12,
        "outcome": "delivered",
        "reason": "",
        "response_excerpt": "ok",
        "msg_id": "msg_4",
        "event_count": 1,
    }
    bad = client.get(
        f"/api/v1/subscriptions/{sub}/deliveries?cursor=%%%", headers=tokens.header("admin")
    )
    assert bad.status_code == 422


def test_unknown_document_filter_names_the_document(database, clock) -> None:
    with database.reading() as session:
        assert session.exec(select(Document)).all() == []
    with pytest.raises(InvalidInput) as refused:
        subscribe(database, clock, documents=[12345])
    assert refused.value.errors == {"documents": ["文件 12345 不存在"]}
