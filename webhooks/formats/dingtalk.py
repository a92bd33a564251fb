"""DingTalk custom robot (自定义机器人): actionCard for one event, markdown for a digest.

Signed by 加签: `timestamp` (ms) and `sign` go in the query string.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from webhooks.formats import message as msg
from webhooks.formats.outbound import Event, Formatter, OutboundRequest
from webhooks.formats.standard import encode
from webhooks.signing import dingtalk_query

# DingTalk refuses messages over 20000 bytes (errcode 460101); measured on the body.
SIZE_LIMIT = 20_000
HEADERS = {"content-type": "application/json; charset=utf-8"}


def _single_text(item: msg.EventView) -> str:
    lines = [f"### {item.label}", f"**{item.title}**", ""]
    lines += [f"- {name}：{value}" for name, value in msg.facts(item)]
    return "\n".join(lines)


def _digest_text(title: str, shown: Sequence[msg.EventView], omitted: int, base_url: str) -> str:
    lines = [f"### {title}", ""]
    lines += [f"- {msg.digest_line(item)} [查看]({item.link})" for item in shown]
    if omitted:
        lines.append(f"- {msg.more_line(omitted)}[查看全部]({msg.list_link(base_url)})")
    return "\n".join(lines)


def render(
    events: Sequence[Event],
    *,
    base_url: str,
    secrets: Sequence[str],
    now: datetime,
    msg_id: str,
) -> OutboundRequest:
    """The robot message; signed with the newest secret when the robot has one."""
    title = msg.headline(events)
    query = dingtalk_query(secrets[0], int(now.timestamp() * 1000)) if secrets else {}

    def build(shown: Sequence[Event], omitted: int) -> OutboundRequest:
        if len(events) == 1 and shown:
            item = msg.view(shown[0], base_url)
            payload: dict[str, object] = {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": title,
                    "text": _single_text(item),
                    "singleTitle": "查看事项",
                    "singleURL": item.link,
                },
            }
        else:
            views = [msg.view(e, base_url, title_chars=msg.DIGEST_TITLE_CHARS) for e in shown]
            text = _digest_text(title, views, omitted, base_url)
            payload = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        return OutboundRequest(
            body=encode(payload), headers=HEADERS, query=query, event_ids=msg.event_ids(events)
        )

    return msg.fit_digest(events, build, FORMATTER.fits)


FORMATTER = Formatter(name="dingtalk", render=render, size_limit=SIZE_LIMIT)
