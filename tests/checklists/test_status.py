"""Three-colour status, days overdue and measure completion."""

from dataclasses import replace
from datetime import date

import pytest

from checklists.status import (
    Colour,
    Overdue,
    behind_schedule,
    colour,
    days_overdue,
    expected_share,
    measure_state,
)
from checklists.workdays import CalendarNotCovered
from checklists.workflow import ItemState, Status

D = date
NATIONAL_DAY_DEADLINE = D(2025, 10, 10)


def item(status: str = "in_progress", **changes: object) -> ItemState:
    base = ItemState(
        status=Status(status),
        unit_id="A",
        deadline=NATIONAL_DAY_DEADLINE,
        original_deadline=NATIONAL_DAY_DEADLINE,
        assigned_on=D(2025, 1, 1),
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("the_item", "as_of", "expected"),
    [
        (item("approved"), D(2026, 1, 1), Colour.DONE),
        (item("waived"), D(2026, 1, 1), Colour.WAIVED),
        (item(deadline=None), D(2026, 1, 1), Colour.GREEN),
        (item(), D(2025, 10, 11), Colour.RED),
        (item("submitted"), D(2025, 10, 11), Colour.RED),  # not signed off yet
        (item("returned"), D(2025, 10, 11), Colour.RED),
        (item("assigned"), D(2025, 10, 10), Colour.YELLOW),  # deadline day
        # 2 working days left (10-09, 10-10) though 10 calendar days.
        (item(), D(2025, 9, 30), Colour.YELLOW),
        # 5 working days left: 9-28 (调休), 9-29, 9-30, 10-09, 10-10.
        (item(), D(2025, 9, 26), Colour.YELLOW),
        (item(), D(2025, 9, 25), Colour.GREEN),  # 6 working days left
        (item(), D(2025, 6, 1), Colour.GREEN),
    ],
)
def test_colour(the_item: ItemState, as_of: date, expected: Colour) -> None:
    assert colour(the_item, as_of) == expected


def test_due_soon_window_is_configurable() -> None:
    assert colour(item(), D(2025, 9, 30), due_soon_workdays=1) == Colour.GREEN
    assert colour(item(), D(2025, 10, 9), due_soon_workdays=1) == Colour.YELLOW
    assert colour(item(), D(2025, 9, 25), due_soon_workdays=6) == Colour.YELLOW


def test_the_current_deadline_counts_after_an_extension() -> None:
    extended = item(deadline=D(2025, 12, 31))
    assert colour(extended, D(2025, 10, 20)) == Colour.GREEN


# Assigned 1 Jan, due 31 Dec: on 2 Jul half the year (182 of 364 days) has passed.
YEAR = {"assigned_on": D(2025, 1, 1), "deadline": D(2025, 12, 31)}
HALF_WAY = D(2025, 7, 2)


@pytest.mark.parametrize(
    ("targets", "values", "expected"),
    [
        ({"t1": 100.0}, {"t1": 40}, Colour.YELLOW),
        ({"t1": 100.0}, {"t1": 50}, Colour.GREEN),
        ({"t1": 100.0}, {"t1": 60}, Colour.GREEN),
        ({"t1": 100.0}, {}, Colour.GREEN),  # nothing reported: not judged
        ({"t1": 100.0, "t2": 10.0}, {"t1": 90, "t2": 2}, Colour.YELLOW),
        ({"t1": 0.0}, {"t1": 0}, Colour.GREEN),  # a zero target cannot be behind
    ],
)
def test_behind_expected_progress_is_yellow(targets: dict, values: dict, expected: Colour) -> None:
    tracked = item(targets=targets, values=values, **YEAR)
    assert colour(tracked, HALF_WAY) == expected


def test_expected_progress_can_be_switched_off() -> None:
    tracked = item(targets={"t1": 100.0}, values={"t1": 1}, **YEAR)
    assert colour(tracked, HALF_WAY, expected_progress=False) == Colour.GREEN


def test_without_an_assignment_date_progress_is_not_judged() -> None:
    tracked = item(targets={"t1": 100.0}, values={"t1": 1}, deadline=D(2025, 12, 31))
    assert not behind_schedule(replace(tracked, assigned_on=None), HALF_WAY)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (D(2024, 12, 1), 0.0),
        (D(2025, 1, 1), 0.0),
        (HALF_WAY, 0.5),
        (D(2025, 12, 31), 1.0),
        (D(2026, 3, 1), 1.0),
    ],
)
def test_expected_share(as_of: date, expected: float) -> None:
    assert expected_share(D(2025, 1, 1), D(2025, 12, 31), as_of) == expected


def test_expected_share_of_a_same_day_item() -> None:
    assert expected_share(D(2025, 5, 1), D(2025, 5, 1), D(2025, 4, 1)) == 0.0
    assert expected_share(D(2025, 5, 1), D(2025, 5, 1), D(2025, 5, 1)) == 1.0


def test_a_plan_due_in_an_uncovered_year_is_green_when_far_from_due() -> None:
    # The seeds' Zhejiang 2027 targets, as of 2026-11-22, with nothing reported yet.
    plan = item(
        "assigned", assigned_on=D(2024, 3, 1), deadline=D(2027, 12, 31), targets={"t1": 150.0}
    )
    assert colour(plan, D(2026, 11, 22)) == Colour.GREEN


def test_due_soon_near_an_uncovered_year_raises() -> None:
    # Whether 2027's first days are working days is unknown until the calendar is published.
    with pytest.raises(CalendarNotCovered):
        colour(item(deadline=D(2027, 6, 30)), D(2026, 12, 28))


def test_colour_labels() -> None:
    assert [c.label for c in Colour] == ["红", "黄", "绿", "已销号", "免办"]
    assert Colour.RED == "red"


@pytest.mark.parametrize(
    ("deadline", "as_of", "expected"),
    [
        (D(2025, 9, 30), D(2025, 9, 30), Overdue(0, 0)),
        (D(2025, 9, 30), D(2025, 9, 1), Overdue(0, 0)),
        (None, D(2025, 9, 30), Overdue(0, 0)),
        (D(2025, 9, 30), D(2025, 10, 8), Overdue(8, 0)),  # the whole holiday: no working day
        (D(2025, 9, 30), D(2025, 10, 9), Overdue(9, 1)),
        (D(2025, 9, 30), D(2025, 10, 11), Overdue(11, 3)),  # 10-11 is a 调休 Saturday
        (D(2025, 9, 26), D(2025, 9, 28), Overdue(2, 1)),
        (D(2024, 12, 31), D(2025, 1, 31), Overdue(31, 19)),  # New Year and 1-26 调休
    ],
)
def test_days_overdue(deadline: date | None, as_of: date, expected: Overdue) -> None:
    assert days_overdue(deadline, as_of) == expected


@pytest.mark.parametrize(
    ("lead", "co", "complete"),
    [
        (Status.APPROVED, {"B": Status.IN_PROGRESS}, True),
        (Status.WAIVED, {}, True),
        (Status.SUBMITTED, {"B": Status.APPROVED}, False),
        (Status.IN_PROGRESS, {}, False),
        (None, {"A": Status.APPROVED, "B": Status.WAIVED}, True),
        (None, {"A": Status.APPROVED, "B": Status.REJECTED}, False),
        (None, {}, False),
    ],
)
def test_measure_state(lead: Status | None, co: dict, complete: bool) -> None:
    state = measure_state(lead, co)
    assert state.complete is complete
    assert (state.lead, dict(state.co_units)) == (lead, co)


def test_measure_state_shows_the_open_co_units() -> None:
    co = {"B": Status.APPROVED, "C": Status.IN_PROGRESS, "D": Status.RETURNED}
    state = measure_state(Status.APPROVED, co)
    assert state.complete and state.open_co_units == ["C", "D"]
