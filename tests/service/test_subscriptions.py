"""Webhook subscriptions over HTTP: formats, secrets shown once, URL guards, roles, changes."""

from __future__ import annotations

import base64
import socket
from datetime import timedelta
from ipaddress import ip_network

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from service.app import create_app
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.errors import InvalidInput
from service.models import AuditRecord, Delivery, DeliveryAttempt, Event, Subscription
from service.services.audit import CLI_ACTOR
from service.services.subscriptions import (
    SubscriptionRequest,
    create_subscription,
    signing_secrets,
)
from service.services.units import DirectoryEntry, load_directory, merge_units, unit_by_name
from tests.service.conftest import Tokens

PUBLIC = "https://93.184.215.14/hook"
DINGTALK_SECRET = "SEC" + "a1" * 32


def subscribe(client: FlaskClient, tokens: Tokens, who: str = "admin", **fields):
    return client.post(
        "/api/v1/subscriptions",
        json={"url": PUBLIC, "format": "standard", **fields},
        headers=tokens.header(who),
    )


def created(client: FlaskClient, tokens: Tokens, **fields) -> dict:
    response = subscribe(client, tokens, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def subscription_rows(database: Database) -> list[Subscription]:
    """The stored rows, detached with their values loaded."""
    with database.reading() as session:
        rows = session.exec(select(Subscription).order_by(Subscription.id)).all()
        return [Subscription.model_validate(row.model_dump()) for row in rows]


def audit_actions(database: Database) -> list[str]:
    with database.reading() as session:
        records = session.exec(
            select(AuditRecord).where(AuditRecord.entity == "subscription").order_by(AuditRecord.id)
        ).all()
        return [r.action for r in records]


def test_standard_subscription_gets_a_generated_secret_shown_once(client, tokens, database) -> None:
    body = created(client, tokens, description="OA 系统", event_types=["item.*"])
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert body["has_secret"] is True
    assert body["active"] is True
    assert body["event_types"] == ["item.*"]
    assert (body["pending_deliveries"], body["failed_deliveries"]) == (0, 0)
    shown = client.get(f"/api/v1/subscriptions/{body['id']}", headers=tokens.header("admin"))
    listed = client.get("/api/v1/subscriptions", headers=tokens.header("supervisor"))
    for response in (shown, listed):
        assert response.status_code == 200
        assert secret not in response.get_data(as_text=True)
    assert "secret" not in shown.get_json()
    assert "secret" not in listed.get_json()[0]
    assert shown.get_json()["has_secret"] is True
    assert subscription_rows(database)[0].secrets == [{"secret": secret, "expires_at": None}]


@pytest.mark.parametrize(
    ("format", "secret", "has_secret"),
    [
        ("standard", "whsec_" + base64.b64encode(b"k" * 24).decode(), True),
        ("dingtalk", DINGTALK_SECRET, True),
        ("dingtalk", None, False),
        ("feishu", "feishu-bot-secret", True),
        ("feishu", None, False),
        ("wecom", None, False),
        ("slack", None, False),
    ],
)
def test_each_format(client, tokens, format, secret, has_secret) -> None:
    fields = {"format": format} | ({"secret": secret} if secret else {})
    body = created(client, tokens, **fields)
    assert body["format"] == format
    assert body["has_secret"] is has_secret
    assert body["secret"] == secret


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://93.184.215.14/hook"}, "url"),
        ({"url": "http://127.0.0.1:8080/hook"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "http://10.1.2.3/hook"}, "url"),
        ({"url": "http://192.168.1.10/hook"}, "url"),
        ({"url": "http://[::1]/hook"}, "url"),
        ({"url": "http://[::ffff:127.0.0.1]/hook"}, "url"),
        ({"url": "https:///no-host"}, "url"),
        ({"url": "http://[::1"}, "url"),
        ({"url": ""}, "url"),
        ({"format": "email"}, "format"),
        ({"format": "wecom", "secret": "abc"}, "secret"),
        ({"format": "slack", "secret": "abc"}, "secret"),
        ({"format": "dingtalk", "secret": "not-sec"}, "secret"),
        ({"format": "standard", "secret": "whsec_c2hvcnQ="}, "secret"),
        ({"format": "standard", "secret": "plain"}, "secret"),
        ({"format": "feishu", "secret": "has space"}, "secret"),
        ({"event_types": ["item.nonsense"]}, "event_types"),
        ({"event_types": ["it*"]}, "event_types"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"rate_limit_per_minute": 1001}, "rate_limit_per_minute"),
        ({"digest": "sometimes"}, "digest"),
        ({"units": [999_999]}, "units"),
        ({"documents": [999_999]}, "documents"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_422_and_creates_nothing(client, tokens, database, fields, field) -> None:
    response = subscribe(client, tokens, **fields)
    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert subscription_rows(database) == []
    assert audit_actions(database) == []


def test_every_bad_field_is_reported_at_once(client, tokens) -> None:
    response = subscribe(
        client, tokens, url="http://127.0.0.1/", format="wecom", secret="x", units=[999_999]
    )
    assert set(response.get_json()["errors"]) == {"url", "secret", "units"}


def test_refusal_message_is_in_chinese(client, tokens) -> None:
    errors = subscribe(client, tokens, url="http://169.254.169.254/").get_json()["errors"]
    assert "元数据" in errors["url"][0]


@pytest.fixture
def intranet_client(config: Config, database: Database, clock: FixedClock) -> FlaskClient:
    allowed = config.with_overrides({"webhook_allowed_networks": "127.0.0.0/8,10.0.0.0/8"})
    return create_app(allowed, database=database, clock=clock).test_client()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "http://10.20.30.40/oa/hook"])
def test_allowed_networks_let_internal_oa_hosts_in(intranet_client, tokens, url) -> None:
    assert subscribe(intranet_client, tokens, url=url).status_code == 201


def test_metadata_address_is_refused_even_when_its_network_is_allowed(
    config, database, clock, tokens
) -> None:
    allowed = config.with_overrides({"webhook_allowed_networks": "169.254.0.0/16"})
    client = create_app(allowed, database=database, clock=clock).test_client()
    assert subscribe(client, tokens, url="http://169.254.10.1/").status_code == 201
    assert subscribe(client, tokens, url="http://169.254.169.254/").status_code == 422


def test_host_names_are_resolved_before_they_are_accepted(database, tokens, clock) -> None:
    def resolve(host: str, port: int, **_kwargs: object) -> list[tuple]:
        address = {"oa.example.cn": "10.0.0.8", "oapi.dingtalk.com": "203.119.206.75"}[host]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def attempt(url: str, networks: tuple = ()) -> dict:
        request = SubscriptionRequest(url=url, format="dingtalk")
        return create_subscription(
            database, request, actor=CLI_ACTOR, now=clock.now(), networks=networks, resolve=resolve
        )

    assert attempt("https://oapi.dingtalk.com/robot/send?access_token=t")["active"] is True
    with pytest.raises(InvalidInput) as refused:
        attempt("https://oa.example.cn/hook")
    assert "url" in refused.value.errors
    assert attempt("https://oa.example.cn/hook", (ip_network("10.0.0.0/8"),))["id"]


def test_robot_access_token_stays_out_of_the_audit_log(client, tokens, database) -> None:
    created(client, tokens, url=f"{PUBLIC}?access_token=abcdef123", format="wecom")
    with database.reading() as session:
        record = session.exec(select(AuditRecord).where(AuditRecord.entity == "subscription")).one()
        assert "abcdef123" not in str(record.details)


@pytest.mark.parametrize(
    ("url", "format"),
    [
        (f"{PUBLIC}?access_token=abcdef123", "wecom"),
        ("https://93.184.215.14/open-apis/bot/v2/hook/abcdef123", "feishu"),
        ("https://93.184.215.14/services/T0/B0/abcdef123", "slack"),
    ],
)
def test_robot_tokens_in_path_or_query_stay_out_of_the_audit_log(
    client, tokens, database, url, format
) -> None:
    sub = created(client, tokens, url=url, format=format)
    patched = client.patch(
        f"/api/v1/subscriptions/{sub['id']}",
        json={"url": url.replace("abcdef123", "ghijkl456")},
        headers=tokens.header("admin"),
    )
    assert patched.status_code == 200
    with database.reading() as session:
        records = session.exec(select(AuditRecord).where(AuditRecord.entity == "subscription"))
        details = str([record.details for record in records])
    assert "abcdef123" not in details and "ghijkl456" not in details
    assert "93.184.215.14" in details


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # Valid RFC 3339, but outside what a UTC datetime can hold.
        ("POST", "/replay", {"since": "0001-01-01T00:00:00+14:00"}),
        ("POST", "/replay", {"since": "9999-12-31T23:59:59-12:00"}),
        # "d9999999999999999999": a delivery id past any 64-bit integer.
        ("GET", "/deliveries?cursor=ZDk5OTk5OTk5OTk5OTk5OTk5OTk", None),
        ("GET", "/attempts?cursor=YTk5OTk5OTk5OTk5OTk5OTk5OTk", None),
    ],
)
def test_out_of_range_input_is_422_not_500(client, tokens, method, path, body) -> None:
    sub = created(client, tokens)
    response = client.open(
        f"/api/v1/subscriptions/{sub['id']}{path}",
        method=method,
        json=body,
        headers=tokens.header("admin"),
    )
    assert response.status_code == 422, response.get_json()


ENDPOINTS = [
    ("GET", "/api/v1/subscriptions", None),
    ("POST", "/api/v1/subscriptions", {"url": PUBLIC, "format": "slack"}),
    ("GET", "/api/v1/subscriptions/{sub}", None),
    ("PATCH", "/api/v1/subscriptions/{sub}", {"description": "改"}),
    ("POST", "/api/v1/subscriptions/{sub}/rotate-secret", {}),
    ("POST", "/api/v1/subscriptions/{sub}/test", None),
    ("GET", "/api/v1/subscriptions/{sub}/deliveries", None),
    ("GET", "/api/v1/subscriptions/{sub}/attempts", None),
    ("POST", "/api/v1/subscriptions/{sub}/replay", {"since": "2026-11-01T00:00:00Z"}),
    ("POST", "/api/v1/deliveries/{delivery}/retry", None),
    ("DELETE", "/api/v1/subscriptions/{sub}", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("staff_a", 403), ("supervisor", None), ("admin", None)],
)
def test_only_supervisors_and_admins_manage_subscriptions(
    client, tokens, method, path, body, who, status
) -> None:
    sub = created(client, tokens)
    delivery = client.post(
        f"/api/v1/subscriptions/{sub['id']}/test", headers=tokens.header("admin")
    )
    url = path.format(sub=sub["id"], delivery=delivery.get_json()["id"])
    headers = {} if who == "anonymous" else tokens.header(who)
    response = client.open(url, method=method, json=body, headers=headers)
    if status is None:
        assert 200 <= response.status_code < 300, response.get_json()
    else:
        assert response.status_code == status
        assert response.content_type == "application/problem+json"


def test_unknown_ids_are_404(client, tokens) -> None:
    for method, path in [
        ("GET", "/api/v1/subscriptions/4242"),
        ("PATCH", "/api/v1/subscriptions/4242"),
        ("DELETE", "/api/v1/subscriptions/4242"),
        ("POST", "/api/v1/subscriptions/4242/test"),
        ("GET", "/api/v1/subscriptions/4242/deliveries"),
        ("POST", "/api/v1/deliveries/4242/retry"),
    ]:
        response = client.open(path, method=method, json={}, headers=tokens.header("admin"))
        assert response.status_code == 404, (method, path)


def test_patch_changes_settings_and_resolves_merged_units(client, tokens, database, clock) -> None:
    sub = created(client, tokens)
    with database.transaction() as session:
        load_directory(session, [DirectoryEntry("市交通局旧")], actor=CLI_ACTOR, now=clock.now())
        old, survivor = unit_by_name(session, "市交通局旧"), unit_by_name(session, tokens.unit_a)
        merge_units(session, old, survivor, actor=CLI_ACTOR, now=clock.now())
        ids = (old.id, survivor.id)
    response = client.patch(
        f"/api/v1/subscriptions/{sub['id']}",
        json={
            "units": [ids[0], ids[1]],
            "rate_limit_per_minute": 10,
            "digest": True,
            "event_types": ["item.overdue", "item.overdue", "item.due_soon"],
        },
        headers=tokens.header("supervisor"),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["units"] == [ids[1]]
    assert body["event_types"] == ["item.overdue", "item.due_soon"]
    assert (body["rate_limit_per_minute"], body["digest"]) == (10, True)
    cleared = client.patch(
        f"/api/v1/subscriptions/{sub['id']}",
        json={"rate_limit_per_minute": None, "digest": None},
        headers=tokens.header("supervisor"),
    ).get_json()
    assert (cleared["rate_limit_per_minute"], cleared["digest"]) == (None, None)
    assert audit_actions(database) == ["create", "update", "update"]


def test_bad_patch_changes_nothing(client, tokens, database) -> None:
    sub = created(client, tokens, description="原说明")
    response = client.patch(
        f"/api/v1/subscriptions/{sub['id']}",
        json={"url": "http://10.0.0.1/", "description": "新说明"},
        headers=tokens.header("admin"),
    )
    assert response.status_code == 422
    assert "url" in response.get_json()["errors"]
    assert subscription_rows(database)[0].description == "原说明"


def test_re_enabling_clears_the_failure_record(client, tokens, database, clock) -> None:
    sub = created(client, tokens)
    with database.transaction() as session:
        row = session.get(Subscription, sub["id"])
        row.active, row.disabled_reason = False, "连续失败 5 天"
        row.disabled_at = row.failing_since = clock.now() - timedelta(days=5)
        session.add(row)
    shown = client.get(f"/api/v1/subscriptions/{sub['id']}", headers=tokens.header("admin"))
    assert shown.get_json()["disabled_reason"] == "连续失败 5 天"
    assert (
        client.post(
            f"/api/v1/subscriptions/{sub['id']}/test", headers=tokens.header("admin")
        ).status_code
        == 409
    )
    body = client.patch(
        f"/api/v1/subscriptions/{sub['id']}", json={"active": True}, headers=tokens.header("admin")
    ).get_json()
    assert body["active"] is True
    assert (body["failing_since"], body["disabled_at"], body["disabled_reason"]) == (None,) * 3
    paused = client.patch(
        f"/api/v1/subscriptions/{sub['id']}", json={"active": False}, headers=tokens.header("admin")
    ).get_json()
    assert (paused["active"], paused["disabled_reason"]) == (False, "手动停用")


def test_rotation_keeps_the_old_secret_for_the_grace_period(
    client, tokens, database, clock
) -> None:
    sub = created(client, tokens)
    rotated = client.post(
        f"/api/v1/subscriptions/{sub['id']}/rotate-secret", json={}, headers=tokens.header("admin")
    )
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    assert new.startswith("whsec_") and new != sub["secret"]
    assert rotated.get_json()["old_secrets_expire_at"] == ["2026-11-21T01:30:00+00:00"]
    row = subscription_rows(database)[0]
    assert signing_secrets(row, clock.now()) == [new, sub["secret"]]
    assert signing_secrets(row, clock.now() + timedelta(hours=25)) == [new]
    clock.advance(timedelta(hours=25))
    again = client.post(
        f"/api/v1/subscriptions/{sub['id']}/rotate-secret",
        json={"grace_hours": 0},
        headers=tokens.header("admin"),
    ).get_json()
    row = subscription_rows(database)[0]
    assert [s["secret"] for s in row.secrets] == [again["secret"]]
    assert again["old_secrets_expire_at"] == []
    assert audit_actions(database) == ["create", "rotate_secret", "rotate_secret"]


def test_rotation_per_format(client, tokens, database) -> None:
    def rotate(sub: dict, **body) -> object:
        return client.post(
            f"/api/v1/subscriptions/{sub['id']}/rotate-secret",
            json=body,
            headers=tokens.header("admin"),
        )

    ding = created(client, tokens, format="dingtalk", secret=DINGTALK_SECRET)
    assert "secret" in rotate(ding).get_json()["errors"]
    assert rotate(ding, secret="SECnew").get_json()["secret"] == "SECnew"
    assert rotate(created(client, tokens, format="wecom"), grace_hours=1).status_code == 409
    assert rotate(ding, grace_hours=169, secret="SECx").status_code == 422
    standard = created(client, tokens)
    given = "whsec_" + base64.b64encode(b"z" * 32).decode()
    assert rotate(standard, secret=given).get_json()["secret"] == given


def test_delete_takes_deliveries_and_attempts_along(client, tokens, database, clock) -> None:
    sub = created(client, tokens)
    keep = created(client, tokens, format="slack")
    ping = client.post(f"/api/v1/subscriptions/{sub['id']}/test", headers=tokens.header("admin"))
    with database.transaction() as session:
        attempt = DeliveryAttempt(
            subscription_id=sub["id"],
            msg_id=ping.get_json()["msg_id"],
            event_count=1,
            attempted_at=clock.now(),
            status_code=500,
            outcome="retry",
        )
        session.add(attempt)
        session.flush()
        delivery = session.get(Delivery, ping.get_json()["id"])
        delivery.last_attempt_id = attempt.id
        session.add(delivery)
    response = client.delete(f"/api/v1/subscriptions/{sub['id']}", headers=tokens.header("admin"))
    assert response.status_code == 204
    assert (
        client.get(f"/api/v1/subscriptions/{sub['id']}", headers=tokens.header("admin")).status_code
        == 404
    )
    with database.reading() as session:
        assert session.exec(select(Delivery)).all() == []
        assert session.exec(select(DeliveryAttempt)).all() == []
        pings = session.exec(select(Event).where(Event.type == "subscription.ping")).all()
        assert len(pings) == 1  # the ping stays in the feed
    assert [s.id for s in subscription_rows(database)] == [keep["id"]]
    assert audit_actions(database)[-1] == "delete"


def test_openapi_documents_the_subscription_endpoints(client) -> None:
    spec = client.get("/openapi.json").get_json()
    assert {
        "/api/v1/subscriptions",
        "/api/v1/subscriptions/{subscription_id}",
        "/api/v1/subscriptions/{subscription_id}/rotate-secret",
        "/api/v1/subscriptions/{subscription_id}/test",
        "/api/v1/subscriptions/{subscription_id}/deliveries",
        "/api/v1/subscriptions/{subscription_id}/attempts",
        "/api/v1/subscriptions/{subscription_id}/replay",
        "/api/v1/deliveries/{delivery_id}/retry",
    } <= set(spec["paths"])
    create = spec["components"]["schemas"]["SubscriptionCreate"]["properties"]
    assert set(create["format"]["enum"]) == {"standard", "dingtalk", "wecom", "feishu", "slack"}


def test_a_unit_merge_carries_subscriptions_to_the_surviving_unit(
    client, tokens, database, clock
) -> None:
    with database.transaction() as session:
        load_directory(session, [DirectoryEntry("区工信局")], actor=CLI_ACTOR, now=clock.now())
    with database.reading() as session:
        old = unit_by_name(session, "区工信局").id
        finance = unit_by_name(session, tokens.unit_b).id
    body = created(client, tokens, units=[old, finance])
    with database.transaction() as session:
        source = unit_by_name(session, "区工信局")
        target = unit_by_name(session, tokens.unit_b)
        merge_units(session, source, target, actor=CLI_ACTOR, now=clock.now())
    shown = client.get(f"/api/v1/subscriptions/{body['id']}", headers=tokens.header("admin"))
    assert shown.get_json()["units"] == [finance]
