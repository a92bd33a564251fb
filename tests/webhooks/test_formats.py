"""Every format renders exact, signed requests that fit the receiver's limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from standardwebhooks import Webhook

from webhooks import events as ev
from webhooks import ratelimit, retry
from webhooks.formats import FORMATS
from webhooks.formats.message import fit_digest
from webhooks.formats.outbound import OutboundRequest

BASE_URL = "https://duban.example.cn"
NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
CHAT_FORMATS = ["dingtalk", "wecom", "feishu", "slack"]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROBOT_SECRET = "SECrobot-secret"


def render(name, events, *, secrets=(), now=NOW):
    return FORMATS[name].render(
        events, base_url=BASE_URL, secrets=list(secrets), now=now, msg_id="msg_1"
    )


def visible_text(request: OutboundRequest) -> str:
    return json.dumps(json.loads(request.body), ensure_ascii=False)


def test_one_registry_covers_every_format_and_its_policies():
    assert set(FORMATS) == {"standard", "dingtalk", "wecom", "feishu", "slack"}
    assert set(ratelimit.DEFAULT_POLICIES) == set(FORMATS)
    assert set(retry.ROBOT_CODES) <= set(FORMATS)


@pytest.mark.parametrize("name", CHAT_FORMATS)
def test_huge_digest_fits_the_robot_limit_and_counts_the_rest(name, event_factory):
    long_title = "围绕建设全国统一大市场，推进要素市场化配置综合改革试点" * 12
    events = [event_factory(n, title=long_title) for n in range(1, 1001)]
    request = render(name, events, secrets=[ROBOT_SECRET])
    formatter = FORMATS[name]
    assert formatter.measure(request) <= formatter.size_limit
    assert formatter.fits(request)
    assert request.event_ids == tuple(f"evt-{n}" for n in range(1, 1001))
    text = visible_text(request)
    assert "另有" in text and "项…" in text
    assert f"{BASE_URL}/items" in text


@pytest.mark.parametrize("name", CHAT_FORMATS)
def test_single_event_with_an_enormous_title_still_fits_and_links_back(name, event_factory):
    request = render(name, [event_factory(9, title="很长的措施" * 5000)])
    assert FORMATS[name].fits(request)
    text = visible_text(request)
    assert f"{BASE_URL}/items/9" in text
    assert "另有" not in text


@pytest.mark.parametrize("name", CHAT_FORMATS)
def test_small_digest_lists_every_event_with_its_link(name, event_factory):
    request = render(name, [event_factory(n) for n in (1, 2, 3)])
    text = visible_text(request)
    assert all(f"{BASE_URL}/items/{n}" in text for n in (1, 2, 3))
    assert "另有" not in text
    assert "3 项事项动态" in text


@pytest.mark.parametrize("name", CHAT_FORMATS)
def test_chat_messages_are_chinese_and_carry_the_keyword(name, event_factory):
    text = visible_text(render(name, [event_factory(1)]))
    assert "督办" in text
    assert "事项已逾期" in text
    assert "省科学技术厅（牵头）" in text
    assert "2025-06-30" in text


def test_standard_single_event_is_the_envelope_and_verifies(event_factory):
    event = event_factory(5)
    now = datetime.now(UTC)
    request = render("standard", [event], secrets=[SECRET], now=now)
    assert json.loads(request.body) == event
    assert request.headers["content-type"].startswith("application/cloudevents+json")
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert Webhook(SECRET).verify(request.body, dict(request.headers)) == event


def test_standard_digest_is_a_cloudevents_batch_never_truncated(event_factory):
    events = [event_factory(n) for n in range(1, 301)]
    request = render("standard", events, secrets=[SECRET], now=datetime.now(UTC))
    assert json.loads(request.body) == events
    assert request.headers["content-type"].startswith("application/cloudevents-batch+json")
    Webhook(SECRET).verify(request.body, dict(request.headers))


def test_dingtalk_signs_in_the_query_string(event_factory):
    request = render("dingtalk", [event_factory(1)], secrets=[ROBOT_SECRET, "SECold"])
    url = request.url("https://oapi.dingtalk.com/robot/send?access_token=abc")
    query = parse_qs(urlsplit(url).query)
    timestamp = query["timestamp"][0]
    assert timestamp == str(int(NOW.timestamp() * 1000))
    expected = hmac.new(
        ROBOT_SECRET.encode(), f"{timestamp}\n{ROBOT_SECRET}".encode(), hashlib.sha256
    ).digest()
    assert query["sign"] == [base64.b64encode(expected).decode()]
    assert query["access_token"] == ["abc"]
    assert "%2B" in url or "%2F" in url or "%3D" in url  # the signature is url-encoded


def test_dingtalk_single_event_is_an_action_card_with_a_button(event_factory):
    body = json.loads(render("dingtalk", [event_factory(4)]).body)
    assert body["msgtype"] == "actionCard"
    assert body["actionCard"]["singleURL"] == f"{BASE_URL}/items/4"
    assert (
        json.loads(render("dingtalk", [event_factory(4), event_factory(5)]).body)["msgtype"]
        == "markdown"
    )


def test_unsigned_robots_have_no_signature_fields(event_factory):
    assert render("dingtalk", [event_factory(1)]).query == {}
    assert "sign" not in json.loads(render("feishu", [event_factory(1)]).body)


def test_feishu_signs_in_the_body(event_factory):
    body = json.loads(render("feishu", [event_factory(1)], secrets=[ROBOT_SECRET]).body)
    timestamp = body["timestamp"]
    assert timestamp == str(int(NOW.timestamp()))
    key = f"{timestamp}\n{ROBOT_SECRET}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "interactive"
    assert body["card"]["header"]["template"] == "red"


def test_wecom_is_markdown(event_factory):
    body = json.loads(render("wecom", [event_factory(1)]).body)
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"].startswith("**【督办】事项已逾期**")


def test_slack_escapes_its_control_characters(event_factory):
    request = render("slack", [event_factory(1, title="A<B>&C")])
    section = json.loads(request.body)["blocks"][1]["text"]["text"]
    assert "A&lt;B&gt;&amp;C" in section


def test_document_events_link_to_the_document():
    event = ev.build_event(
        ev.DOCUMENT_IMPORTED,
        "documents/3",
        {"document": {"id": "3", "title": "实施方案"}},
        id="e",
        time=NOW,
        source="/duban",
    )
    assert f"{BASE_URL}/documents/3" in visible_text(render("wecom", [event]))


def test_fit_digest_shows_the_most_events_that_fit():
    sizes = []

    def build(shown, omitted):
        sizes.append(len(shown))
        return OutboundRequest(body=b"x" * (10 * len(shown) + 5), headers={})

    request = fit_digest([{}] * 100, build, lambda r: len(r.body) <= 255)
    assert len(request.body) == 255
    assert len(sizes) < 12  # binary search, not one render per event
