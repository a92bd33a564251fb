"""Split a written list of responsible units into unit names.

Lists separate names with `、，,；;`, respect brackets inside names (`各镇（街道、园区）`),
distribute a shared suffix ("湖州市和德清县政府" → 湖州市政府, 德清县政府) and a shared
level prefix ("市发展改革委、工业和信息化局" → 市工业和信息化局), and keep open groups
("海口、三亚等市县政府", "各相关单位") as one name. Only generic morphology is used here:
suffixes that end the names of organs and the level characters that start them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN, _CLOSE = "（([【〔<〈［", "）)]】〕>〉］"
_NO_BRACKETS = str.maketrans("", "", _OPEN + _CLOSE)
_SEGMENT_SEPARATORS = "，,；;"
_LEVELS = "省市区县州盟旗镇乡"
# Words that begin with a level character without being a level: 市场监管局 is a
# market regulator, not a city's 场监管局.
_NOT_LEVEL = ("市场", "市政", "城市", "都市", "城乡", "乡村", "社区", "区域", "县域",
              "省级", "市级", "区级", "县级")
_NATIONAL = ("国家", "中国", "中央", "全国", "国务院")
# Endings of the names of organs, bodies and companies that can be assigned work.
_UNIT_SUFFIX = re.compile(
    r"(?:厅|局|委|办|署|部|府|会|中心|集团|公司|院|所|队|处|室|站|行|社|馆|校|台|园|区|街道|镇|乡"
    r"|村|单位|部门|企业|机构|运营商|组|团|司|库|场|网|科|股|庭|军|警)$"
)
# Government departments, the names a shared level prefix is carried to.
_DEPARTMENT = re.compile(r"(?:厅|局|委|办|委员会|办公室|署)$")
_BRANCH = re.compile(r"分局$")
_DISTRIBUTED = re.compile(
    rf"^((?:[^和及与]{{1,12}}?[{_LEVELS}](?:和|及|与))+)([^和及与]{{1,12}}?[{_LEVELS}])"
    r"(人民政府|政府|党委|党委和政府|管委会)$"
)
_GROUP = re.compile(
    r"^(?:各|相关|有关|其他|其余|所属|全体)|等|各(?:有关|相关)?(?:单位|部门|地|级)"
    r"|(?:有关|相关)(?:单位|部门|市县|市|县|区|企业|机构)"
)
_TRAILING_ETC = re.compile(r"等(?:单位|部门|有关单位|相关单位|有关部门|相关部门)?$")
_LEAD_NOTE = re.compile(r"[（(【\[]?\s*牵头\s*[)）】\]]?$")


@dataclass(frozen=True)
class ListedUnit:
    """A name read from a list, with what the list itself says about it."""

    name: str
    group: bool
    marked: bool  # carries the document's lead symbol or a "(牵头)" note
    segment: int  # which comma-separated part of the list it came from


def split_top(text: str, separators: str) -> list[str]:
    """Split on separators that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE and depth:
            depth -= 1
        elif ch in separators and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def looks_like_unit(name: str) -> bool:
    """True when a name ends as the names of organs, bodies and companies do."""
    name = _strip_brackets(name.strip())
    return 2 <= len(name) <= 40 and "。" not in name and (
        bool(_UNIT_SUFFIX.search(name)) or is_group(name))


def is_group(name: str) -> bool:
    """An open group of units ("各镇（街道）", "相关市县政府", "海口、三亚等市县政府")."""
    return bool(_GROUP.search(name.translate(_NO_BRACKETS)))


def _masked(name: str) -> str:
    for word in _NOT_LEVEL:
        name = name.replace(word, "··")
    return name


def level_prefix(name: str) -> str | None:
    """The level character a name starts with: 市 in 市发展改革委, none in 市场监管局."""
    masked = _masked(name)
    return masked[0] if masked and masked[0] in "省市区县" else None


def has_place(name: str) -> bool:
    """True when a name carries its own place or level (南山区政府, 市财政局, 国家…)."""
    return name.startswith(_NATIONAL) or any(ch in _LEVELS for ch in _masked(name))


def _strip_brackets(name: str) -> str:
    """A name wholly enclosed in brackets ("【市发改委】") without them."""
    while len(name) > 2 and name[0] in _OPEN and name[-1] in _CLOSE \
            and not any(ch in _OPEN + _CLOSE for ch in name[1:-1]):
        name = name[1:-1].strip()
    return name


def _distribute(item: str) -> list[str]:
    """ "湖州市和德清县政府" → ["湖州市政府", "德清县政府"]."""
    m = _DISTRIBUTED.match(item)
    if not m:
        return [item]
    places = [p for p in re.split(r"和|及|与", m.group(1)) if p] + [m.group(2)]
    return [place + m.group(3) for place in places]


def _merge_groups(items: list[str]) -> list[str]:
    """Join "海口", "三亚", "澄迈等市县政府" into the one open group they name."""
    merged: list[str] = []
    for item in items:
        if "等" in item and not _TRAILING_ETC.search(item):
            bare = []
            while merged and not _UNIT_SUFFIX.search(merged[-1]) and len(merged[-1]) <= 6:
                bare.insert(0, merged.pop())
            item = "、".join([*bare, item])
        merged.append(item)
    return merged


def _share_prefix(items: list[str]) -> list[str]:
    """Carry the first name's level prefix to later department names that lack one.

    Shenzhen-style lists write "市发展改革委、工业和信息化局、科技创新委". A list whose
    later names mostly carry the prefix themselves ("区工信局、锡山交警大队、区城管局")
    writes names in full, and is left alone.
    """
    prefix = level_prefix(items[0]) if items else None
    if prefix is None:
        return items
    later = [x for x in items[1:] if not is_group(x)]
    if not later or sum(level_prefix(x) == prefix for x in later) * 2 >= len(later):
        return items
    return [items[0]] + [
        prefix + x if _DEPARTMENT.search(x) and not _BRANCH.search(x) and not has_place(x)
        and not is_group(x) else x
        for x in items[1:]
    ]


def _clean(item: str, symbol: str | None) -> tuple[str, bool]:
    """A name without decoration, and whether it was marked as the lead."""
    marked = False
    if symbol and symbol in item:
        item, marked = item.replace(symbol, ""), True
    if _LEAD_NOTE.search(item) and len(item) > 4:
        item, marked = _LEAD_NOTE.sub("", item), True
    item = _strip_brackets(item.strip(" 　:：.。"))
    if item.startswith("由"):
        item = item[1:]
    return item.strip(), marked


def split_units(text: str, *, symbol: str | None = None) -> list[ListedUnit]:
    """The unit names in a written list, in order, each flagged group or marked lead."""
    text = text.strip(" 。.")
    etc = _TRAILING_ETC.search(text)
    if etc and _UNIT_SUFFIX.search(text[:etc.start()]):
        text = text[:etc.start()]  # "省科技厅、省经信厅等": the list, not a group
    units: list[ListedUnit] = []
    for number, segment in enumerate(split_top(text, _SEGMENT_SEPARATORS)):
        items = []
        for raw in _merge_groups(split_top(segment, "、")):
            items.extend(_distribute(raw))
        cleaned = [_clean(item, symbol) for item in items]
        names = _share_prefix([name for name, _ in cleaned])
        for name, (_, marked) in zip(names, cleaned, strict=True):
            if len(name) >= 2:
                units.append(ListedUnit(name, is_group(name), marked, number))
    return units
