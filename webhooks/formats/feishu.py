"""Feishu custom bot (自定义机器人): an interactive card; `timestamp` and `sign` in the body."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from webhooks import events as ev
from webhooks.formats import message as msg
from webhooks.formats.outbound import Event, Formatter, OutboundRequest
from webhooks.formats.standard import encode
from webhooks.signing import feishu_sign

# Feishu refuses request bodies over 20 KB; 20 000 bytes holds under either reading.
SIZE_LIMIT = 20_000
HEADERS = {"content-type": "application/json; charset=utf-8"}
HEADER_COLOURS = {
    ev.ITEM_OVERDUE: "red",
    ev.ITEM_ESCALATED: "red",
    ev.ITEM_REJECTED: "orange",
    ev.ITEM_DUE_SOON: "orange",
    ev.ITEM_APPROVED: "green",
    ev.SUBSCRIPTION_DISABLED: "grey",
}


def _button(text: str, url: str) -> dict[str, object]:
    return {
        "tag": "action",
        "actions": [
            {
                "tag": "button",
                "type": "primary",
                "url": url,
                "text": {"tag": "plain_text", "content": text},
            },
        ],
    }


def _markdown(content: str) -> dict[str, object]:
    return {"tag": "div", "text": {"tag": "lark_md", "content": content}}


def _elements(
    events: Sequence[Event], shown: Sequence[Event], omitted: int, base_url: str
) -> list[dict[str, object]]:
    if len(events) == 1 and shown:
        item = msg.view(shown[0], base_url)
        lines = [f"**{item.title}**"] + [f"{name}：{value}" for name, value in msg.facts(item)]
        return [_markdown("\n".join(lines)), _button("查看事项", item.link)]
    lines = []
    for event in shown:
        item = msg.view(event, base_url, title_chars=msg.DIGEST_TITLE_CHARS)
        lines.append(f"- {msg.digest_line(item)} [查看]({item.link})")
    elements = [_markdown("\n".join(lines))] if lines else []
    if omitted:
        elements.append(_markdown(msg.more_line(omitted)))
    elements.append(_button("查看全部事项", msg.list_link(base_url)))
    return elements


def render(
    events: Sequence[Event],
    *,
    base_url: str,
    secrets: Sequence[str],
    now: datetime,
    msg_id: str,
) -> OutboundRequest:
    """The card; signed with the newest secret when the bot has 签名校验 on."""
    colour = HEADER_COLOURS.get(events[0]["type"], "blue") if len(events) == 1 else "blue"
    header = {"title": {"tag": "plain_text", "content": msg.headline(events)}, "template": colour}
    signature: dict[str, str] = {}
    if secrets:
        timestamp = int(now.timestamp())
        signature = {"timestamp": str(timestamp), "sign": feishu_sign(secrets[0], timestamp)}

    def build(shown: Sequence[Event], omitted: int) -> OutboundRequest:
        card = {"header": header, "elements": _elements(events, shown, omitted, base_url)}
        payload = {**signature, "msg_type": "interactive", "card": card}
        return OutboundRequest(
            body=encode(payload), headers=HEADERS, event_ids=msg.event_ids(events)
        )

    return msg.fit_digest(events, build, FORMATTER.fits)


FORMATTER = Formatter(name="feishu", render=render, size_limit=SIZE_LIMIT)
