"""Security of the HTTP API: every endpoint wants a valid token before it reads any input,
staff reach nothing of another unit's, and webhooks cannot be aimed inside the network."""

from __future__ import annotations

import random
import re
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.services import delivery_log
from service.services.audit import CLI_ACTOR
from service.services.subscriptions import SubscriptionRequest, create_subscription
from service.services.tokens import create_token, revoke
from service.worker import DeliveryWorker
from tests.receivers import Receiver, Reply, receiving
from tests.service.conftest import Tokens, import_plan
from tests.service.test_abuse import assert_problem, offline_app, table_counts
from webhooks.transport import Transport

# --- authentication before anything else ---------------------------------------------


def protected_routes() -> list[tuple[str, str]]:
    """(method, path) of every API operation, from the app's URL map: an endpoint added
    later is covered without editing this file. Ids in paths are 1."""
    routes = []
    for rule in offline_app().url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue  # /healthz, /openapi.json, /docs/, pages and static files
        path = re.sub(r"<[^>]+>", "1", rule.rule)
        routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


ROUTES = protected_routes()
# Bad input in every place a handler reads: refused with 401 all the same, unread.
HOSTILE_QUERY = {"limit": "lots", "as_of": "tomorrow", "surprise": "1"}
HOSTILE_BODY = {"surprise": True, "name": ["not", "a", "name"]}
MALFORMED_HEADERS = [
    "Bearer",
    "Bearer   ",
    "Basic YWRtaW46YWRtaW4=",
    "Token dbt_abc",
    "Bearer dbt_not-a-real-token",
    "Bearer " + "x" * 8000,
    "bearer dbt_" + "é" * 10,
]


def test_every_api_route_is_enumerated() -> None:
    assert len(ROUTES) >= 35
    assert ("GET", "/api/v1/events/stream") in ROUTES


@pytest.fixture
def expired_and_revoked(database: Database, clock: FixedClock, tokens: Tokens) -> dict[str, str]:
    """An admin token that expired an hour ago, and one that was revoked."""
    now = clock.now()
    with database.transaction() as session:
        _, expired = create_token(session, role="admin", unit_name=None, label="过期",
                                  expires_at=now + timedelta(hours=1), now=now)
        row, revoked = create_token(session, role="admin", unit_name=None, label="吊销",
                                    expires_at=None, now=now)
    revoke(database, int(row.id), actor=CLI_ACTOR, now=now)
    clock.advance(timedelta(hours=2))
    return {"expired": f"Bearer {expired}", "revoked": f"Bearer {revoked}"}


@pytest.mark.one_backend
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@pytest.mark.parametrize("kind", ["no token", "expired", "revoked", "malformed"])
def test_every_endpoint_wants_a_valid_token_before_reading_input(
    client, database, expired_and_revoked, method, path, kind
) -> None:
    headers = {
        "no token": [{}],
        "expired": [{"Authorization": expired_and_revoked["expired"]}],
        "revoked": [{"Authorization": expired_and_revoked["revoked"]}],
        "malformed": [{"Authorization": value} for value in MALFORMED_HEADERS],
    }[kind]
    before = table_counts(database)
    for header in headers:
        response = client.open(path, method=method, query_string=HOSTILE_QUERY,
                               json=HOSTILE_BODY, headers=header)
        problem = assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "errors" not in problem  # nothing of the input was looked at
    assert table_counts(database) == before


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/docs/"])
def test_public_endpoints_need_no_token(client, path) -> None:
    assert client.get(path).status_code == 200


def test_wrong_role_is_403_before_the_input_is_read(client, tokens, database) -> None:
    before = table_counts(database)
    for path in ("/api/v1/units", "/api/v1/tokens", "/api/v1/subscriptions"):
        response = client.post(path, json=HOSTILE_BODY, headers=tokens.header("staff_a"))
        assert "errors" not in assert_problem(response, 403)
    assert table_counts(database) == before


# --- staff see and change only their own unit's -----------------------------------------


@pytest.fixture
def unit_a(database: Database, clock: FixedClock, tokens: Tokens, client: FlaskClient
           ) -> dict[str, int]:
    """PLAN imported, one of unit A's items acknowledged (so A has events of its own)."""
    report = import_plan(database, clock)
    items = client.get("/api/v1/items", headers=tokens.header("staff_a")).get_json()["items"]
    item = items[0]["id"]
    etag = client.get(f"/api/v1/items/{item}", headers=tokens.header("staff_a")).headers["ETag"]
    client.post(f"/api/v1/items/{item}/transitions", json={"action": "acknowledge"},
                headers={**tokens.header("staff_a"), "If-Match": etag})
    return {"item": item, "unit": items[0]["unit_id"], "document": report.document_id}


ITEM = "/api/v1/items/{item}"
# What staff of unit B try on unit A's things: each is refused and changes nothing.
CROSS_UNIT = [
    ("GET", ITEM, None),
    ("POST", ITEM + "/transitions", {"action": "acknowledge"}),
    ("POST", ITEM + "/transitions", {"action": "start"}),
    ("POST", ITEM + "/transitions", {"action": "report_progress", "note": "代报", "percent": 50}),
    ("POST", ITEM + "/transitions", {"action": "submit", "note": "已完成"}),
    ("POST", ITEM + "/transitions", {"action": "return", "note": "不归我们"}),
    ("POST", ITEM + "/transitions",
     {"action": "request_extension", "deadline": "2027-06-30", "note": "延期"}),
    ("POST", ITEM + "/transitions", {"action": "reassign", "unit_id": 2, "note": "改派"}),
    ("GET", "/api/v1/events?unit={unit}", None),
    ("GET", "/api/v1/events/stream?unit={unit}", None),
    ("GET", "/api/v1/reports/overdue?unit={unit}", None),
    ("GET", "/api/v1/reports/summary?unit={unit}&format=csv", None),
    ("GET", "/api/v1/reports/scorecard?period=2026&unit={unit}", None),
    ("GET", "/api/v1/audit?item={item}", None),
    ("GET", "/api/v1/documents/{document}/reminder-policy", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CROSS_UNIT,
                         ids=[f"{m} {p} {(b or {}).get('action', '')}" for m, p, b in CROSS_UNIT])
def test_staff_of_another_unit_are_refused(
    client, tokens, database, unit_a, method, path, body
) -> None:
    url = path.format(**unit_a)
    headers = tokens.header("staff_b")
    if body is not None:
        etag = client.get(url.removesuffix("/transitions"), headers=tokens.header("admin"))
        headers["If-Match"] = etag.headers["ETag"]
    before = table_counts(database)
    response = client.open(url, method=method, json=body, headers=headers)
    assert_problem(response, 403, 404)
    assert table_counts(database) == before


def test_what_staff_may_list_holds_only_their_unit(client, tokens, unit_a) -> None:
    def read(path: str) -> Any:
        response = client.get(path, headers=tokens.header("staff_b"))
        assert response.status_code == 200
        return response.get_json()

    units = {i["unit_id"] for i in read("/api/v1/items?limit=500")["items"]}
    assert unit_a["unit"] not in units and units
    assert read(f"/api/v1/items?unit={unit_a['unit']}")["items"] == []
    assert read("/api/v1/items?q=智慧路口")["items"] == []
    # On PostgreSQL the feed holds back this test's own (never committed) transaction.
    feed = read("/api/v1/events?limit=1000")["events"]
    assert all(e["data"]["unit"]["name"] == tokens.unit_b for e in feed)
    groups = read("/api/v1/reports/summary")["by_unit"]
    assert [g["name"] for g in groups] == [tokens.unit_b]


# --- webhook destinations ---------------------------------------------------------------


def hosts_file_names(path: Path = Path("/etc/hosts")) -> list[str]:
    """Names this machine's hosts file maps to loopback or private addresses."""
    names: list[str] = []
    for line in path.read_text().splitlines() if path.exists() else []:
        address, *aliases = line.split("#", 1)[0].split() or [""]
        try:
            internal = not ip_address(address.split("%")[0]).is_global
        except ValueError:
            continue
        names += [name for name in aliases if internal and name not in names]
    return names


INTERNAL_URLS = [
    "http://localhost/hook",
    "http://LocalHost:8080/hook",
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://0177.0.0.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0x7f.1/hook",
    "http://0/hook",
    "http://0.0.0.0/hook",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "http://192.168.0.1/hook",
    "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[fc00::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[0:0:0:0:0:ffff:a9fe:a9fe]/hook",
    "http://[::127.0.0.1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[2002:a00:1::]/hook",
    "http://user:secret@127.0.0.1/hook",
    "http://93.184.215.14@127.0.0.1/hook",
    "http://127.0.0.1#@93.184.215.14/hook",
    "http://127.0.0.1:80\\@93.184.215.14/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    *[f"http://{name}/hook" for name in hosts_file_names()],
]


def subscription_rows(database: Database) -> tuple[int, int]:
    counts = table_counts(database)
    return counts["subscription"], counts["audit_record"]


@pytest.mark.one_backend
@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_webhook_destinations_are_422(client, tokens, database, url) -> None:
    before = subscription_rows(database)
    body = {"url": url, "format": "standard"}
    response = client.post("/api/v1/subscriptions", json=body, headers=tokens.header("admin"))
    assert "url" in assert_problem(response, 422)["errors"]
    assert subscription_rows(database) == before


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://[::ffff:10.0.0.1]/hook",
                                 "http://2130706433/hook", "http://169.254.169.254/"])
def test_a_subscription_cannot_be_moved_inside_either(client, tokens, database, url) -> None:
    created = client.post("/api/v1/subscriptions", headers=tokens.header("admin"),
                          json={"url": "https://93.184.215.14/hook", "format": "standard"})
    path = f"/api/v1/subscriptions/{created.get_json()['id']}"
    before = subscription_rows(database)
    response = client.patch(path, json={"url": url}, headers=tokens.header("admin"))
    assert "url" in assert_problem(response, 422)["errors"]
    assert subscription_rows(database) == before
    assert client.get(path, headers=tokens.header("admin")).get_json()["url"].startswith("https")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://10.20.30.40/oa/hook", 201),
        ("http://[fd00:1::5]/oa/hook", 201),
        ("http://[::ffff:10.20.30.40]/oa/hook", 201),
        ("http://10.20.30.40.nip.invalid/oa/hook", 422),  # unresolvable
        ("http://127.0.0.1/hook", 422),
        ("http://192.168.1.1/hook", 422),
        ("http://169.254.169.254/", 422),
    ],
)
def test_allowed_networks_open_only_themselves(config, database, clock, tokens, url, status):
    allowed = config.with_overrides({"webhook_allowed_networks": "10.0.0.0/8, fd00::/8"})
    client = create_app(allowed, database=database, clock=clock).test_client()
    response = client.post("/api/v1/subscriptions", json={"url": url, "format": "standard"},
                           headers=tokens.header("admin"))
    assert response.status_code == status, response.get_json()


# --- the worker at send time ----------------------------------------------------------


def resolving(table: dict[str, str]) -> Callable[..., list[tuple[Any, ...]]]:
    """A resolver with fixed answers, as getaddrinfo gives them."""

    def resolve(host: str, port: int, **_kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]

    return resolve


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def deliver_a_ping(
    config: Config, database: Database, clock: FixedClock, url: str, *,
    networks: tuple[Any, ...], at_subscription: Callable[..., Any], at_send: Transport | None,
) -> dict[str, Any]:
    """Subscribe `url`, queue a test ping, run one worker pass; the delivery as logged."""
    subscription = create_subscription(
        database, SubscriptionRequest(url=url, format="standard"), actor=CLI_ACTOR,
        now=clock.now(), networks=networks, resolve=at_subscription,
    )
    delivery_log.send_test(database, subscription["id"], actor=CLI_ACTOR, now=clock.now())
    worker = DeliveryWorker(config, database, clock, transport=at_send,
                            rng=random.Random(1), worker_id="security")
    try:
        worker.run_once(clock.now())
    finally:
        worker.close()
    page = delivery_log.attempt_page(database, subscription["id"], limit=10, cursor=None)
    (attempt,) = page["attempts"]
    return attempt


def test_a_name_rebound_to_loopback_after_subscribing_is_refused_at_send_time(
    config, database, clock, receiver
) -> None:
    """DNS rebinding: public when checked, 127.0.0.1 when the worker connects."""
    port = int(receiver.url.rsplit(":", 1)[1])
    at_send = Transport(monotonic=lambda: 0.0, resolve=resolving({"hook.test": "127.0.0.1"}))
    attempt = deliver_a_ping(
        config, database, clock, f"http://hook.test:{port}/hook", networks=(),
        at_subscription=resolving({"hook.test": "93.184.215.14"}), at_send=at_send,
    )
    assert receiver.received == []
    assert attempt["status_code"] is None and "127.0.0.1" in attempt["reason"]


def test_redirects_are_not_followed_by_the_worker(config, database, clock, receiver) -> None:
    loopback = (ip_network("127.0.0.0/8"),)
    receiver.answer(Reply(302, headers={"Location": receiver.url + "/elsewhere"}))
    attempt = deliver_a_ping(
        config.with_overrides({"webhook_allowed_networks": "127.0.0.0/8"}), database, clock,
        receiver.url + "/hook", networks=loopback, at_subscription=socket.getaddrinfo,
        at_send=None,
    )
    assert [r.path for r in receiver.received] == ["/hook"]
    assert attempt["status_code"] == 302 and attempt["outcome"] != "delivered"
