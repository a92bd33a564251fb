"""The Chinese wording shared by the chat formats, and fitting a digest into a size limit.

Each chat format lays these pieces out in its own markup; the words and the
"另有 N 项…" truncation rule are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webhooks import events as ev
from webhooks.formats.outbound import Event, OutboundRequest

# Every message title carries this word, so robots guarded by a keyword (DingTalk
# 关键词, Feishu 关键词) can be configured with "督办" once.
KEYWORD = "督办"
SINGLE_TITLE_CHARS = 200
DIGEST_TITLE_CHARS = 40
NOTE_CHARS = 200

ROLE_LABELS = {"lead": "牵头", "co": "配合"}


@dataclass(frozen=True)
class EventView:
    """What a chat message says about one event, already in Chinese and clipped."""

    label: str
    title: str
    unit: str
    document: str
    deadline: str
    actor: str
    note: str
    link: str


def clip(text: str, limit: int) -> str:
    """One line of at most `limit` characters, with "…" when cut."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _name(data: Mapping[str, Any], key: str, field: str) -> str:
    ref = data.get(key)
    return str(ref.get(field) or "") if isinstance(ref, Mapping) else ""


def link_for(event: Event, base_url: str) -> str:
    """The page a reader should open: the item, else the document, else the home page."""
    data = event.get("data") or {}
    base = base_url.rstrip("/")
    for key, path in (("item", "items"), ("document", "documents")):
        ref = data.get(key)
        if isinstance(ref, Mapping) and ref.get("id") is not None:
            return f"{base}/{path}/{ref['id']}"
    return f"{base}/"


def view(event: Event, base_url: str, *, title_chars: int = SINGLE_TITLE_CHARS) -> EventView:
    """The Chinese view of one event."""
    data = event.get("data") or {}
    unit = _name(data, "unit", "name")
    role = ROLE_LABELS.get(_name(data, "unit", "role"), "")
    document = _name(data, "document", "title")
    measure_ref = data.get("measure_ref") or ""
    title = _name(data, "item", "title") or document or ev.label(event["type"])
    return EventView(
        label=ev.label(event["type"]),
        title=clip(title, title_chars),
        unit=clip(f"{unit}（{role}）" if unit and role else unit, 60),
        document=clip(f"《{document}》{measure_ref}" if document else measure_ref, 80),
        deadline=str(data.get("deadline") or ""),
        actor=clip(_name(data, "actor", "name"), 30),
        note=clip(data.get("note") or "", NOTE_CHARS),
        link=link_for(event, base_url),
    )


def headline(events: Sequence[Event]) -> str:
    """The message title: the event's label, or the count for a digest."""
    if len(events) == 1:
        return f"【{KEYWORD}】{ev.label(events[0]['type'])}"
    return f"【{KEYWORD}】{len(events)} 项事项动态"


def facts(item: EventView) -> list[tuple[str, str]]:
    """The labelled facts shown for a single event, empty ones left out."""
    pairs = [
        ("责任单位", item.unit),
        ("所属文件", item.document),
        ("办理时限", item.deadline),
        ("操作人", item.actor),
        ("说明", item.note),
    ]
    return [(name, value) for name, value in pairs if value]


def digest_line(item: EventView) -> str:
    """One compact line of a digest, without markup: label, unit, title, deadline."""
    unit = f"{item.unit}｜" if item.unit else ""
    deadline = f"（时限 {item.deadline}）" if item.deadline else ""
    return f"[{item.label}] {unit}{item.title}{deadline}"


def more_line(omitted: int) -> str:
    """The closing line of a truncated digest."""
    return f"另有 {omitted} 项…"


def list_link(base_url: str) -> str:
    """Where a truncated digest sends the reader for the rest."""
    return f"{base_url.rstrip('/')}/items"


def event_ids(events: Sequence[Event]) -> tuple[str, ...]:
    """The ids of the events a request accounts for."""
    return tuple(str(event["id"]) for event in events)


def fit_digest(
    events: Sequence[Event],
    build: Callable[[Sequence[Event], int], OutboundRequest],
    fits: Callable[[OutboundRequest], bool],
) -> OutboundRequest:
    """The request showing as many events as fit, the rest counted in "另有 N 项…".

    `build(shown, omitted)` renders; the number shown is found by binary search, since
    showing fewer events never makes a message longer.
    """
    low, high = 0, len(events)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(build(events[:middle], len(events) - middle)):
            low = middle
        else:
            high = middle - 1
    return build(events[:low], len(events) - low)
