"""The server-rendered pages, through Flask's test client: sign-in, 我的任务, item actions."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from flask.testing import FlaskClient

from service.clock import FixedClock
from service.db import Database
from service.services.audit import CLI_ACTOR
from tests.service.conftest import Tokens, import_plan

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, token: str) -> None:
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin", data={"token": token, "csrf_token": csrf_of(page)})
    assert response.status_code == 302, response.get_data(as_text=True)


def post_form(client: FlaskClient, page_url: str, url: str, data: dict[str, str]) -> object:
    html = client.get(page_url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_of(html)})


@pytest.fixture
def imported(database: Database, clock: FixedClock, tokens: Tokens) -> dict[str, int]:
    report = import_plan(database, clock, default_deadline=date(2026, 12, 31))
    return {"document": report.document_id}


def etag_of(html: str) -> str:
    match = re.search(r'name="etag" value="([^"]+)"', html)
    assert match, html
    return unescape(match.group(1))


def first_item_link(html: str) -> str:
    match = re.search(r'href="(/items/\d+)"', html)
    assert match, html
    return match.group(1)


def test_pages_need_a_session(client: FlaskClient) -> None:
    response = client.get("/tasks")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=/tasks")


def test_a_bad_token_is_refused_on_the_form(client: FlaskClient, tokens: Tokens) -> None:
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin", data={"token": "dbt_nope", "csrf_token": csrf_of(page)})
    assert response.status_code == 401
    assert "令牌无效" in response.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(client: FlaskClient, tokens: Tokens) -> None:
    response = client.post("/signin", data={"token": tokens.staff_a})
    assert response.status_code == 400
    assert "表单已失效" in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, tokens: Tokens) -> None:
    page = client.get("/signin").get_data(as_text=True)
    response = client.post("/signin", data={"token": tokens.staff_a, "csrf_token": csrf_of(page)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_staff_see_their_units_items_and_acknowledge_one(
    client: FlaskClient, tokens: Tokens, imported: dict[str, int]
) -> None:
    sign_in(client, tokens.staff_a)
    html = client.get("/tasks").get_data(as_text=True)
    assert "建设智慧路口" in html and "完善通信网络" not in html  # unit B's is not shown
    link = first_item_link(html)
    response = post_form(client, link, f"{link}/actions", {"action": "acknowledge", "etag": "x"})
    assert response.status_code == 412
    assert "已被他人修改" in response.get_data(as_text=True)
    item = client.get(link).get_data(as_text=True)
    etag = etag_of(item)
    response = post_form(client, link, f"{link}/actions", {"action": "acknowledge", "etag": etag})
    assert response.status_code == 302
    assert "已签收" in client.get(link).get_data(as_text=True)


def test_errors_show_next_to_the_field_and_keep_the_input(
    client: FlaskClient, tokens: Tokens, imported: dict[str, int]
) -> None:
    sign_in(client, tokens.staff_a)
    link = first_item_link(client.get("/tasks").get_data(as_text=True))
    for action in ("acknowledge", "start"):
        item = client.get(link).get_data(as_text=True)
        etag = etag_of(item)
        post_form(client, link, f"{link}/actions", {"action": action, "etag": etag})
    item = client.get(link).get_data(as_text=True)
    etag = etag_of(item)
    data = {"action": "report_progress", "etag": etag, "note": "<b>已部署</b>", "evidence": "ftp://x"}
    response = post_form(client, link, f"{link}/actions", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "不是 http(s) 链接" in html
    assert "&lt;b&gt;已部署&lt;/b&gt;" in html  # kept, and escaped


def test_staff_cannot_open_another_units_item(
    client: FlaskClient, tokens: Tokens, imported: dict[str, int]
) -> None:
    sign_in(client, tokens.staff_b)
    other = client.get("/tasks").get_data(as_text=True)
    sign_in(client, tokens.staff_a)
    own = first_item_link(client.get("/tasks").get_data(as_text=True))
    sign_in(client, tokens.staff_b)
    assert first_item_link(other) != own
    assert client.get(own).status_code == 403
    assert client.get("/overview").status_code == 403


def test_supervisor_overview_counts_and_chart(
    client: FlaskClient, tokens: Tokens, imported: dict[str, int]
) -> None:
    sign_in(client, tokens.supervisor)
    html = client.get("/overview").get_data(as_text=True)
    assert "督办总览" in html and "事项总数" in html
    workbook = client.get("/overview/overdue.xlsx")
    assert workbook.status_code == 200 and workbook.data[:2] == b"PK"


def test_revoked_tokens_end_the_session(
    client: FlaskClient, tokens: Tokens, database: Database, clock: FixedClock
) -> None:
    from service.services.tokens import authenticate, revoke

    sign_in(client, tokens.staff_a)
    assert client.get("/tasks").status_code == 200
    with database.reading() as session:
        token_id = authenticate(session, tokens.staff_a, clock.now()).token_id
    revoke(database, token_id, actor=CLI_ACTOR, now=clock.now())
    assert client.get("/tasks").status_code == 302


def test_sign_in_never_redirects_off_site(client: FlaskClient, tokens: Tokens) -> None:
    page = client.get("/signin?next=//evil.example/x").get_data(as_text=True)
    response = client.post(
        "/signin",
        data={"token": tokens.staff_a, "csrf_token": csrf_of(page), "next": "//evil.example/x"},
    )
    assert response.headers["Location"] == "/tasks"


def test_processes_without_secret_key_share_one_session_key(
    config, database: Database, clock: FixedClock, tokens: Tokens
) -> None:
    from dataclasses import replace

    from service.app import create_app

    keyless = replace(config, secret_key="")
    first, second = (create_app(keyless, database=database, clock=clock) for _ in range(2))
    client = first.test_client()
    sign_in(client, tokens.staff_a)
    cookie = client.get_cookie("duban_session")
    other = second.test_client()
    other.set_cookie("duban_session", cookie.value)
    assert other.get("/tasks").status_code == 200
    assert first.secret_key == second.secret_key
