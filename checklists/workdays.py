"""Chinese working-day arithmetic on the official State Council calendar.

Deadlines and reminders in 督办 work are counted in working days (工作日): weekends off,
statutory holidays off, and the make-up working weekends (调休: a Saturday or Sunday
worked to bridge a holiday) on. The `chinese_calendar` package carries the official
notices year by year; a year it does not carry raises `CalendarNotCovered` instead of
silently falling back to "Monday to Friday", which would send reminders on 国庆节.

Every function here is pure: dates in, dates or counts out.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache

import chinese_calendar
from chinese_calendar import constants as calendar_data

__all__ = [
    "CalendarNotCovered",
    "ReminderKind",
    "ReminderPolicy",
    "ReminderStep",
    "add_workdays",
    "covered_years",
    "due_soon_steps",
    "is_workday",
    "next_workday",
    "overdue_steps",
    "previous_workday",
    "reminder_schedule",
    "workdays_between",
]


class CalendarNotCovered(LookupError):
    """The holiday calendar has no official data for `year`: upgrade `chinesecalendar`."""

    def __init__(self, year: int) -> None:
        first, last = covered_years()[0], covered_years()[-1]
        super().__init__(
            f"the Chinese holiday calendar covers {first}–{last}, not {year}; "
            "upgrade the chinesecalendar package once the State Council publishes that year"
        )
        self.year = year


@cache
def covered_years() -> range:
    """The years for which the installed package carries the official holiday notice."""
    years = [day.year for day in calendar_data.holidays]
    return range(min(years), max(years) + 1)


@cache
def _workday_ordinals() -> tuple[int, ...]:
    """Every working day of the covered years as a sorted ordinal, read once.

    A sorted index makes counting and stepping O(log n) by bisection, so a report over a
    million overdue items does not walk the calendar a million times.
    """
    years = covered_years()
    first, last = date(years[0], 1, 1), date(years[-1], 12, 31)
    return tuple(
        ordinal
        for ordinal in range(first.toordinal(), last.toordinal() + 1)
        if chinese_calendar.is_workday(date.fromordinal(ordinal))
    )


def _check_covered(day: date) -> None:
    if day.year not in covered_years():
        raise CalendarNotCovered(day.year)


def is_workday(day: date) -> bool:
    """True when government offices work on `day` (including 调休 weekends)."""
    _check_covered(day)
    ordinals = _workday_ordinals()
    index = bisect.bisect_left(ordinals, day.toordinal())
    return index < len(ordinals) and ordinals[index] == day.toordinal()


def add_workdays(day: date, n: int) -> date:
    """The n-th working day after `day` (before it when n < 0); `day` itself never counts.

    n == 0 returns `day` unchanged, working day or not.
    """
    _check_covered(day)
    if n == 0:
        return day
    ordinals = _workday_ordinals()
    if n > 0:
        index = bisect.bisect_right(ordinals, day.toordinal()) + n - 1
    else:
        index = bisect.bisect_left(ordinals, day.toordinal()) + n
    if index < 0:
        raise CalendarNotCovered(covered_years()[0] - 1)
    if index >= len(ordinals):
        raise CalendarNotCovered(covered_years()[-1] + 1)
    return date.fromordinal(ordinals[index])


def next_workday(day: date) -> date:
    """The first working day strictly after `day`."""
    return add_workdays(day, 1)


def previous_workday(day: date) -> date:
    """The last working day strictly before `day`."""
    return add_workdays(day, -1)


def workdays_between(start: date, end: date) -> int:
    """Working days from `start` to `end`, negative when `end` is earlier.

    Counted in the direction of travel, `start` excluded and `end` included, so that
    `add_workdays(start, workdays_between(start, end)) == end` whenever `end` is a working
    day, and "3 working days overdue" means the third working day after the deadline has
    begun.
    """
    _check_covered(start)
    _check_covered(end)
    ordinals = _workday_ordinals()
    if end >= start:
        return bisect.bisect_right(ordinals, end.toordinal()) - bisect.bisect_right(
            ordinals, start.toordinal()
        )
    return bisect.bisect_left(ordinals, end.toordinal()) - bisect.bisect_left(
        ordinals, start.toordinal()
    )


class ReminderKind(StrEnum):
    """What a reminder says; the event type is `item.<kind>`."""

    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class ReminderStep:
    """One reminder for one item: (kind, step) is its exactly-once key, `on` its date.

    `step` is the working-day offset for due-soon notices (10, 3, 1), the ordinal of the
    overdue notice (1, 2, …), and the working days overdue for the escalation.
    """

    kind: ReminderKind
    step: int
    on: date


@dataclass(frozen=True)
class ReminderPolicy:
    """When to remind, in working days; configurable globally and per document."""

    due_soon_offsets: Sequence[int] = (10, 3, 1)
    overdue_every: int = 3
    escalate_after: int = 5

    def __post_init__(self) -> None:
        if any(offset < 1 for offset in self.due_soon_offsets):
            raise ValueError("due-soon offsets are working days before the deadline, ≥ 1")
        if self.overdue_every < 1 or self.escalate_after < 1:
            raise ValueError("overdue_every and escalate_after are ≥ 1 working day")


def due_soon_steps(deadline: date, offsets: Sequence[int] = (10, 3, 1)) -> list[ReminderStep]:
    """Near-deadline reminders, each `offset` working days before the deadline."""
    steps = {ReminderStep(ReminderKind.DUE_SOON, n, add_workdays(deadline, -n)) for n in offsets}
    return sorted(steps, key=lambda step: step.on)


def overdue_steps(
    deadline: date, until: date, *, every: int = 3, escalate_after: int = 5
) -> list[ReminderStep]:
    """Overdue notices up to and including `until`, and the escalation if it is due by then.

    The first notice falls on the first working day after the deadline, the next ones
    every `every` working days; the escalation to supervisors falls on the day the item
    has been `escalate_after` working days overdue.
    """
    overdue_days = _workdays_in(deadline, until)
    steps = [
        ReminderStep(ReminderKind.OVERDUE, number, day)
        for number, day in enumerate(overdue_days[::every], start=1)
    ]
    if len(overdue_days) >= escalate_after:
        escalation = overdue_days[escalate_after - 1]
        steps.append(ReminderStep(ReminderKind.ESCALATED, escalate_after, escalation))
    return sorted(steps, key=lambda step: (step.on, step.kind != ReminderKind.OVERDUE))


def _workdays_in(after: date, until: date) -> list[date]:
    """The working days in (after, until].

    Never looks past `until`, so a schedule ending in the last covered year does not trip
    over the next, uncovered one.
    """
    if until <= after:
        return []
    _check_covered(after)
    _check_covered(until)
    ordinals = _workday_ordinals()
    low = bisect.bisect_right(ordinals, after.toordinal())
    high = bisect.bisect_right(ordinals, until.toordinal())
    return [date.fromordinal(ordinal) for ordinal in ordinals[low:high]]


def reminder_schedule(
    deadline: date, until: date, policy: ReminderPolicy | None = None
) -> list[ReminderStep]:
    """Every reminder an open item with this deadline gets up to `until`, in date order.

    Callers drop steps dated before the item was assigned or already sent; dates are
    local (Asia/Shanghai) calendar dates, the time of day is the scheduler's business.
    """
    policy = policy or ReminderPolicy()
    before = [s for s in due_soon_steps(deadline, policy.due_soon_offsets) if s.on <= until]
    after = overdue_steps(
        deadline, until, every=policy.overdue_every, escalate_after=policy.escalate_after
    )
    return before + after
