"""Supervisor reports (督办台账): overdue rows, colour counts and on-time rates, as of a date.

Every colour comes from `checklists.status.colour`, through `report_colour`, which only
keeps a report from failing on a deadline the holiday calendar does not cover yet. The
service feeds items in and streams rows out; nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from checklists.status import DUE_SOON_WORKDAYS, Colour, colour, days_overdue
from checklists.workdays import CalendarNotCovered, covered_years, workdays_between
from checklists.workflow import STATUS_LABELS, ItemState, Status

__all__ = [
    "DUE_SOON_WORKDAYS",
    "ROLE_LABELS",
    "Grouping",
    "ReportItem",
    "Tally",
    "Timeliness",
    "group_of",
    "is_overdue",
    "overdue_days",
    "overdue_report",
    "overdue_row",
    "overdue_sort_key",
    "report_colour",
    "summarise",
    "timeliness",
]

ROLE_LABELS: Mapping[str, str] = {"lead": "牵头", "co": "配合"}


class Grouping(StrEnum):
    """What a report is grouped by: the responsible unit or the policy document."""

    UNIT = "unit"
    DOCUMENT = "document"


@dataclass(frozen=True)
class ReportItem:
    """One checklist item as a report sees it: where it sits, its state, and its record.

    `approved_on` is the local date of its latest 销号 (sign-off) as of the report's date,
    `extensions` the extensions granted by then; `last_progress_on` is a local date.
    """

    item_id: int
    document_id: int
    document_title: str
    measure_ref: str
    measure_title: str
    position: int
    unit_name: str
    role: str
    period: str
    state: ItemState
    withdrawn: bool = False
    approved_on: date | None = None
    extensions: int = 0
    last_progress_on: date | None = None
    last_progress_note: str | None = None

    @property
    def unit_id(self) -> int:
        return int(self.state.unit_id)


def report_colour(
    item: ItemState, as_of: date, due_soon_workdays: int = DUE_SOON_WORKDAYS
) -> Colour:
    """`status.colour`, without needing the holiday calendar of a far-away deadline's year.

    N working days never span more than 2N+30 calendar days (the longest break, 春节 or
    国庆 with their weekends, is 9 days), so a deadline further off is not due soon and
    is judged with no working-day count at all. A near deadline whose window runs past the
    last published year is counted exactly up to that year's end and Monday to Friday
    after it: an estimate, but only of a warning (yellow); red needs no calendar. An
    `as_of` outside the calendar still raises CalendarNotCovered.
    """
    if item.deadline is not None and (item.deadline - as_of).days > 2 * due_soon_workdays + 30:
        return colour(item, as_of, due_soon_workdays=0)
    try:
        return colour(item, as_of, due_soon_workdays=due_soon_workdays)
    except CalendarNotCovered:
        judged = colour(item, as_of, due_soon_workdays=0)
        if judged == Colour.GREEN and _due_soon_estimate(item.deadline, as_of, due_soon_workdays):
            return Colour.YELLOW
        return judged


def _due_soon_estimate(deadline: date | None, as_of: date, n: int) -> bool:
    if deadline is None:
        return False
    calendar_end = date(covered_years()[-1], 12, 31)
    if deadline <= calendar_end:
        return True  # fewer than n working days are left in the calendar after as_of
    left = n - workdays_between(as_of, calendar_end)
    weekdays = sum(
        1
        for offset in range(1, (deadline - calendar_end).days + 1)
        if (calendar_end + timedelta(days=offset)).weekday() < 5
    )
    return weekdays <= left


def overdue_days(deadline: date | None, as_of: date) -> tuple[int, int | None]:
    """Calendar and working days past the deadline; working is None if the calendar can't say."""
    try:
        late = days_overdue(deadline, as_of)
    except CalendarNotCovered:
        return (as_of - deadline).days if deadline else 0, None
    return late.calendar, late.working


class Timeliness(StrEnum):
    """How an item stands against its deadline: the basis of on-time rates."""

    ON_TIME = "on_time"  # signed off (销号) by its original deadline
    LATE = "late"  # signed off after it
    OVERDUE = "overdue"  # open and past its current deadline (red)
    OPEN = "open"  # open and not overdue
    WAIVED = "waived"  # 免办: left out of every rate


def timeliness(item: ReportItem, shade: Colour) -> Timeliness:
    """Judged against the original deadline: a granted extension does not make late on time."""
    if shade == Colour.WAIVED:
        return Timeliness.WAIVED
    if shade == Colour.RED:
        return Timeliness.OVERDUE
    if shade != Colour.DONE:
        return Timeliness.OPEN
    due = item.state.original_deadline or item.state.deadline
    if due is None or item.approved_on is None or item.approved_on <= due:
        return Timeliness.ON_TIME
    return Timeliness.LATE


def days_late(item: ReportItem) -> int:
    """Calendar days from the original deadline to the sign-off; 0 when on time."""
    due = item.state.original_deadline or item.state.deadline
    if due is None or item.approved_on is None:
        return 0
    return max((item.approved_on - due).days, 0)


@dataclass
class Tally:
    """Counts of a set of items by colour and timeliness, with the on-time rate."""

    total: int = 0
    colours: dict[Colour, int] = field(default_factory=lambda: dict.fromkeys(Colour, 0))
    on_time: int = 0
    late: int = 0
    days_late: int = 0
    extensions: int = 0

    def add(self, item: ReportItem, shade: Colour) -> None:
        judged = timeliness(item, shade)
        late = days_late(item) if judged == Timeliness.LATE else 0
        self.count(shade, judged, late, item.extensions)

    def count(self, shade: Colour, judged: Timeliness, late: int, extensions: int) -> None:
        """Add one item already judged (a summary judges each item once for three tallies)."""
        self.total += 1
        self.colours[shade] += 1
        if judged == Timeliness.ON_TIME:
            self.on_time += 1
        elif judged == Timeliness.LATE:
            self.late += 1
            self.days_late += late
        self.extensions += extensions

    @property
    def on_time_rate(self) -> float | None:
        """Signed off on time over everything judged: on time, late and overdue."""
        judged = self.on_time + self.late + self.colours[Colour.RED]
        return round(self.on_time / judged, 4) if judged else None

    @property
    def average_days_late(self) -> float | None:
        return round(self.days_late / self.late, 1) if self.late else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            **{shade.value: count for shade, count in self.colours.items()},
            "on_time": self.on_time,
            "late": self.late,
            "on_time_rate": self.on_time_rate,
        }

    def as_scorecard(self) -> dict[str, Any]:
        return {
            "due": self.total,
            "done_on_time": self.on_time,
            "done_late": self.late,
            "overdue": self.colours[Colour.RED],
            "open": self.colours[Colour.YELLOW] + self.colours[Colour.GREEN],
            "waived": self.colours[Colour.WAIVED],
            "extensions_granted": self.extensions,
            "average_days_late": self.average_days_late,
            "on_time_rate": self.on_time_rate,
        }


def group_of(item: ReportItem, grouping: Grouping) -> tuple[int, str]:
    """The (id, name) of the item's group: its unit or its document."""
    if grouping == Grouping.UNIT:
        return item.unit_id, item.unit_name
    return item.document_id, item.document_title


def summarise(
    items: Iterable[ReportItem], as_of: date, due_soon_workdays: int = DUE_SOON_WORKDAYS
) -> dict[str, Any]:
    """Totals, and the same counts per unit and per document, in one pass over the items.

    Withdrawn items are left out. Groups come in id order; their counts add up to the totals.
    """
    totals = Tally()
    by_unit: defaultdict[tuple[int, str], Tally] = defaultdict(Tally)
    by_document: defaultdict[tuple[int, str], Tally] = defaultdict(Tally)
    for item in items:
        if item.withdrawn:
            continue
        shade = report_colour(item.state, as_of, due_soon_workdays)
        judged = timeliness(item, shade)
        late = days_late(item) if judged == Timeliness.LATE else 0
        for tally in (
            totals,
            by_unit[item.unit_id, item.unit_name],
            by_document[item.document_id, item.document_title],
        ):
            tally.count(shade, judged, late, item.extensions)
    return {
        "as_of": as_of,
        "due_soon_workdays": due_soon_workdays,
        "totals": totals.as_dict(),
        "by_unit": _group_list(by_unit),
        "by_document": _group_list(by_document),
    }


def _group_list(tallies: Mapping[tuple[int, str], Tally]) -> list[dict[str, Any]]:
    return [
        {"id": key, "name": name, **tallies[(key, name)].as_dict()}
        for key, name in sorted(tallies, key=lambda k: k[0])
    ]


def is_overdue(item: ReportItem, as_of: date) -> bool:
    """Live and red (open, past its current deadline): the items of the overdue report."""
    return not item.withdrawn and report_colour(item.state, as_of) == Colour.RED


def overdue_sort_key(grouping: Grouping) -> Callable[[ReportItem], tuple[Any, ...]]:
    """Row order within a report: by unit, longest overdue first; by document, in text order.

    The service's SQL orders by the same columns, so streamed and merged rows agree.
    """
    if grouping == Grouping.UNIT:
        return lambda i: (i.unit_id, i.state.deadline, i.document_id, i.position, i.item_id)
    return lambda i: (i.document_id, i.position, i.item_id)


def overdue_row(item: ReportItem, as_of: date, grouping: Grouping) -> dict[str, Any]:
    """One line of the overdue report (逾期事项台账), codes and their Chinese labels."""
    shade = report_colour(item.state, as_of)
    status = Status(item.state.status)
    group_id, group_name = group_of(item, grouping)
    calendar, working = overdue_days(item.state.deadline, as_of)
    return {
        "group_id": group_id,
        "group": group_name,
        "item_id": item.item_id,
        "document_id": item.document_id,
        "document": item.document_title,
        "measure_ref": item.measure_ref,
        "measure_title": item.measure_title,
        "unit_id": item.unit_id,
        "unit": item.unit_name,
        "role": item.role,
        "role_label": ROLE_LABELS.get(item.role, item.role),
        "period": item.period or None,  # a recurring item's period label ("2026")
        "deadline": item.state.deadline,
        "days_overdue": calendar,
        "workdays_overdue": working,
        "status": status.value,
        "status_label": STATUS_LABELS[status],
        "colour": shade.value,
        "colour_label": shade.label,
        "last_progress_on": item.last_progress_on,
        "last_progress_note": item.last_progress_note,
    }


def overdue_report(
    summary: Mapping[str, Any], rows: Iterable[dict[str, Any]], grouping: Grouping
) -> dict[str, Any]:
    """The overdue report: each group's counts from `summary`, with its overdue rows."""
    by_group: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_group.setdefault(row["group_id"], []).append(row)
    groups = [
        {**group, "items": by_group.get(group["id"], [])}
        for group in summary[f"by_{grouping.value}"]
    ]
    return {
        "as_of": summary["as_of"],
        "group_by": grouping.value,
        "due_soon_workdays": summary["due_soon_workdays"],
        "totals": summary["totals"],
        "overdue": sum(len(group["items"]) for group in groups),
        "groups": groups,
    }
