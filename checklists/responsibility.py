"""Responsibility annotations: who must carry out a measure, and who leads.

A measure names its units in an annotation: "（责任单位：省科技厅、省发展改革委）",
"(市发展改革委、工业和信息化局按职责分工负责)", "（市发展改革委牵头，各相关单位按职责分工
负责）", or label lines ("牵头单位：…" / "配合单位：…"). Documents also state rules once:
who leads ("列第一位的为牵头单位", "第一个逗号前为牵头单位", "带*的为牵头单位") and units
that every later measure has without listing them ("以下工作均需…推进落实，不再列出").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from checklists.unitlists import (
    ListedUnit,
    level_prefix,
    looks_like_unit,
    split_top,
    split_units,
)

_LEAD_LABELS = ("主要责任单位", "牵头单位", "牵头部门", "主办单位", "主责单位", "主责部门")
_CO_LABELS = ("配合单位", "配合部门", "协办单位", "协办部门", "协助单位", "协同单位",
              "参与单位", "参加单位")
_NEUTRAL_LABELS = ("责任单位", "责任部门", "责任主体", "责任处室", "实施单位", "落实单位",
                   "承办单位")
_LABEL_ROLES: dict[str, str | None] = {
    **dict.fromkeys(_LEAD_LABELS, "lead"), **dict.fromkeys(_CO_LABELS, "co"),
    **dict.fromkeys(_NEUTRAL_LABELS, None),
}
_OTHER_LABEL = re.compile(r"(完成时限|完成时间|完成期限|时间节点|时限要求|时限|进度安排)\s*[:：]")
_LABEL = "|".join(sorted(_LEAD_LABELS + _CO_LABELS + _NEUTRAL_LABELS, key=len, reverse=True))
_LABELLED = re.compile(rf"[【\[]?\s*({_LABEL})\s*(?:[】\]]\s*[:：]?|[:：])")
_LINE_LABEL = re.compile(
    rf"(?:^|(?<=[\n。；;]))[ \t]*[【\[]?({_LABEL})\s*(?:[】\]]\s*[:：]?|[:：])"
)
_DEADLINE_LABEL = r"(?:完成)?(?:时限|时间|期限|时间节点)[:：][^\n]*"
_CLOSES = re.compile(r"[。；;.]?\s*(?:\n|$)")
_NOT_A_LIST = re.compile(r"^(?:含|不含|包括|包含|如|即|其中|例如|以下简称|简称|下称)")
_DEPARTMENT = re.compile(r"(?:厅|局|委|办|政府|委员会|办公室|管委会|中心|部)$")
_LINE_END = re.compile(r"[\n。]")
_UNBRACKETED_CUE = re.compile(r"牵头|分工负责|按职责|^由.+负责(?:落实|实施)?$")
_GAP = re.compile(rf"[\s，,；;。、]*(?:{_DEADLINE_LABEL})?[\s，,；;。、]*")

_LEADS = re.compile(
    r"^(?:由)?(?P<lead>[^，,；;。]+?)牵头(?:负责|落实|实施)?(?:[，,；;、]\s*(?P<rest>.*))?$"
)
_JOINT = re.compile(r"(?:按职责分工负责|按职责分工落实|按职能分工负责|分工负责|按职责负责"
                    r"|共同负责|各负其责|负责落实|负责)$")
_CO_CUE = re.compile(r"(?:协同配合|配合落实|配合|参与|协助)$")
_SAME_BELOW = re.compile(r"[，,；;]?\s*(?:下同|以下同|后同)$")
_RULE_SENTENCE = re.compile(
    r"(?:为|是)(?:牵头|主办|主责)|不再(?:一一|逐一|重复|单独)?列|不另(?:行)?列|^以下"
)
_NOT_LISTED = re.compile(
    r"不再(?:一一|逐一|重复|单独|另行)?列(?:出|明|举|示)|不另(?:行)?列(?:出|明)"
)
_IMPLICIT_HEAD = re.compile(
    r"^.*?(?:以下|下列|下述|其余|各项|所有|全部)[^需须由要应为]{0,10}?(?:均|都|皆|全部|一律)?"
    r"(?:需要|需|须|由|要|应当|应)"
)
_IMPLICIT_TAIL = re.compile(r"(?:负责|推进|落实|实施|配合|参与|组织|共同|协同|抓好|做好|牵头)+$")
_IMPLICIT_AS = re.compile(
    r"^(?P<units>.+?)(?:为|作为|是)(?:以下|下列)?(?:各项|所有|全部)?(?:工作|任务|措施)?的?"
    r"(?:共同)?(?:责任|配合|落实|实施)(?:单位|部门|主体)"
)
_FIRST_LISTED = re.compile(
    r"(?:排|列|位列|名列|排列|排名)(?:在)?(?:第一位|第一|首位|最前|前面|首)(?:的|者)?(?:单位|部门)?"
    r"(?:为|是)(?:牵头|主办|主责)|牵头单位(?:列|排)(?:在)?(?:第一位|首位|最前)"
)
_BEFORE_COMMA = re.compile(
    r"(?:第一个)?(?:逗号|分号)(?:之)?前(?:面)?(?:的|者)?(?:单位|部门)?(?:为|是)(?:牵头|主办|主责)"
)
_SYMBOL = re.compile(
    r"(?:带|标|标注|标有|注有|加|有|标记)\s*[“\"'‘]?([*★☆※△▲●◆◎#])[”\"'’]?\s*(?:号|标记|符号)?"
    r"(?:的|者)?(?:单位|部门)?(?:为|是)(?:牵头|主办|主责)"
)
_OPENERS = "(（[［【〔<〈"
# Openers each closer may close: a half-width "(" closed by a full-width "）" still pairs.
_SAME_KIND = {")": "(（", "）": "(（", "]": "[［", "］": "[［", "】": "【", "〕": "〔",
              ">": "<〈", "〉": "<〈"}


@dataclass(frozen=True)
class ResponsibleUnit:
    """A unit that must carry out a measure, as the document names it."""

    name: str
    role: str  # "lead" (牵头) or "co" (配合)
    group: bool  # an open group such as 各镇（街道）, resolved later by a supervisor
    implicit: bool  # added by a document-level rule, not listed at the measure
    canonical: str | None = None


@dataclass(frozen=True)
class Annotation:
    """Where a measure's responsibility annotation is, and what it says."""

    start: int
    end: int
    contents: tuple[str, ...]


@dataclass(frozen=True)
class Responsibility:
    """The units an annotation names; `joint` when it names no lead on purpose."""

    units: tuple[ResponsibleUnit, ...]
    joint: bool
    same_below: bool  # "下同": the units carry on to later measures that list none


def lead_rule(text: str) -> str | None:
    """The document's stated rule for finding the lead unit, if it states one."""
    if m := _SYMBOL.search(text):
        return f"marked:{m.group(1)}"
    if _BEFORE_COMMA.search(text):
        return "before-first-comma"
    if _FIRST_LISTED.search(text):
        return "first-listed"
    return None


def _bracket_pairs(text: str) -> list[tuple[int, int]]:
    """Outermost matched bracket pairs; a half-width opener may close full-width."""
    stack: list[int] = []
    # Where each kind of opener sits in `stack`: a closer finds its opener without walking
    # past the others, which is quadratic in a text of unmatched brackets.
    depths: dict[str, list[int]] = {opener: [] for opener in _OPENERS}
    pairs: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if ch in _OPENERS:
            depths[ch].append(len(stack))
            stack.append(i)
        elif ch in _SAME_KIND:
            depth = max((depths[o][-1] for o in _SAME_KIND[ch] if depths[o]), default=None)
            if depth is None:
                continue
            pairs.append((stack[depth], i + 1))
            del stack[depth:]
            for places in depths.values():
                while places and places[-1] >= depth:
                    places.pop()
    # An annotation left open at the end of a measure ("（责任单位：…" cut off).
    pairs += [(i, len(text)) for i in stack if _LABELLED.match(text, i + 1)]
    pairs.sort()
    outer: list[tuple[int, int]] = []
    for start, end in pairs:
        if not outer or start >= outer[-1][1]:
            outer.append((start, end))
    return outer


def _names_units(text: str) -> bool:
    units = split_units(text)
    return bool(units) and all(looks_like_unit(u.name) for u in units)


def _unlabelled_annotation(content: str) -> bool:
    """ "X牵头，Y按职责分工负责" or "X、Y按职责分工负责" naming real units."""
    if m := _LEADS.match(content):
        rest = _strip_cues(m.group("rest") or "")
        return _names_units(m.group("lead")) and (not rest or _names_units(rest))
    if m := _JOINT.search(content):
        return _names_units(content[:m.start()])
    return False


def _strip_cues(text: str) -> str:
    text = text.strip(" ，,；;。")
    for cue in (_JOINT, _CO_CUE):
        text = cue.sub("", text)
    return text.strip(" ，,；;。")


def _bare_list(content: str) -> bool:
    """ "（市发展改革委、市财政局）" closing a measure: a list of departments only."""
    units = split_units(content)
    return not _NOT_A_LIST.match(content) and bool(units) and all(
        looks_like_unit(u.name) for u in units) and any(
        _DEPARTMENT.search(u.name) or u.group for u in units) and (
        len(units) > 1 or level_prefix(units[0].name) is not None)


def _is_annotation(content: str, *, closes: bool = False) -> bool:
    content = content.strip()
    return bool(_LABELLED.match(content)) or _unlabelled_annotation(content) or (
        closes and _bare_list(content))


def _spans(text: str) -> list[tuple[int, int, str]]:
    spans = []
    for start, end in _bracket_pairs(text):
        inner = text[start + 1:end - 1] if end <= len(text) and text[end - 1] in _SAME_KIND \
            else text[start + 1:end]
        if _is_annotation(inner, closes=bool(_CLOSES.match(text, end))):
            spans.append((start, end, inner.strip()))
    taken = [(s, e) for s, e, _ in spans]
    for m in _LINE_LABEL.finditer(text):
        if not _inside(taken, m.start(1)):
            end = _LINE_END.search(text, m.end())
            stop = end.start() if end else len(text)
            spans.append((m.start(1), stop, text[m.start(1):stop]))
    # Outside brackets only the explicit forms count: prose says "负责" all the time.
    for start, end, sentence in _sentences(text):
        if not _inside(taken, start) and _UNBRACKETED_CUE.search(sentence) \
                and _unlabelled_annotation(sentence):
            spans.append((start, end, sentence))
    return sorted(spans)


def _inside(spans: list[tuple[int, int]], position: int) -> bool:
    """Whether `position` lies in one of `spans`, which are sorted and disjoint (outermost
    bracket pairs): a binary search, as a document may hold thousands of them."""
    index = bisect.bisect_right(spans, position, key=lambda span: span[0]) - 1
    return index >= 0 and position < spans[index][1]


def _sentences(text: str) -> list[tuple[int, int, str]]:
    found, start = [], 0
    for m in re.finditer(r"[。\n]", text):
        found.append((start, m.start(), text[start:m.start()].strip()))
        start = m.end()
    found.append((start, len(text), text[start:].strip()))
    return [(s, e, t) for s, e, t in found if t]


def find_annotations(text: str) -> list[Annotation]:
    """Responsibility annotations in a measure's text; adjacent ones form one annotation."""
    # Contents are collected in a list: rebuilding a tuple for each adjacent annotation
    # would be quadratic in a text of thousands of them.
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, content in _spans(text):
        if merged and start >= merged[-1][1] and _GAP.fullmatch(text[merged[-1][1]:start]):
            first, _, contents = merged[-1]
            contents.append(content)
            merged[-1] = (first, end, contents)
        elif not merged or start >= merged[-1][1]:
            merged.append((start, end, [content]))
    return [Annotation(start, end, tuple(contents)) for start, end, contents in merged]


def _labelled_parts(sentence: str) -> list[tuple[str | None, str]]:
    """(role the label gives, text) for each labelled part of a sentence; the parts after
    a deadline label ("完成时限：…") name no units and are left out."""
    found = sorted([*_LABELLED.finditer(sentence), *_OTHER_LABEL.finditer(sentence)],
                   key=lambda m: m.start())
    if not found:
        return [(None, sentence)]
    parts: list[tuple[str | None, str]] = []
    head = sentence[:found[0].start()].strip(" ，,；;")
    if head:
        parts.append((None, head))
    for m, nxt in zip(found, [*found[1:], None], strict=True):
        label = m.group(1)
        if label not in _LABEL_ROLES:
            continue
        body = sentence[m.end():nxt.start() if nxt else len(sentence)].strip(" ，,；;")
        parts.append((_LABEL_ROLES[label], body))
    return parts


def _read_part(role: str | None, text: str, symbol: str | None,
               ) -> tuple[list[tuple[ListedUnit, str | None]], bool]:
    """Units of one part with their roles where the text decides them, and jointness."""
    if role is None and (m := _LEADS.match(text)):
        leads = [(u, "lead") for u in split_units(m.group("lead"), symbol=symbol)]
        rest = _strip_cues(m.group("rest") or "")
        return leads + [(u, "co") for u in split_units(rest, symbol=symbol)], False
    if role is None and (m := _CO_CUE.search(text)):
        return [(u, "co") for u in split_units(text[:m.start()], symbol=symbol)], False
    if role is None and (m := _JOINT.search(text)):
        units = split_units(text[:m.start()], symbol=symbol)
        if m.group() == "负责" and len(units) == 1:
            return [(units[0], "lead")], False
        return [(u, None) for u in units], True
    return [(u, role) for u in split_units(text, symbol=symbol)], False


def _decide(listed: list[tuple[ListedUnit, str | None]], joint: bool,
            rule: str | None) -> list[str]:
    """Roles for every listed unit, applying the document's lead rule where needed."""
    roles = ["lead" if u.marked else r for u, r in listed]
    if "lead" in roles or (joint and rule is None):
        return [r or "co" for r in roles]
    undecided = [i for i, r in enumerate(roles) if r is None]
    if rule and rule.startswith("marked:"):
        leads = undecided[:1] if len(undecided) == 1 else []
    elif rule == "before-first-comma":
        leads = [i for i in undecided if listed[i][0].segment == 0]
    else:  # first-listed, stated or by convention
        leads = undecided[:1]
    return ["lead" if i in leads else (r or "co") for i, r in enumerate(roles)]


def parse_annotation(annotation: Annotation, rule: str | None) -> Responsibility:
    """The units an annotation names, with roles under the document's lead rule."""
    symbol = rule.split(":", 1)[1] if rule and rule.startswith("marked:") else None
    listed: list[tuple[ListedUnit, str | None]] = []
    joint = same_below = False
    for content in annotation.contents:
        for sentence in split_top(content, "。"):
            if _RULE_SENTENCE.search(sentence):
                continue
            if _SAME_BELOW.search(sentence):
                sentence, same_below = _SAME_BELOW.sub("", sentence), True
            for role, text in _labelled_parts(sentence):
                units, is_joint = _read_part(role, text, symbol)
                listed += units
                joint = joint or is_joint
    roles = _decide(listed, joint, rule)
    units = _unique(ResponsibleUnit(u.name, role, u.group, False) for (u, _), role in zip(
        listed, roles, strict=True))
    return Responsibility(units, joint and "lead" not in roles, same_below)


def _unique(units: Iterable[ResponsibleUnit]) -> tuple[ResponsibleUnit, ...]:
    seen: dict[str, ResponsibleUnit] = {}
    for unit in units:
        seen.setdefault(unit.name, unit)
    return tuple(seen.values())


def _after_open_bracket(text: str) -> str:
    """The text after the last bracket still open in it: "……（以下工作均需…" → "以下工作均需…"."""
    depth_at: list[int] = []
    for i, ch in enumerate(text):
        if ch in _OPENERS:
            depth_at.append(i)
        elif ch in _SAME_KIND and depth_at:
            depth_at.pop()
    return text[depth_at[-1] + 1:] if depth_at else text


def implicit_statements(text: str) -> list[tuple[int, tuple[ResponsibleUnit, ...]]]:
    """Units the document adds to every later measure ("以下工作均需X推进落实，不再列出"),
    with the offset where each statement is made."""
    found = []
    for start, _, sentence in _sentences(text):
        if not (listed := _NOT_LISTED.search(sentence)):
            continue
        head = _after_open_bracket(sentence[:listed.start()])
        head = ["", *split_top(head, "，,；;")][-1]  # the clause just before "不再列出"
        if m := _IMPLICIT_AS.match(head):
            names = m.group("units")
        else:
            names = _IMPLICIT_TAIL.sub("", _IMPLICIT_HEAD.sub("", head))
        units = split_units(names)
        if units and all(looks_like_unit(u.name) for u in units):
            implicit = tuple(ResponsibleUnit(u.name, "co", u.group, True) for u in units)
            found.append((start, implicit))
    return found
