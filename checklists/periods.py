"""Reporting periods of recurring measures ("每年", "每季度", "每月")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType


def period_label(day: date, recurrence: Recurrence | str) -> str:
    """The label of the period containing `day`: "2026", "2026-Q2" or "2026-05"."""
    recurrence = Recurrence(recurrence)
    if recurrence == Recurrence.YEARLY:
        return f"{day.year}"
    if recurrence == Recurrence.QUARTERLY:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def current_period(
    recurrence: Recurrence | str, today: date, final_deadline: date | None
) -> tuple[str, date]:
    """The period a recurring measure is in today, and its item's deadline.

    A plan that has ended stays in its last period: its item is due by the plan's end,
    not by the end of a period the plan no longer covers.
    """
    day = min(today, final_deadline) if final_deadline else today
    label = period_label(day, recurrence)
    end = period_end(label, recurrence)
    return label, min(end, final_deadline) if final_deadline else end


class Recurrence(StrEnum):
    """How often a recurring measure ("每年", "每季度", "每月") opens a new period's item."""

    YEARLY = "yearly"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"


# Period labels: "2026", "2026-Q1", "2026-03".
_PERIOD_LABELS: Mapping[Recurrence, re.Pattern[str]] = MappingProxyType(
    {
        Recurrence.YEARLY: re.compile(r"(\d{4})"),
        Recurrence.QUARTERLY: re.compile(r"(\d{4})-Q([1-4])"),
        Recurrence.MONTHLY: re.compile(r"(\d{4})-(0[1-9]|1[0-2])"),
    }
)


def period_end(label: str, recurrence: Recurrence | str) -> date:
    """The last calendar day of a period, the default deadline of its item."""
    year, index = _parse_period(label, Recurrence(recurrence))
    months_per_period = {Recurrence.YEARLY: 12, Recurrence.QUARTERLY: 3, Recurrence.MONTHLY: 1}
    last_month = index * months_per_period[Recurrence(recurrence)]
    first_of_next = date(year + last_month // 12, last_month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def next_period(label: str, recurrence: Recurrence | str) -> tuple[str, date]:
    """The period after `label` and its deadline: "2026-Q4" → ("2027-Q1", 2027-03-31)."""
    recurrence = Recurrence(recurrence)
    year, index = _parse_period(label, recurrence)
    if recurrence == Recurrence.YEARLY:
        following = f"{year + 1}"
    elif recurrence == Recurrence.QUARTERLY:
        following = f"{year + index // 4}-Q{index % 4 + 1}"
    else:
        following = f"{year + index // 12}-{index % 12 + 1:02d}"
    return following, period_end(following, recurrence)


def _parse_period(label: str, recurrence: Recurrence) -> tuple[int, int]:
    """(year, index of the period within the year, from 1); a year is its own period 1."""
    match = _PERIOD_LABELS[recurrence].fullmatch(label)
    if match is None:
        raise ValueError(f"{label!r} is not a {recurrence} period label")
    year, *index = (int(part) for part in match.groups())
    return year, index[0] if index else 1
