"""What each role gets from every endpoint: nothing of unit A's is reachable with B's token."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.documents import ImportRequest, import_document
from tests.service.conftest import PLAN, Tokens

WHO = ("anonymous", "staff_a", "staff_b", "supervisor", "admin")
OK = "2xx"

# (method, path, json body, expected status per WHO); {item} is one of unit A's items.
MATRIX = [
    ("GET", "/api/v1/documents", None, (401, OK, OK, OK, OK)),
    ("GET", "/api/v1/documents/{document}", None, (401, OK, OK, OK, OK)),
    (
        "POST",
        "/api/v1/documents",
        {"text": PLAN + "\n（三）新增一项。（责任单位：市交通运输局）"},
        (401, 403, 403, OK, OK),
    ),
    ("POST", "/api/v1/documents/preview", {"text": PLAN}, (401, 403, 403, OK, OK)),
    ("GET", "/api/v1/units", None, (401, OK, OK, OK, OK)),
    ("POST", "/api/v1/units", {"name": "市新单位"}, (401, 403, 403, OK, OK)),
    ("POST", "/api/v1/units/{unit_b}/aliases", {"alias": "财政"}, (401, 403, 403, OK, OK)),
    ("POST", "/api/v1/units/{unit_b}/confirm", None, (401, 403, 403, OK, OK)),
    ("GET", "/api/v1/items", None, (401, OK, OK, OK, OK)),
    ("GET", "/api/v1/items/{item}", None, (401, OK, 403, OK, OK)),
    (
        "POST",
        "/api/v1/items/{item}/transitions",
        {"action": "acknowledge"},
        (401, OK, 403, 403, 403),
    ),
    (
        "POST",
        "/api/v1/items/{item}/transitions",
        {"action": "waive", "note": "不需要办理"},
        (401, 403, 403, OK, OK),
    ),
    ("GET", "/api/v1/audit", None, (401, 403, 403, OK, OK)),
    ("GET", "/api/v1/tokens", None, (401, 403, 403, 403, OK)),
    ("POST", "/api/v1/tokens", {"role": "supervisor"}, (401, 403, 403, 403, OK)),
    ("DELETE", "/api/v1/tokens/{spare_token}", None, (401, 403, 403, 403, OK)),
]


@pytest.fixture
def ids(database: Database, clock, tokens: Tokens, client: FlaskClient) -> dict[str, int]:
    report = import_document(
        database,
        ImportRequest(PLAN.encode(), "plan.txt"),
        actor=CLI_ACTOR,
        now=clock.now(),
        today=date(2026, 11, 20),
        max_bytes=1_000_000,
    )
    items = client.get("/api/v1/items", headers=tokens.header("staff_a")).get_json()["items"]
    units = client.get("/api/v1/units", headers=tokens.header("admin")).get_json()
    listed = client.get("/api/v1/tokens", headers=tokens.header("admin")).get_json()
    return {
        "spare_token": next(t["id"] for t in listed if t["label"] == "supervisor"),
        "document": report.document_id,
        "item": items[0]["id"],
        "unit_b": next(u["id"] for u in units if u["name"] == tokens.unit_b),
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    MATRIX,
    ids=[f"{m} {p} {(b or {}).get('action', '')}" for m, p, b, _ in MATRIX],
)
@pytest.mark.parametrize("who", range(len(WHO)), ids=WHO)
def test_access(client, tokens, ids, method, path, body, expected, who) -> None:
    headers = {} if WHO[who] == "anonymous" else tokens.header(WHO[who])
    url = path.format(**ids)
    if "/transitions" in url:
        etag = client.get(url.replace("/transitions", ""), headers=tokens.header("admin"))
        headers["If-Match"] = etag.headers["ETag"]
    response = client.open(url, method=method, json=body, headers=headers)
    want = expected[who]
    if want == OK:
        assert 200 <= response.status_code < 300, response.get_json()
    else:
        assert response.status_code == want, response.get_json()
        assert response.content_type == "application/problem+json"


def test_revoked_and_expired_tokens_are_refused(client, tokens, database, clock) -> None:
    from datetime import timedelta

    from service.services.tokens import create_token

    with database.transaction() as session:
        _row, soon = create_token(
            session,
            role="supervisor",
            unit_name=None,
            label="短期",
            expires_at=clock.now() + timedelta(hours=1),
            now=clock.now(),
        )
    assert (
        client.get("/api/v1/items", headers={"Authorization": f"Bearer {soon}"}).status_code == 200
    )
    clock.advance(timedelta(hours=2))
    assert (
        client.get("/api/v1/items", headers={"Authorization": f"Bearer {soon}"}).status_code == 401
    )
    listed = client.get("/api/v1/tokens", headers=tokens.header("admin")).get_json()
    staff_a = next(t for t in listed if t["label"] == "staff_a")
    client.delete(f"/api/v1/tokens/{staff_a['id']}", headers=tokens.header("admin"))
    assert client.get("/api/v1/items", headers=tokens.header("staff_a")).status_code == 401


def test_repeated_bad_tokens_are_slowed_down(client) -> None:
    statuses = [
        client.get("/api/v1/items", headers={"Authorization": f"Bearer bad{i}"}).status_code
        for i in range(25)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[-1] == 429


def test_audit_log_records_transitions(client, tokens, ids) -> None:
    item = client.get(f"/api/v1/items/{ids['item']}", headers=tokens.header("staff_a"))
    client.post(
        f"/api/v1/items/{ids['item']}/transitions",
        json={"action": "acknowledge"},
        headers={**tokens.header("staff_a"), "If-Match": item.headers["ETag"]},
    )
    records = client.get(
        f"/api/v1/audit?item={ids['item']}", headers=tokens.header("supervisor")
    ).get_json()["records"]
    assert records[0]["action"] == "acknowledge"
    assert (records[0]["from_status"], records[0]["to_status"]) == ("assigned", "acknowledged")
    assert records[0]["actor"] == "staff_a"
