"""Slack incoming webhook: Block Kit with a plain `text` fallback for notifications."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from webhooks.formats import message as msg
from webhooks.formats.outbound import Event, Formatter, OutboundRequest
from webhooks.formats.standard import encode

# A section block's text may hold at most 3000 characters.
SIZE_LIMIT = 3000
HEADERS = {"content-type": "application/json; charset=utf-8"}


def section_chars(request: OutboundRequest) -> int:
    """Length of the longest section text, the part Slack limits."""
    blocks = json.loads(request.body)["blocks"]
    return max(len(b["text"]["text"]) for b in blocks if b["type"] == "section")


def escape(text: str) -> str:
    """Slack's three control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(events: Sequence[Event], shown: Sequence[Event], omitted: int, base_url: str) -> str:
    if len(events) == 1 and shown:
        item = msg.view(shown[0], base_url)
        lines = [f"*{escape(item.title)}*"]
        lines += [f"{name}：{escape(value)}" for name, value in msg.facts(item)]
        lines.append(f"<{item.link}|查看事项>")
        return "\n".join(lines)
    lines = []
    for event in shown:
        item = msg.view(event, base_url, title_chars=msg.DIGEST_TITLE_CHARS)
        lines.append(f"• {escape(msg.digest_line(item))} <{item.link}|查看>")
    if omitted:
        lines.append(f"{msg.more_line(omitted)}<{msg.list_link(base_url)}|查看全部>")
    return "\n".join(lines)


def render(
    events: Sequence[Event],
    *,
    base_url: str,
    secrets: Sequence[str],
    now: datetime,
    msg_id: str,
) -> OutboundRequest:
    """The message; Slack's URL is its secret, so `secrets` is unused."""
    title = msg.headline(events)

    def build(shown: Sequence[Event], omitted: int) -> OutboundRequest:
        text = _text(events, shown, omitted, base_url)
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": title}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        ]
        payload = {"text": title, "blocks": blocks}
        return OutboundRequest(
            body=encode(payload), headers=HEADERS, event_ids=msg.event_ids(events)
        )

    return msg.fit_digest(events, build, FORMATTER.fits)


FORMATTER = Formatter(name="slack", render=render, size_limit=SIZE_LIMIT, measure=section_chars)
