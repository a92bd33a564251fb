"""The outline of a policy document: numbered headings, their nesting, refs and titles.

Documents number their parts `一、` / `（一）` / `1.` / `（1）` / `①`, or `第一章` / `第一条`,
in half- or full-width forms. Levels are not fixed (one plan goes `一、` → `1.`, another
`一、` → `（一）` → `1.`), so nesting follows the order in which marker kinds appear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CN = "〇零一二两三四五六七八九十百"
_CN_TEN = "一二三四五六七八九十"
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

# (kind, pattern) in the order they are tried; each pattern captures the number.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("chapter", re.compile(rf"^第([{_CN}]+|\d{{1,3}})(章|部分|编)\s*")),
    ("section", re.compile(rf"^第([{_CN}]+|\d{{1,3}})(节)\s*")),
    ("article", re.compile(rf"^第([{_CN}]+|\d{{1,3}})(条)\s*")),
    ("cn_dun", re.compile(rf"^([{_CN}]{{1,3}})\s*[、.．](?!\d)\s*")),
    ("cn_paren", re.compile(rf"^[（(]\s*([{_CN}]{{1,3}})\s*[)）]\s*")),
    ("cn_paren", re.compile(r"^([\u3220-\u3229])\s*")),  # ㈠..㈩
    ("arabic_paren", re.compile(r"^[（(]\s*(\d{1,2})\s*[)）]\s*")),
    ("arabic_paren", re.compile(r"^([\u2474-\u2487])\s*")),  # ⑴..⒇
    ("arabic_dot", re.compile(r"^(\d{1,2})\s*(?:[.．、](?![\d.．]))\s*")),
    ("arabic_dot", re.compile(r"^([\u2488-\u249b])\s*")),  # ⒈..⒛
    ("arabic_half", re.compile(r"^(\d{1,2})[)）]\s*")),
    ("circled", re.compile(r"^([\u2460-\u2473])\s*")),  # ①..⑳
)

# How far a sibling number may jump: drafts skip numbers (三、 then 五、), wrapped lines
# that merely start with a number usually jump much further.
_MAX_GAP = 3

_CLOSING = re.compile(
    r"^(?:\d{4}年\d{1,2}月\d{1,2}日|抄送[:：].*|[（(]?此件公开发布[)）]?|.*\d{4}年\d{1,2}月\d{1,2}日印发)$"
)
_SENTENCE_END = re.compile(r"[。！？!?；;]")


@dataclass(frozen=True)
class Marker:
    """One outline marker at the start of a paragraph."""

    kind: str
    number: int
    label: str  # normalised, as it appears in refs: "二、", "（三）", "7."
    rest: str  # the paragraph after the marker


@dataclass
class Node:
    """A numbered part of the document and the paragraphs it owns before its first child."""

    ref: str
    depth: int
    paragraphs: list[str]
    parent: int | None
    children: list[int] = field(default_factory=list)


def cn_number(text: str) -> int | None:
    """Read a number written in Chinese (一 … 九十九, 三百, 两千) or in digits."""
    if text.isascii() and text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    total, digit = 0, 0
    for ch in text:
        if ch in _CN_UNITS:
            total += (digit or 1) * _CN_UNITS[ch]
            digit = 0
        else:
            digit = digit * 10 + _CN_DIGITS[ch]
    return total + digit


def _enclosed_number(ch: str) -> int:
    """Number of an enclosed numeral: ①, ⑴, ⒈ or ㈠."""
    for first in (0x2460, 0x2474, 0x2488, 0x3220):
        if first <= ord(ch) < first + 20:
            return ord(ch) - first + 1
    raise ValueError(ch)


def _label(kind: str, raw: str, number: int, word: str) -> str:
    if kind in ("chapter", "section", "article"):
        return f"第{raw}{word}"
    if kind == "cn_dun":
        return f"{raw}、"
    if kind == "cn_paren":
        return f"（{raw if raw[0] in _CN else _CN_TEN[number - 1]}）"
    if kind == "arabic_paren":
        return f"（{number}）"
    if kind == "arabic_dot":
        return f"{number}."
    if kind == "arabic_half":
        return f"{number}）"
    return raw


def match_marker(paragraph: str) -> Marker | None:
    """The outline marker a paragraph starts with, if any."""
    for kind, pattern in _PATTERNS:
        m = pattern.match(paragraph)
        if not m:
            continue
        raw = m.group(1)
        enclosed = not (raw.isascii() and raw.isdigit()) and raw[0] not in _CN
        number = _enclosed_number(raw) if enclosed else cn_number(raw)
        if not number:
            continue
        word = m.group(2) if m.lastindex and m.lastindex >= 2 else ""
        return Marker(kind, number, _label(kind, raw, number, word), paragraph[m.end():])
    return None


def is_closing(paragraph: str) -> bool:
    """True for the sign-off of an official document: date line, 抄送 line, 印发 line."""
    return bool(_CLOSING.match(paragraph))


def _accepts(stack: list[tuple[str, int, int]], last: dict[str, int], marker: Marker) -> int | None:
    """Where in the stack a marker goes (its depth), or None when it is not a heading.

    `last` holds the last number seen of each kind: some plans number their items on
    through every section (（一）1. 2. （二）3. 4.).
    """
    for depth, (kind, number, _) in enumerate(stack):
        if kind == marker.kind:
            ok = marker.number == 1 or number < marker.number <= number + _MAX_GAP
            return depth if ok else None
    if marker.number in (1, last.get(marker.kind, -1) + 1) or not stack:
        return len(stack)
    return None


def parse(paragraphs: list[str]) -> tuple[list[str], list[Node]]:
    """Split paragraphs into the preamble and the numbered nodes, in document order."""
    preamble: list[str] = []
    nodes: list[Node] = []
    stack: list[tuple[str, int, int]] = []  # (kind, number, node index)
    last: dict[str, int] = {}
    closing = _closing_paragraphs(paragraphs)
    for i, paragraph in enumerate(paragraphs):
        if i in closing:
            continue
        marker = match_marker(paragraph)
        depth = _accepts(stack, last, marker) if marker else None
        if marker is None or depth is None:
            (nodes[stack[-1][2]].paragraphs if stack else preamble).append(paragraph)
            continue
        del stack[depth:]
        parent = stack[-1][2] if stack else None
        ref = (nodes[parent].ref if parent is not None else "") + marker.label
        nodes.append(Node(ref, depth, [marker.rest] if marker.rest else [], parent))
        if parent is not None:
            nodes[parent].children.append(len(nodes) - 1)
        stack.append((marker.kind, marker.number, len(nodes) - 1))
        last[marker.kind] = marker.number
    return preamble, nodes


def _closing_paragraphs(paragraphs: list[str]) -> set[int]:
    """Indices of sign-off paragraphs, with the issuer's name just above a date line."""
    closing: set[int] = set()
    for i, paragraph in enumerate(paragraphs):
        if is_closing(paragraph):
            closing.add(i)
            above = paragraphs[i - 1] if i else ""
            if above and len(above) <= 30 and not _SENTENCE_END.search(above) \
                    and not match_marker(above):
                closing.add(i - 1)
    return closing


def descendants(nodes: list[Node], index: int) -> list[int]:
    """All nodes below a node, depth first."""
    found: list[int] = []
    for child in nodes[index].children:
        found.append(child)
        found.extend(descendants(nodes, child))
    return found


def title_of(text: str) -> str:
    """The heading of a measure: its own first line when that line is a bare heading,
    else its first sentence."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return ""
    first = lines[0].strip()
    if len(lines) > 1 and not _SENTENCE_END.search(first) and len(first) <= 40:
        return first.rstrip("：:，,")
    sentence = _SENTENCE_END.split(first, maxsplit=1)[0]
    return sentence.strip().rstrip("：:，,")[:80]


_META = re.compile(
    r"^(?:附件\s*\d*|(?:来源|发布时间|发布日期|成文日期|索引号|发文字号|文号|发文机关)[:：].*"
    r"|本报记者.*|记者.*|.{0,12}〔\d{4}〕\d+号)$"
)
_NOTICE = re.compile(r"关于(?:印发|发布|转发|下发|公布)?《(.+?)》的通知")


def document_title(paragraphs: list[str]) -> tuple[str, int]:
    """The title from the head of the document, and the index where its body starts.

    The head is the run of short lines before the salutation, the first sentence or the
    first heading; an issuing notice "关于印发《X》的通知" is titled X.
    """
    head: list[str] = []
    index = 0
    for index, paragraph in enumerate(paragraphs[:8]):
        if _META.match(paragraph):
            if head:
                break
            continue
        if match_marker(paragraph) or paragraph.endswith(("：", ":")) \
                or _SENTENCE_END.search(paragraph) or len(paragraph) > 150:
            break
        head.append(paragraph)
        if len(head) == 3:
            index += 1
            break
    else:
        index = len(paragraphs[:8])
    title = "".join(head)
    if m := _NOTICE.search(title):
        title = m.group(1)
    return title, index
