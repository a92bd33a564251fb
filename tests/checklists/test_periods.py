"""Reporting periods of recurring measures."""

from datetime import date

import pytest

from checklists.periods import current_period, next_period, period_end, period_label


@pytest.mark.parametrize(
    ("label", "recurrence", "expected"),
    [
        ("2026", "yearly", ("2027", date(2027, 12, 31))),
        ("2026-Q1", "quarterly", ("2026-Q2", date(2026, 6, 30))),
        ("2026-Q3", "quarterly", ("2026-Q4", date(2026, 12, 31))),
        ("2026-Q4", "quarterly", ("2027-Q1", date(2027, 3, 31))),
        ("2026-03", "monthly", ("2026-04", date(2026, 4, 30))),
        ("2027-01", "monthly", ("2027-02", date(2027, 2, 28))),
        ("2028-01", "monthly", ("2028-02", date(2028, 2, 29))),
        ("2026-12", "monthly", ("2027-01", date(2027, 1, 31))),
    ],
)
def test_next_period(label: str, recurrence: str, expected: tuple[str, date]) -> None:
    assert next_period(label, recurrence) == expected


def test_period_end() -> None:
    assert period_end("2025", "yearly") == date(2025, 12, 31)
    assert period_end("2025-Q2", "quarterly") == date(2025, 6, 30)
    assert period_end("2025-02", "monthly") == date(2025, 2, 28)


@pytest.mark.parametrize(
    ("label", "recurrence"),
    [
        ("2026-Q5", "quarterly"),
        ("2026-13", "monthly"),
        ("26", "yearly"),
        ("2026-Q1", "monthly"),
        ("2026", "quarterly"),
        ("2026-3", "monthly"),
        ("2026", "weekly"),
    ],
)
def test_bad_period_labels_are_refused(label: str, recurrence: str) -> None:
    with pytest.raises(ValueError):
        next_period(label, recurrence)


@pytest.mark.parametrize(
    ("day", "recurrence", "label"),
    [
        (date(2026, 11, 20), "yearly", "2026"),
        (date(2026, 11, 20), "quarterly", "2026-Q4"),
        (date(2026, 1, 1), "quarterly", "2026-Q1"),
        (date(2026, 11, 20), "monthly", "2026-11"),
    ],
)
def test_period_label(day: date, recurrence: str, label: str) -> None:
    assert period_label(day, recurrence) == label


def test_current_period_of_a_running_plan_ends_with_the_period() -> None:
    assert current_period("yearly", date(2026, 5, 1), date(2027, 12, 31)) == (
        "2026",
        date(2026, 12, 31),
    )


def test_an_ended_plan_stays_in_its_last_period() -> None:
    assert current_period("yearly", date(2026, 11, 20), date(2025, 12, 31)) == (
        "2025",
        date(2025, 12, 31),
    )


def test_a_plan_ending_mid_period_is_due_at_its_end() -> None:
    assert current_period("quarterly", date(2025, 5, 1), date(2025, 6, 15)) == (
        "2025-Q2",
        date(2025, 6, 15),
    )


def test_an_open_ended_recurrence_uses_the_current_period() -> None:
    assert current_period("monthly", date(2026, 2, 3), None) == ("2026-02", date(2026, 2, 28))
