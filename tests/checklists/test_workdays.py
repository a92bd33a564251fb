"""Working-day arithmetic against the official calendar published in `chinese_calendar`."""

from datetime import date, timedelta

import chinese_calendar
import pytest

from checklists.workdays import (
    CalendarNotCovered,
    ReminderKind,
    ReminderPolicy,
    ReminderStep,
    add_workdays,
    covered_years,
    due_soon_steps,
    is_workday,
    next_workday,
    overdue_steps,
    previous_workday,
    reminder_schedule,
    workdays_between,
)

D = date


@pytest.mark.parametrize(
    ("day", "expected", "why"),
    [
        (D(2024, 2, 9), True, "除夕 2024 was not a statutory day off"),
        (D(2024, 2, 12), False, "Spring Festival 2024"),
        (D(2024, 2, 4), True, "调休 Sunday before Spring Festival 2024"),
        (D(2024, 2, 18), True, "调休 Sunday after Spring Festival 2024"),
        (D(2024, 10, 7), False, "National Day 2024"),
        (D(2024, 10, 12), True, "调休 Saturday after National Day 2024"),
        (D(2025, 9, 26), True, "an ordinary Friday"),
        (D(2025, 9, 27), False, "an ordinary Saturday"),
        (D(2025, 9, 28), True, "调休 Sunday before National Day 2025"),
        (D(2025, 10, 1), False, "National Day 2025"),
        (D(2025, 10, 6), False, "Mid-Autumn 2025, inside the National Day break"),
        (D(2025, 10, 8), False, "last day of the National Day break 2025"),
        (D(2025, 10, 9), True, "first working day after National Day 2025"),
        (D(2025, 10, 11), True, "调休 Saturday after National Day 2025"),
        (D(2026, 1, 2), False, "New Year 2026"),
        (D(2026, 1, 4), True, "调休 Sunday after New Year 2026"),
        (D(2026, 2, 14), True, "调休 Saturday before Spring Festival 2026"),
        (D(2026, 2, 23), False, "Spring Festival 2026"),
        (D(2026, 2, 28), True, "调休 Saturday after Spring Festival 2026"),
        (D(2026, 10, 10), True, "调休 Saturday after National Day 2026"),
    ],
)
def test_is_workday_follows_the_official_calendar(day: date, expected: bool, why: str) -> None:
    assert is_workday(day) is expected, why


def test_is_workday_agrees_with_the_package_on_every_covered_day() -> None:
    years = covered_years()
    day, last = D(years[0], 1, 1), D(years[-1], 12, 31)
    while day <= last:
        assert is_workday(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2025, 9, 30), 1, D(2025, 10, 9)),  # over the whole National Day break
        (D(2025, 9, 26), 1, D(2025, 9, 28)),  # onto a 调休 Sunday
        (D(2025, 10, 10), 1, D(2025, 10, 11)),  # onto a 调休 Saturday
        (D(2025, 10, 4), 1, D(2025, 10, 9)),  # from inside a holiday
        (D(2025, 10, 4), -1, D(2025, 9, 30)),
        (D(2025, 10, 9), -1, D(2025, 9, 30)),
        (D(2025, 10, 9), -3, D(2025, 9, 28)),
        (D(2025, 10, 9), -4, D(2025, 9, 26)),
        (D(2025, 10, 9), 0, D(2025, 10, 9)),
        (D(2025, 10, 4), 0, D(2025, 10, 4)),  # zero steps: the day itself, workday or not
        (D(2024, 12, 31), 1, D(2025, 1, 2)),  # across a year and New Year's Day
        (D(2025, 1, 2), -1, D(2024, 12, 31)),
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # over Spring Festival 2026
    ],
)
def test_add_workdays(start: date, n: int, expected: date) -> None:
    assert add_workdays(start, n) == expected


def test_next_and_previous_workday() -> None:
    assert next_workday(D(2025, 9, 30)) == D(2025, 10, 9)
    assert previous_workday(D(2025, 10, 9)) == D(2025, 9, 30)
    assert next_workday(D(2025, 10, 10)) == D(2025, 10, 11)
    assert previous_workday(D(2025, 9, 29)) == D(2025, 9, 28)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D(2025, 9, 30), D(2025, 10, 9), 1),
        (D(2025, 10, 9), D(2025, 9, 30), -1),
        (D(2025, 10, 3), D(2025, 10, 3), 0),
        (D(2025, 10, 1), D(2025, 10, 8), 0),  # all holiday
        (D(2025, 9, 26), D(2025, 10, 11), 6),  # 9-28, 9-29, 9-30, 10-9, 10-10, 10-11
        (D(2023, 12, 31), D(2024, 12, 31), 251),  # all 251 working days of 2024
        (D(2025, 10, 4), D(2025, 9, 30), -1),  # backwards: 9-30 included, 10-04 (off) not
    ],
)
def test_workdays_between(start: date, end: date, expected: int) -> None:
    assert workdays_between(start, end) == expected


def test_a_year_has_as_many_working_days_as_the_package_lists() -> None:
    workdays_2025 = chinese_calendar.get_workdays(D(2025, 1, 1), D(2025, 12, 31))
    assert workdays_between(D(2024, 12, 31), D(2025, 12, 31)) == len(workdays_2025)


def test_workdays_between_and_add_workdays_are_inverse() -> None:
    start = D(2025, 9, 20)
    for offset in range(30):
        day = start + timedelta(days=offset)
        for n in range(-12, 13):
            target = add_workdays(day, n)
            assert add_workdays(day, workdays_between(day, target)) == target


@pytest.mark.parametrize(
    "call",
    [
        lambda: is_workday(D(2027, 1, 4)),
        lambda: add_workdays(D(2027, 3, 1), 1),
        lambda: add_workdays(D(2026, 12, 31), 1),  # stepping out of the covered range
        lambda: workdays_between(D(2026, 6, 1), D(2027, 6, 1)),
        lambda: next_workday(D(2026, 12, 31)),
    ],
)
def test_an_uncovered_year_raises_instead_of_guessing_weekends(call) -> None:
    with pytest.raises(CalendarNotCovered) as raised:
        call()
    assert raised.value.year == 2027
    assert "2027" in str(raised.value) and "chinesecalendar" in str(raised.value)


def test_before_the_first_covered_year_raises() -> None:
    first = covered_years()[0]
    with pytest.raises(CalendarNotCovered) as raised:
        add_workdays(D(first, 1, 5), -10)
    assert raised.value.year == first - 1


def test_covered_years_include_2024_to_2026() -> None:
    assert {2024, 2025, 2026} <= set(covered_years())


def test_due_soon_steps_count_working_days_back_over_national_day() -> None:
    assert due_soon_steps(D(2025, 10, 10)) == [
        ReminderStep(ReminderKind.DUE_SOON, 10, D(2025, 9, 19)),
        ReminderStep(ReminderKind.DUE_SOON, 3, D(2025, 9, 29)),
        ReminderStep(ReminderKind.DUE_SOON, 1, D(2025, 10, 9)),
    ]


def test_due_soon_steps_for_a_deadline_on_a_holiday() -> None:
    # The day before a holiday deadline is the last working day before it.
    steps = due_soon_steps(D(2025, 10, 5), offsets=(1,))
    assert steps == [ReminderStep(ReminderKind.DUE_SOON, 1, D(2025, 9, 30))]


def test_overdue_steps_after_national_day() -> None:
    # Deadline Tuesday 30 Sep; working days after it: 10-09, 10-10, 10-11 (调休), 10-13, 10-14…
    steps = overdue_steps(D(2025, 9, 30), D(2025, 10, 21))
    assert steps == [
        ReminderStep(ReminderKind.OVERDUE, 1, D(2025, 10, 9)),
        ReminderStep(ReminderKind.OVERDUE, 2, D(2025, 10, 13)),
        ReminderStep(ReminderKind.ESCALATED, 5, D(2025, 10, 14)),
        ReminderStep(ReminderKind.OVERDUE, 3, D(2025, 10, 16)),
        ReminderStep(ReminderKind.OVERDUE, 4, D(2025, 10, 21)),
    ]


def test_overdue_steps_stop_at_until() -> None:
    assert overdue_steps(D(2025, 9, 30), D(2025, 10, 8)) == []
    assert overdue_steps(D(2025, 9, 30), D(2025, 9, 1)) == []
    assert [s.on for s in overdue_steps(D(2025, 9, 30), D(2025, 10, 10))] == [D(2025, 10, 9)]


def test_overdue_steps_with_other_cadence() -> None:
    steps = overdue_steps(D(2025, 9, 30), D(2025, 10, 13), every=1, escalate_after=2)
    assert [(s.kind, s.step, s.on) for s in steps] == [
        (ReminderKind.OVERDUE, 1, D(2025, 10, 9)),
        (ReminderKind.OVERDUE, 2, D(2025, 10, 10)),
        (ReminderKind.ESCALATED, 2, D(2025, 10, 10)),  # same day: the notice comes first
        (ReminderKind.OVERDUE, 3, D(2025, 10, 11)),
        (ReminderKind.OVERDUE, 4, D(2025, 10, 13)),
    ]


def test_reminder_schedule_combines_before_and_after() -> None:
    schedule = reminder_schedule(D(2025, 10, 10), D(2025, 10, 15))
    assert [(s.kind.value, s.step, s.on) for s in schedule] == [
        ("due_soon", 10, D(2025, 9, 19)),
        ("due_soon", 3, D(2025, 9, 29)),
        ("due_soon", 1, D(2025, 10, 9)),
        ("overdue", 1, D(2025, 10, 11)),
        ("overdue", 2, D(2025, 10, 15)),
    ]


def test_reminder_schedule_honours_until_and_policy() -> None:
    policy = ReminderPolicy(due_soon_offsets=(30, 7, 1), overdue_every=2, escalate_after=1)
    schedule = reminder_schedule(D(2025, 10, 10), D(2025, 9, 30), policy)
    assert [(s.step, s.on) for s in schedule] == [(30, D(2025, 8, 22)), (7, D(2025, 9, 24))]


def test_reminder_schedule_at_the_end_of_the_covered_range_does_not_look_ahead() -> None:
    last = covered_years()[-1]
    schedule = reminder_schedule(D(last, 12, 25), D(last, 12, 31))
    assert [s.kind for s in schedule][-1] == ReminderKind.OVERDUE


@pytest.mark.parametrize(
    "kwargs",
    [{"due_soon_offsets": (0,)}, {"overdue_every": 0}, {"escalate_after": 0}],
)
def test_reminder_policy_rejects_nonsense(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ReminderPolicy(**kwargs)
