"""Deadlines and recurrence of measures.

A measure's deadline comes from its own text ("到2025年" → 2025-12-31, "2025年6月底前" →
2025-06-30), else from the plan period in the document's title ("（2023-2025年）" →
2025-12-31), else from a default the importer supplies, else there is none. Each deadline
records where it came from so that a clerk can tell a stated date from an assumed one.
"""

from __future__ import annotations

import bisect
import calendar
import re
from dataclasses import dataclass
from datetime import date

from checklists.outline import cn_number

MEASURE_TEXT = "measure text"
DOCUMENT_PERIOD = "document period"
DEFAULT = "default"

_Y = r"(?P<year>20\d{2})\s*年"
_M = r"(?P<month>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月"
_D = r"(?P<day>[12]\d|3[01]|0?[1-9])\s*日"
_BY = r"(?:到|(?<!截)至|于|截止到|截止|力争到|争取到)"  # 截至 reports a state, not a deadline
_BEFORE = r"(?:前|之前|以前|止|为止)"
_NO_START = r"(?!\s*(?:起|开始|以后|后|起施行))"
_LABEL = r"(?:完成时限|完成时间|完成期限|时间节点|时限要求|时限|进度安排)"
_QUARTER = r"(?:第?(?P<quarter>[一二三四1-4])季度|(?P<half>上|下)半年)"

# Most specific first. Each pattern names a year (or relies on the year in force) and
# month, day, quarter or half-year parts.
_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in (
    # After a deadline label any date counts, also a bare year or a range's last year.
    rf"{_LABEL}[:：]\s*(?:20\d{{2}}\s*年?\s*[-—–~～至到]\s*)?{_Y}\s*(?:{_M}\s*(?:{_D})?)?",
    rf"{_BY}\s*{_Y}\s*{_M}\s*{_D}{_NO_START}",
    rf"{_Y}\s*{_M}\s*{_D}\s*{_BEFORE}",
    rf"(?:{_BY}\s*)?{_Y}\s*{_M}\s*(?:份)?\s*(?:底|末)\s*{_BEFORE}?",
    rf"{_Y}\s*{_M}\s*(?:份)?\s*{_BEFORE}",
    rf"{_BY}\s*{_Y}\s*{_M}(?!\s*\d{{1,2}}\s*日)",
    rf"(?:{_BY}\s*)?{_Y}\s*{_QUARTER}\s*(?:底|末)?\s*{_BEFORE}",
    rf"{_BY}\s*{_Y}\s*{_QUARTER}",
    rf"{_Y}\s*{_QUARTER}\s*(?:底|末)",
    rf"{_BY}\s*{_Y}\s*(?:底|末)?(?!\s*(?:\d|[一二三四五六七八九十]+\s*月|第?[一二三四1-4]季度|[上下]半年))",
    rf"{_Y}\s*(?:底|末)?\s*{_BEFORE}",
    rf"{_Y}\s*(?:内|以内)",
    rf"(?<![\d年])(?:年底|年末)\s*{_BEFORE}?",
    r"(?<![\d年])年内",
    rf"(?<![\d年])(?<![一二三四五六七八九十])(?:本年)?{_M}\s*(?:底|末)\s*{_BEFORE}?",
))
_ANY_YEAR = re.compile(r"(20\d{2})\s*年")
_PERIOD = re.compile(r"(20\d{2})\s*年?\s*[-—–~～至到]+\s*(20\d{2})\s*年?")
_YEAR_PLAN = re.compile(
    r"(20\d{2})\s*年度?.{0,40}(?:工作要点|工作计划|行动计划|实施计划|工作方案|实施方案|任务清单|重点任务)"
)
_DATE_LINE = re.compile(r"^(20\d{2})年\d{1,2}月\d{1,2}日(?:印发)?$")
_ISSUED = re.compile(r"(?:发布时间|发布日期|成文日期|印发日期)[:：]\s*(20\d{2})")

# From least to most frequent; a measure that reports both yearly and quarterly is
# reminded at the more frequent rate.
_RECURRENCE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("yearly", re.compile(r"每年|年均|每一年|每个年度")),
    ("half-yearly", re.compile(r"每半年|每个半年")),
    ("quarterly", re.compile(r"每季度?|每个季度|按季度|季均")),
    ("monthly", re.compile(r"每月|每个月|按月|月均")),
    ("weekly", re.compile(r"每周|每星期|按周")),
)


@dataclass(frozen=True)
class Deadline:
    """A due date and where it came from."""

    date: date
    source: str


def plan_period(title: str) -> tuple[int, int] | None:
    """The years a plan covers, from its title: "（2023-2025年）" → (2023, 2025), and a
    one-year plan "2024年…工作要点" → (2024, 2024)."""
    if m := _PERIOD.search(title or ""):
        first, last = int(m.group(1)), int(m.group(2))
        return (first, last) if first <= last else None
    if m := _YEAR_PLAN.search(title or ""):
        return int(m.group(1)), int(m.group(1))
    return None


def document_year(paragraphs: list[str]) -> int | None:
    """The year the document was issued, from its date line or publication metadata."""
    for paragraph in paragraphs:
        m = _DATE_LINE.match(paragraph) or _ISSUED.search(paragraph)
        if m:
            return int(m.group(1))
    return None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _date_of(m: re.Match[str], year: int) -> date:
    parts = m.groupdict()
    if parts.get("quarter"):
        return _month_end(year, 3 * (cn_number(parts["quarter"]) or 4))
    if parts.get("half"):
        return _month_end(year, 6 if parts["half"] == "上" else 12)
    if parts.get("month"):
        month = cn_number(parts["month"]) or 12
        if parts.get("day"):
            return date(year, month, int(parts["day"]))
        return _month_end(year, month)
    return date(year, 12, 31)


def dates_in(text: str, *, year: int | None = None) -> list[date]:
    """Every deadline stated in a text. Phrases without a year ("年底前") take the last
    year named before them, else `year`; with neither they are skipped."""
    # Positions already read, and where each year named ends: both looked up per phrase
    # in constant or logarithmic time, so a long text with many dates stays linear.
    taken = bytearray(len(text))
    named = [(m.end(), int(m.group(1))) for m in _ANY_YEAR.finditer(text)]
    found: list[tuple[int, date]] = []
    for pattern in _PATTERNS:  # most specific first: a phrase is read once, fully
        for m in pattern.finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            stated = m.groupdict().get("year")
            in_force = int(stated) if stated else _year_before(named, m.start()) or year
            if not in_force:
                continue
            try:
                found.append((m.start(), _date_of(m, in_force)))
            except ValueError:  # 2月30日 and the like: not a date
                continue
            taken[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    return [day for _, day in sorted(found)]


def _year_before(named: list[tuple[int, int]], position: int) -> int | None:
    """The last year named (as (end, year), in text order) that ends by `position`."""
    index = bisect.bisect_right(named, (position, 10_000))
    return named[index - 1][1] if index else None


def measure_deadline(text: str, *, period: tuple[int, int] | None = None,
                     default: date | None = None, year: int | None = None) -> Deadline | None:
    """The deadline of a measure: the latest date its text states, else the end of the
    plan period, else the default."""
    stated = dates_in(text, year=year)
    if stated:
        return Deadline(max(stated), MEASURE_TEXT)
    if period:
        return Deadline(date(period[1], 12, 31), DOCUMENT_PERIOD)
    if default:
        return Deadline(default, DEFAULT)
    return None


def recurrence(text: str) -> str | None:
    """How often a measure recurs ("每年举办…" → yearly), or None for a one-off."""
    found = None
    for name, pattern in _RECURRENCE:
        if pattern.search(text):
            found = name
    return found
