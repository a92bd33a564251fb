"""WeCom group robot (企业微信群机器人): markdown; the key in the URL is its only secret."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from webhooks.formats import message as msg
from webhooks.formats.outbound import Event, Formatter, OutboundRequest
from webhooks.formats.standard import encode

# markdown.content may hold at most 4096 bytes of UTF-8.
SIZE_LIMIT = 4096
HEADERS = {"content-type": "application/json; charset=utf-8"}


def content_bytes(request: OutboundRequest) -> int:
    """UTF-8 size of `markdown.content`, the part WeCom limits."""
    return len(json.loads(request.body)["markdown"]["content"].encode())


def _content(events: Sequence[Event], shown: Sequence[Event], omitted: int, base_url: str) -> str:
    lines = [f"**{msg.headline(events)}**"]
    if len(events) == 1 and shown:
        item = msg.view(shown[0], base_url)
        lines.append(f"> {item.title}")
        lines += [f'> {name}：<font color="comment">{v}</font>' for name, v in msg.facts(item)]
        lines.append(f"[查看事项]({item.link})")
        return "\n".join(lines)
    for event in shown:
        item = msg.view(event, base_url, title_chars=msg.DIGEST_TITLE_CHARS)
        lines.append(f"> {msg.digest_line(item)} [查看]({item.link})")
    if omitted:
        lines.append(f"{msg.more_line(omitted)}[查看全部]({msg.list_link(base_url)})")
    return "\n".join(lines)


def render(
    events: Sequence[Event],
    *,
    base_url: str,
    secrets: Sequence[str],
    now: datetime,
    msg_id: str,
) -> OutboundRequest:
    """The markdown message; WeCom robots have no signing, so `secrets` is unused."""

    def build(shown: Sequence[Event], omitted: int) -> OutboundRequest:
        content = _content(events, shown, omitted, base_url)
        payload = {"msgtype": "markdown", "markdown": {"content": content}}
        return OutboundRequest(
            body=encode(payload), headers=HEADERS, event_ids=msg.event_ids(events)
        )

    return msg.fit_digest(events, build, FORMATTER.fits)


FORMATTER = Formatter(name="wecom", render=render, size_limit=SIZE_LIMIT, measure=content_bytes)
