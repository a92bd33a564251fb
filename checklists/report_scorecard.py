"""Unit scorecards (单位考核): how each unit did with the items due in a month, quarter or year."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from checklists.periods import Recurrence, period_end
from checklists.reports import ReportItem, Tally, report_colour

__all__ = ["ROLES", "period_bounds", "scorecard"]

ROLES = ("lead", "co", "all")

_PERIOD = re.compile(r"(?P<year>\d{4})(?:-Q(?P<quarter>[1-4])|-(?P<month>0[1-9]|1[0-2]))?")


def period_bounds(label: str) -> tuple[date, date]:
    """The first and last day of "2026", "2026-Q3" or "2026-11"; ValueError otherwise."""
    match = _PERIOD.fullmatch(label)
    if match is None or int(match["year"]) < 1:
        raise ValueError(f"{label!r} is not a period such as 2026, 2026-Q3 or 2026-11")
    year = int(match["year"])
    if match["quarter"]:
        start, recurrence = date(year, 3 * int(match["quarter"]) - 2, 1), Recurrence.QUARTERLY
    elif match["month"]:
        start, recurrence = date(year, int(match["month"]), 1), Recurrence.MONTHLY
    else:
        start, recurrence = date(year, 1, 1), Recurrence.YEARLY
    return start, period_end(label, recurrence)


def scorecard(items: Iterable[ReportItem], period: str, as_of: date) -> dict[str, Any]:
    """Per unit, lead (牵头) and co-unit (配合) items apart: the items due in `period`.

    An item is due in the period when its original deadline falls in it (extensions do not
    move an item out of the period it was set for), and is judged as it stands on `as_of`.
    Per unit and role, due = done on time + done late + overdue + open + waived.
    """
    start, end = period_bounds(period)
    totals = {role: Tally() for role in ROLES}
    units: dict[int, tuple[str, dict[str, Tally]]] = {}
    for item in items:
        due = item.state.original_deadline or item.state.deadline
        if item.withdrawn or due is None or not start <= due <= end:
            continue
        shade = report_colour(item.state, as_of)
        _, tallies = units.setdefault(item.unit_id, (item.unit_name, _tallies()))
        for role in (item.role if item.role in ROLES else "co", "all"):
            tallies[role].add(item, shade)
            totals[role].add(item, shade)
    return {
        "period": period,
        "start": start,
        "end": end,
        "as_of": as_of,
        "totals": {role: tally.as_scorecard() for role, tally in totals.items()},
        "units": [
            {
                "id": unit_id,
                "name": name,
                **{role: tally.as_scorecard() for role, tally in tallies.items()},
            }
            for unit_id, (name, tallies) in sorted(units.items())
        ],
    }


def _tallies() -> dict[str, Tally]:
    return {role: Tally() for role in ROLES}
