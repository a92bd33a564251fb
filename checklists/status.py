"""The three-colour status (三色督办: red, yellow, green) of items and the state of measures.

Computed here and only here, so the API, reports, pages and chat messages never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from checklists.workdays import add_workdays, workdays_between
from checklists.workflow import CLOSED, Id, ItemState, Status

__all__ = [
    "DUE_SOON_WORKDAYS",
    "Colour",
    "MeasureState",
    "Overdue",
    "behind_schedule",
    "colour",
    "days_overdue",
    "expected_share",
    "measure_state",
]

DUE_SOON_WORKDAYS = 5


class Colour(StrEnum):
    """An item's status as of a date; `label` is what Chinese pages and reports show."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    DONE = "done"
    WAIVED = "waived"

    @property
    def label(self) -> str:
        """The Chinese name: 红, 黄, 绿, 已销号, 免办."""
        return _LABELS[self]


_LABELS = {
    Colour.RED: "红",
    Colour.YELLOW: "黄",
    Colour.GREEN: "绿",
    Colour.DONE: "已销号",
    Colour.WAIVED: "免办",
}


def colour(
    item: ItemState,
    as_of: date,
    *,
    due_soon_workdays: int = DUE_SOON_WORKDAYS,
    expected_progress: bool = True,
) -> Colour:
    """Red when overdue, yellow when due soon or behind on a target, else green.

    Measured against the current deadline (extensions granted count). A submitted item
    past its deadline is still red: it is not 销号 (signed off) until approved.
    `expected_progress=False` drops the "behind on a target" rule.
    """
    if item.status == Status.APPROVED:
        return Colour.DONE
    if item.status == Status.WAIVED:
        return Colour.WAIVED
    if item.deadline is None:
        return Colour.GREEN
    if as_of > item.deadline:
        return Colour.RED
    if item.deadline <= add_workdays(as_of, due_soon_workdays):
        return Colour.YELLOW
    if expected_progress and behind_schedule(item, as_of):
        return Colour.YELLOW
    return Colour.GREEN


def expected_share(assigned_on: date, deadline: date, as_of: date) -> float:
    """The share of the work due by `as_of` if it advanced evenly from assignment to deadline.

    Calendar days, not working days: it is a rough yardstick, and it needs no holiday
    calendar for deadlines years ahead.
    """
    if as_of >= deadline:
        return 1.0
    if as_of <= assigned_on:
        return 0.0
    return (as_of - assigned_on).days / (deadline - assigned_on).days


def behind_schedule(item: ItemState, as_of: date) -> bool:
    """True when a reported value falls short of its target's expected share by `as_of`.

    Only targets with a reported value are judged: no report yet is not evidence of being
    behind (the progress-report reminders chase that), so a fresh plan stays green.
    """
    if item.deadline is None or item.assigned_on is None:
        return False
    expected = expected_share(item.assigned_on, item.deadline, as_of)
    return any(
        item.values[target_id] / amount < expected
        for target_id, amount in item.targets.items()
        if amount > 0 and target_id in item.values
    )


class Overdue(NamedTuple):
    """How long an item has been overdue: calendar days and Chinese working days."""

    calendar: int
    working: int


def days_overdue(deadline: date | None, as_of: date) -> Overdue:
    """Days past the deadline as of a date; (0, 0) on or before it or without one."""
    if deadline is None or as_of <= deadline:
        return Overdue(0, 0)
    return Overdue((as_of - deadline).days, workdays_between(deadline, as_of))


@dataclass(frozen=True)
class MeasureState:
    """Whether a measure is done, and where each responsible unit's item stands."""

    complete: bool
    lead: Status | None
    co_units: Mapping[Id, Status]

    @property
    def open_co_units(self) -> list[Id]:
        """The co-units (配合单位) whose items are neither approved nor waived."""
        return [unit for unit, status in self.co_units.items() if status not in CLOSED]


def measure_state(lead_status: Status | None, co_statuses: Mapping[Id, Status]) -> MeasureState:
    """A measure is complete when its lead unit's (牵头单位) item is closed.

    A waived lead item closes the measure too: the office decided it need not be done.
    Without a lead (a joint list, every unit equal) all items must be closed. Open
    co-unit items do not hold a measure open; they are shown so nobody loses sight of them.
    """
    if lead_status is not None:
        complete = lead_status in CLOSED
    else:
        complete = bool(co_statuses) and all(s in CLOSED for s in co_statuses.values())
    return MeasureState(complete, lead_status, dict(co_statuses))
