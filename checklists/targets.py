"""Numeric targets in a measure ("部署建设智慧路口不少于150个"), so that progress can
later be reported against a value, a unit and a comparator."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from checklists.outline import cn_number

# Longest first, so that 不低于 is read before 低于.
_BEFORE = {
    "不少于": ">=", "不少": ">=", "不低于": ">=", "不小于": ">=", "至少": ">=",
    "达到": ">=", "达": ">=",
    "不超过": "<=", "不高于": "<=", "不多于": "<=", "控制在": "<=",
    "超过": ">", "突破": ">", "多于": ">", "高于": ">", "大于": ">", "超": ">",
    "低于": "<", "少于": "<", "小于": "<",
}
_AFTER = {"及以上": ">=", "以上": ">=", "以下": "<=", "以内": "<=", "左右": "="}
_UNITS = (
    "个百分点|百分点|平方公里|平方米|人次|车次|公里|千米|千瓦|兆瓦|元|个|家|项|件|条|座|台|套|辆"
    "|人|名|场|次|所|类|户|张|篇|款|种|支|处|栋|亩|吨|倍|GW|MW|kW|km|Gbps"
)
_MONEY = ("亿", "万", "亿元", "万元", "元")
_NUMBER = r"\d+(?:\.\d+)?"
_CN_NUMBER = r"[一二两三四五六七八九十百千]+"
# A target starts at its comparator or where a run of spaces or digits starts: tried
# from every position inside a long run, the pattern would rescan the run each time.
_TARGET = re.compile(
    rf"(?:(?P<before>{'|'.join(sorted(_BEFORE, key=len, reverse=True))})|(?<!\s))\s*"
    rf"(?:(?<!\d)(?P<low>{_NUMBER})\s*[-~～至到]\s*)?"
    rf"(?<![\dA-Za-z.第])(?P<number>{_NUMBER}|(?<=[超达过破于])(?:{_CN_NUMBER}))\s*"
    rf"(?P<unit>%|‰|(?:万|亿)?(?:{_UNITS})|万|亿)(?![A-Za-z])"
    rf"(?P<after>{'|'.join(_AFTER)})?"
)
# A target keeps at most this much of its clause (as much as is stored): a longer one is
# run-on text, and a target per number in it would repeat all of it.
CLAUSE_LIMIT = 500
# "营收超百亿企业", "百亿级": the number qualifies a noun, it is not a target itself.
_QUALIFIER = re.compile(r"\s*(?:级|的?企业|的?项目)")
_AT_LEAST = re.compile(r"至少[\u4e00-\u9fff]{1,4}$")
_CLAUSE_END = re.compile(r"[，,。；;：:\n]")
# A bare number is a target only in a clause that sets one.
_TARGET_VERB = re.compile(
    r"建成|建设|形成|培育|引育|引进|招引|新增|累计|部署|完成|实现|打造|集聚|举办|接入|提供"
    r"|升级|覆盖|增长|提高|提升|开放|推广|达|超|接待|投入|发展到|力争"
)


@dataclass(frozen=True)
class Target:
    """A numeric target: "不少于150个" → 150, "个", ">="."""

    text: str
    value: int | float
    unit: str
    comparator: str


def _value(number: str) -> int | float | None:
    if re.fullmatch(r"\d+", number):
        return int(number)
    if re.fullmatch(_NUMBER, number):
        return float(number)
    return cn_number(number)


def _clause(stops: list[int], length: int, start: int, end: int) -> tuple[int, int]:
    """Bounds of the clause around a match, between the commas, stops and colons at `stops`."""
    before = bisect.bisect_left(stops, start)
    after = bisect.bisect_left(stops, end)
    return stops[before - 1] + 1 if before else 0, stops[after] if after < len(stops) else length


def targets(text: str) -> list[Target]:
    """The numeric targets a measure sets, in order."""
    found: list[Target] = []
    stops = [m.start() for m in _CLAUSE_END.finditer(text)]
    # Each clause is copied and searched for a verb once, however many numbers it holds.
    clauses: dict[tuple[int, int], tuple[str, bool]] = {}
    for m in _TARGET.finditer(text):
        value = _value(m.group("number"))
        if value is None or (m.group("unit") in _MONEY and _QUALIFIER.match(text, m.end())):
            continue
        opening, closing = _clause(stops, len(text), m.start(), m.end())
        if (opening, closing) not in clauses:
            clause = text[opening:closing].strip()
            clauses[opening, closing] = clause[:CLAUSE_LIMIT], bool(_TARGET_VERB.search(clause))
        clause, sets_target = clauses[opening, closing]
        comparator = _comparator(m)
        if comparator == "=" and m.group("unit") not in ("%", "‰") and not sets_target:
            continue
        if m.group("low"):
            value = _value(m.group("low")) or value
        found.append(Target(clause, value, m.group("unit"), comparator))
    return found


def _comparator(m: re.Match[str]) -> str:
    if m.group("low"):
        return ">="  # "2-3个": at least the lower bound
    if m.group("after") and m.group("after") != "左右":
        return _AFTER[m.group("after")]
    if m.group("before"):
        return _BEFORE[m.group("before")]
    if _AT_LEAST.search(m.string, max(0, m.start() - 6), m.start()):
        return ">="  # "至少建成1个": the adverb sits before the verb
    return "="
