"""Supervisor pages through Flask's test client: 文件 (preview, confirm), 单位, 订阅推送."""

from __future__ import annotations

import io
import os
import re
from html import unescape

import docx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select
from werkzeug.test import TestResponse

from service.app import create_app
from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.models import Delivery
from service.pages import files
from service.services.documents import ImportRequest, list_documents
from service.services.units import directory
from tests.service.conftest import PLAN, Tokens
from tests.service.test_pages import csrf_of, sign_in

PUBLIC = "https://93.184.215.14/hook"
SCRIPT = "<script>alert(1)</script>"


def word_file() -> bytes:
    """A plan with a measure naming no unit, and a unit spelt in its long form."""
    document = docx.Document()
    for line in (
        "某区2026年营商环境优化工作方案",
        "一、提升政务服务",
        "（一）推行一窗通办。年底前实现一窗受理。（责任单位：区政务服务中心、市交通局）",
        "（二）完善制度规范。修订相关制度。",
        "二、强化要素保障",
        "（一）保障用地需求。（牵头单位：区自然资源局；配合单位：市财政局）",
    ):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def post(client: FlaskClient, page: str, url: str, data: dict[str, object]) -> TestResponse:
    """Submit a form the way a browser does: with the CSRF token of the page it sits on."""
    html = client.get(page).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_of(html)})


def upload(client: FlaskClient, data: bytes, filename: str, **options: str) -> TestResponse:
    form = {"title": "", "default_deadline": "", "replace": "", **options}
    return post(client, "/files", "/files/preview", {**form, "file": (io.BytesIO(data), filename)})


def payload_of(html: str) -> str:
    match = re.search(r'name="payload" value="([^"]+)"', html)
    assert match, html
    return unescape(match.group(1))


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def flashes(client: FlaskClient, response: TestResponse) -> str:
    assert response.status_code == 302, text(response)
    return text(client.get(response.headers["Location"]))


@pytest.fixture
def supervisor(client: FlaskClient, tokens: Tokens) -> FlaskClient:
    sign_in(client, tokens.supervisor)
    return client


def app_with(config: Config, database: Database, clock: FixedClock, **overrides: object) -> Flask:
    return create_app(config.with_overrides(overrides), database=database, clock=clock)


def test_staff_cannot_open_the_supervisor_pages(client: FlaskClient, tokens: Tokens) -> None:
    sign_in(client, tokens.staff_a)
    for page in ("/files", "/units", "/subscriptions", "/subscriptions/1"):
        response = client.get(page)
        assert response.status_code == 403, page
        assert "无权操作" in text(response)
    response = post(client, "/tasks", "/units/merge", {"unit": "1", "into": "2"})
    assert response.status_code == 403


def test_a_text_file_is_previewed_then_imported_once(
    supervisor: FlaskClient, database: Database
) -> None:
    before = len(list_documents(database))
    preview = upload(supervisor, PLAN.encode(), "plan.txt", default_deadline="2026-12-31")
    html = text(preview)
    assert preview.status_code == 200, html
    assert "某市推进智能网联汽车示范区建设行动方案" in html and "2024–2026" in html
    assert "建设智慧路口" in html and "不少于150个" in html and "牵头" in html
    new_units = re.search(r'class="new-units">(.*?)</div>', html, re.S).group(1)
    assert "市公安局" in new_units and "市交通运输局" not in new_units
    assert len(list_documents(database)) == before  # the preview stores nothing

    confirm = post(supervisor, "/files", "/files/confirm", {"payload": payload_of(html)})
    page = flashes(supervisor, confirm)
    assert "已导入" in page and "措施 4 项" in page and "市公安局" in page
    assert re.search(r'<td class="num">4</td>\s*<td class="num">7</td>', page)  # measures, items
    assert len(list_documents(database)) == before + 1

    again = post(supervisor, "/files", "/files/confirm", {"payload": payload_of(html)})
    assert "内容相同" in flashes(supervisor, again)
    assert len(list_documents(database)) == before + 1


def test_a_word_file_shows_unassigned_measures_and_known_aliases(supervisor: FlaskClient) -> None:
    html = text(upload(supervisor, word_file(), "方案.docx"))
    assert "某区2026年营商环境优化工作方案" in html
    unassigned = re.search(r'<li class="measure unassigned">(.*?)</li>', html, re.S).group(1)
    assert "完善制度规范" in unassigned and "未分配单位" in unassigned
    new_units = re.search(r'class="new-units">(.*?)</div>', html, re.S).group(1)
    assert "区政务服务中心" in new_units and "区自然资源局" in new_units
    assert "市交通局" not in new_units  # an alias of 市交通运输局 in the directory


def test_a_preview_warns_that_a_same_titled_document_is_revised(
    supervisor: FlaskClient,
) -> None:
    first = text(upload(supervisor, PLAN.encode(), "plan.txt"))
    post(supervisor, "/files", "/files/confirm", {"payload": payload_of(first)})
    revised = PLAN.replace("不少于150个", "不少于200个")
    html = text(upload(supervisor, revised.encode(), "plan-v2.txt"))
    assert "确认后将修订已导入的" in html and "第 1 版 → 第 2 版" in html
    confirm = post(supervisor, "/files", "/files/confirm", {"payload": payload_of(html)})
    assert "已修订（第 2 版）" in flashes(supervisor, confirm)


def test_a_tampered_or_foreign_payload_is_refused(
    supervisor: FlaskClient, database: Database
) -> None:
    payload = payload_of(text(upload(supervisor, PLAN.encode(), "plan.txt")))
    before = len(list_documents(database))
    body, _dot, signature = payload.rpartition(".")
    for forged in (f"{body}x.{signature}", f"{body}.{signature[::-1]}", "abc", "a.b.c"):
        response = post(supervisor, "/files", "/files/confirm", {"payload": forged})
        assert response.status_code == 400
        assert "导入内容校验失败" in text(response) and "请重新选择文件" in text(response)
    assert len(list_documents(database)) == before


def test_upload_errors_are_shown_at_the_file_field_with_the_input_kept(
    supervisor: FlaskClient,
) -> None:
    picture = b"\x89PNG\r\n\x1a\n" + bytes(300)
    response = upload(supervisor, picture, "scan.png", title=SCRIPT, default_deadline="2026-06-30")
    html = text(response)
    assert response.status_code == 422
    assert re.search(r'invalid">\s*<span>文件', html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and SCRIPT not in html
    assert 'value="2026-06-30"' in html

    nothing = upload(supervisor, "关于做好某项工作的通知\n".encode(), "note.txt")
    assert nothing.status_code == 422 and "未识别出措施" in text(nothing)

    missing = post(supervisor, "/files", "/files/preview", {"title": "标题"})
    assert missing.status_code == 422 and "请选择要上传的文件" in text(missing)

    unknown = upload(supervisor, PLAN.encode(), "plan.txt", replace="999999")
    assert unknown.status_code == 404 and "文件不存在" in text(unknown)


def test_too_large_uploads_get_a_chinese_page(
    config: Config, database: Database, clock: FixedClock, tokens: Tokens
) -> None:
    client = app_with(config, database, clock, max_upload_bytes=2000).test_client()
    sign_in(client, tokens.supervisor)
    over = upload(client, PLAN.encode() * 20, "plan.txt", title="长文件")
    assert over.status_code == 422 and "文件过大" in text(over) and 'value="长文件"' in text(over)

    beyond = upload(client, b"x" * (2000 + 1024 * 1024 + 10), "big.txt")
    assert beyond.status_code == 413
    assert beyond.mimetype == "text/html" and "文件过大" in text(beyond)


def test_the_confirm_form_may_carry_a_file_of_the_largest_size(
    config: Config, database: Database, clock: FixedClock, tokens: Tokens
) -> None:
    """Base64 makes the sealed file a third larger than the upload limit allows a request."""
    limit = 3 * 1024 * 1024
    app = app_with(config, database, clock, max_upload_bytes=limit)
    with app.test_request_context():
        payload = files.seal(ImportRequest(os.urandom(limit), "scan.bin"))
    assert len(payload) > app.config["MAX_CONTENT_LENGTH"]
    client = app.test_client()
    sign_in(client, tokens.supervisor)
    response = post(client, "/files", "/files/confirm", {"payload": payload})
    assert response.status_code == 422 and "文件无法读取" in text(response)


@pytest.fixture
def units(supervisor: FlaskClient, database: Database) -> dict[str, dict]:
    """The directory after PLAN was imported through the pages, by unit name."""
    html = text(upload(supervisor, PLAN.encode(), "plan.txt"))
    post(supervisor, "/files", "/files/confirm", {"payload": payload_of(html)})
    return {u["name"]: u for u in directory(database)}


def test_units_new_from_an_import_await_confirmation(
    supervisor: FlaskClient, database: Database, units: dict[str, dict]
) -> None:
    pending = text(supervisor.get("/units?unconfirmed=1"))
    listed = re.search(r'<ul class="units">(.*?)</ul>\s*</section>', pending, re.S).group(1)
    assert "市公安局" in listed and "待确认" in listed and "市财政局" not in listed
    police = units["市公安局"]["id"]
    confirmed = post(supervisor, "/units", f"/units/{police}/confirm?unconfirmed=1", {})
    assert confirmed.headers["Location"] == f"/units?unconfirmed=1#unit-{police}"
    assert {u["name"]: u for u in directory(database)}["市公安局"]["confirmed"]


def test_an_alias_is_added_or_refused_at_its_field(
    supervisor: FlaskClient, units: dict[str, dict]
) -> None:
    aliases = f"/units/{units['市交通运输局']['id']}/aliases"
    added = post(supervisor, "/units", aliases, {"alias": "交通局"})
    assert "已为“市交通运输局”添加别名“交通局”" in flashes(supervisor, added)
    taken = post(supervisor, "/units", aliases, {"alias": "市公安局"})
    assert taken.status_code == 409
    assert re.search(r'field-error" role="alert">已属于单位', text(taken))
    assert 'value="市公安局"' in text(taken)


def test_a_merge_moves_items_and_keeps_the_old_name(
    supervisor: FlaskClient, database: Database, units: dict[str, dict]
) -> None:
    it, transport = str(units["市工信局"]["id"]), str(units["市交通运输局"]["id"])
    itself = post(supervisor, "/units", "/units/merge", {"unit": it, "into": it})
    assert itself.status_code == 422 and "与源单位相同" in text(itself)
    merged = post(supervisor, "/units", "/units/merge", {"unit": it, "into": transport})
    assert "移交事项 1 项" in flashes(supervisor, merged)
    assert "市工信局" in {u["name"]: u for u in directory(database)}["市交通运输局"]["aliases"]


@pytest.fixture
def intranet(config: Config, database: Database, clock: FixedClock, tokens: Tokens) -> FlaskClient:
    """Supervisor pages in an app that lets webhooks reach 127.0.0.1 (an intranet OA host)."""
    client = app_with(config, database, clock, webhook_allowed_networks="127.0.0.0/8").test_client()
    sign_in(client, tokens.supervisor)
    return client


def create(client: FlaskClient, **fields: object) -> TestResponse:
    form = {"description": "督查室 OA", "url": PUBLIC, "format": "standard", **fields}
    return post(client, "/subscriptions", "/subscriptions", form)


def test_an_internal_url_is_refused_unless_its_network_is_allowed(
    supervisor: FlaskClient, intranet: FlaskClient
) -> None:
    refused = create(supervisor, url="http://127.0.0.1:9000/hook", description=SCRIPT)
    html = text(refused)
    assert refused.status_code == 422
    assert re.search(r'invalid">\s*<span>推送地址', html)
    assert "&lt;script&gt;" in html and SCRIPT not in html
    assert 'value="http://127.0.0.1:9000/hook"' in html

    made = create(intranet, url="http://127.0.0.1:9000/hook", event_types=["item.*"])
    assert made.status_code == 201
    secret = re.search(r'<code class="secret">(whsec_[^<]+)</code>', text(made)).group(1)
    detail = text(intranet.get("/subscriptions"))
    assert "127.0.0.1:9000" in detail and "全部事项动态" in detail and secret not in detail


def test_robot_tokens_never_reach_the_page(supervisor: FlaskClient) -> None:
    url = f"{PUBLIC}?access_token=robot-token-123"
    made = create(supervisor, url=url, format="dingtalk", secret="SEC" + "a1" * 32)
    page = flashes(supervisor, made)
    assert "robot-token-123" not in page and "SECa1" not in page
    assert "robot-token-123" not in text(supervisor.get("/subscriptions"))


def test_test_message_retry_and_disable(supervisor: FlaskClient, database: Database) -> None:
    made = create(supervisor, description=SCRIPT)
    link = re.search(r'action="(/subscriptions/\d+)/test"', text(made)).group(1)
    assert "&lt;script&gt;" in text(made) and SCRIPT not in text(made)

    sent = post(supervisor, link, f"{link}/test", {})
    page = flashes(supervisor, sent)
    assert "测试消息已排入发送队列" in page
    assert re.search(r"推送测试<small.*?待发送", page, re.S)

    with database.transaction() as session:
        delivery = session.exec(select(Delivery)).one()
        delivery.status, delivery.last_error = "failed", "HTTP 500"
        session.add(delivery)
        delivery_id = delivery.id
    failed_page = text(supervisor.get(f"{link}?status=failed"))
    assert "HTTP 500" in failed_page and f"/deliveries/{delivery_id}/retry" in failed_page
    retried = post(supervisor, link, f"{link}/deliveries/{delivery_id}/retry", {})
    assert f"投递 #{delivery_id} 已重新排入发送队列" in flashes(supervisor, retried)

    off = post(supervisor, link, f"{link}/active", {"active": "false"})
    assert "已停用推送" in flashes(supervisor, off)
    refused = post(supervisor, link, f"{link}/test", {})
    assert refused.status_code == 409 and "请先启用再测试" in text(refused)
    on = post(supervisor, link, f"{link}/active", {"active": "true"})
    assert "已启用推送" in flashes(supervisor, on)
