"""Items over HTTP: the 督办 workflow end to end, ETags, errors, filters and pages."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.config import Config
from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.documents import ImportRequest, import_document
from tests.service.conftest import PLAN, Tokens


def import_plan(database: Database, clock) -> None:
    import_document(database, ImportRequest(PLAN.encode(), "plan.txt"), actor=CLI_ACTOR,
                    now=clock.now(), today=date(2026, 11, 20), max_bytes=1_000_000)


@pytest.fixture
def plan(database: Database, clock, tokens: Tokens) -> None:
    import_plan(database, clock)


def items(client: FlaskClient, tokens: Tokens, who: str, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/items{query}", headers=tokens.header(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def act(client, tokens, who, item, action, **fields):
    return client.post(f"/api/v1/items/{item['id']}/transitions",
                       json={"action": action, **fields},
                       headers={**tokens.header(who), "If-Match": item["etag"]})


def test_staff_see_only_their_units_items(client, tokens, plan) -> None:
    mine = items(client, tokens, "staff_a")
    assert mine and {i["unit"]["name"] for i in mine} == {"市交通运输局"}
    assert len(items(client, tokens, "supervisor")) == 7


def test_the_whole_workflow_with_a_rejection(client, tokens, plan) -> None:
    item = items(client, tokens, "staff_a")[0]
    detail = client.get(f"/api/v1/items/{item['id']}", headers=tokens.header("staff_a"))
    assert detail.headers["ETag"] == item["etag"]
    assert detail.get_json()["allowed_actions"][0] == "acknowledge"
    target = detail.get_json()["targets"][0]
    steps = [
        ("staff_a", "acknowledge", {}),
        ("staff_a", "report_progress", {"note": "已完成选址", "percent": 30,
                                        "values": {str(target["id"]): 40},
                                        "evidence": ["https://oa.example.cn/doc/1"]}),
        ("staff_a", "submit", {"note": "申请办结"}),
        ("supervisor", "reject", {"note": "佐证材料不足"}),
        ("staff_a", "report_progress", {"note": "补充材料", "percent": 100}),
        ("staff_a", "submit", {}),
        ("supervisor", "approve", {}),
    ]
    current = detail.get_json()
    for who, action, fields in steps:
        response = act(client, tokens, who, current, action, **fields)
        assert response.status_code == 200, (action, response.get_json())
        current = response.get_json()
        assert response.headers["ETag"] == current["etag"]
    assert current["status"] == "approved"
    assert current["colour"] == "done"
    assert [h["action"] for h in current["history"]] == [s[1] for s in steps]
    assert current["targets"][0]["reported"] == 40
    assert current["last_progress_note"] == "补充材料"


def test_stale_etag_is_412_and_changes_nothing(client, tokens, plan) -> None:
    item = items(client, tokens, "staff_a")[0]
    assert act(client, tokens, "staff_a", item, "acknowledge").status_code == 200
    stale = act(client, tokens, "staff_a", item, "return", note="不是我们的")
    assert stale.status_code == 412
    assert stale.content_type == "application/problem+json"
    after = client.get(f"/api/v1/items/{item['id']}", headers=tokens.header("staff_a"))
    assert after.get_json()["status"] == "acknowledged"


def test_missing_if_match_is_428(client, tokens, plan) -> None:
    item = items(client, tokens, "staff_a")[0]
    response = client.post(f"/api/v1/items/{item['id']}/transitions",
                           json={"action": "acknowledge"}, headers=tokens.header("staff_a"))
    assert response.status_code == 428


def test_action_not_allowed_now_is_409_naming_the_allowed(client, tokens, plan) -> None:
    item = items(client, tokens, "staff_a")[0]
    response = act(client, tokens, "staff_a", item, "submit")
    assert response.status_code == 409
    assert "acknowledge" in response.get_json()["allowed_actions"]


@pytest.mark.parametrize(("who", "action"), [("staff_b", "acknowledge"),
                                             ("staff_a", "approve")])
def test_wrong_unit_or_role_is_403(client, tokens, plan, who, action) -> None:
    item = items(client, tokens, "staff_a")[0]
    response = act(client, tokens, who, item, action)
    assert response.status_code == 403


def test_other_units_item_cannot_be_read(client, tokens, plan) -> None:
    item = items(client, tokens, "staff_a")[0]
    response = client.get(f"/api/v1/items/{item['id']}", headers=tokens.header("staff_b"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "fields",
    [{"note": "x" * 10_001}, {"percent": 120}, {"surprise": True}, {"deadline": "2026-13-01"},
     {"evidence": "not-a-list"}, {"values": {"abc": 1}}],
)
def test_bad_fields_are_422(client, tokens, plan, fields) -> None:
    item = items(client, tokens, "staff_a")[0]
    response = act(client, tokens, "staff_a", item, "report_progress", **fields)
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_reasons_are_required(client, tokens, plan) -> None:
    item = items(client, tokens, "supervisor")[0]
    response = act(client, tokens, "supervisor", item, "waive")
    assert response.status_code == 422
    assert "note" in response.get_json()["errors"]


def test_extension_keeps_the_original_deadline(client, tokens, plan, clock) -> None:
    item = next(i for i in items(client, tokens, "staff_b") if i["deadline"])
    item = act(client, tokens, "staff_b", item, "acknowledge").get_json()
    clock.set(clock.now().replace(year=2026, month=12, day=1))
    item = act(client, tokens, "staff_b", item, "request_extension", deadline="2027-03-31",
               note="资金拨付延迟").get_json()
    assert item["extension_pending"] is True
    granted = act(client, tokens, "supervisor", item, "grant_extension")
    assert granted.status_code == 200, granted.get_json()
    body = granted.get_json()
    assert body["deadline"] == "2027-03-31"
    assert body["original_deadline"] == "2026-12-31"


def test_cursor_pages_cover_every_item_once(client, tokens, plan) -> None:
    seen, cursor = [], None
    while True:
        query = f"?limit=2{'&cursor=' + cursor if cursor else ''}"
        body = client.get(f"/api/v1/items{query}", headers=tokens.header("supervisor")).get_json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7


def test_filters(client, tokens, plan) -> None:
    assert len(items(client, tokens, "supervisor", "?status=assigned")) == 7
    assert items(client, tokens, "supervisor", "?status=approved") == []
    overdue = items(client, tokens, "supervisor", "?overdue=true")
    assert overdue and all(i["colour"] == "red" for i in overdue)
    assert all("智慧路口" in i["measure"]["title"]
               for i in items(client, tokens, "supervisor", "?q=智慧路口"))
    bad = client.get("/api/v1/items?cursor=%%%", headers=tokens.header("supervisor"))
    assert bad.status_code == 422
    # "i" and 25 nines: an id no database integer holds.
    huge = client.get("/api/v1/items?cursor=aTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk",
                      headers=tokens.header("supervisor"))
    assert huge.status_code == 422


def test_concurrent_transitions_one_wins(fresh_database: Database, clock, backend) -> None:
    app: Flask = create_app(Config(database_url=fresh_database.url, testing=True,
                                   secret_key="t", log_format="text"),
                            database=fresh_database, clock=clock)
    from tests.service.conftest import make_tokens

    tokens = make_tokens(fresh_database, clock)
    import_plan(fresh_database, clock)
    item = items(app.test_client(), tokens, "staff_a")[0]
    results: list[int] = []
    barrier = threading.Barrier(2)

    def attempt(action: str, fields: dict) -> None:
        barrier.wait()
        results.append(act(app.test_client(), tokens, "staff_a", item, action, **fields)
                       .status_code)

    threads = [threading.Thread(target=attempt, args=("acknowledge", {})),
               threading.Thread(target=attempt, args=("return", {"note": "非本单位职责"}))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 412]
    detail = app.test_client().get(f"/api/v1/items/{item['id']}",
                                   headers=tokens.header("staff_a")).get_json()
    assert len(detail["history"]) == 1


def test_a_year_the_holiday_calendar_lacks_is_a_clear_503(client, tokens, plan, clock) -> None:
    clock.set(clock.now().replace(year=2031))
    response = client.get("/api/v1/items", headers=tokens.header("supervisor"))
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert "日历" in response.get_json()["title"]
