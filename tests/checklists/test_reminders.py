"""Reminder plans: policy checks, the steps due by a moment, and the next one, as data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from checklists.reminders import (
    Cadence,
    ItemFacts,
    Plan,
    Policy,
    PolicyError,
    Progress,
    plan,
    policy_from,
    validate_overrides,
)
from checklists.workdays import CalendarNotCovered

D = date
SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE = time(9, 0)


def local(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


NATIONAL_DAY = D(2025, 10, 1)


def facts(deadline: date | None = NATIONAL_DAY, **changes) -> ItemFacts:
    values = {"status": "in_progress", "assigned_on": D(2025, 8, 1), "unit_id": 7}
    return ItemFacts(deadline=deadline, **{**values, **changes})


def planned(item: ItemFacts, now: datetime, policy: Policy | None = None) -> Plan:
    return plan(item, policy or Policy(), send_at=NINE, tz=SHANGHAI, now=now)


def steps(result: Plan) -> list[tuple[str, str, str]]:
    return [(s.on.isoformat(), s.kind.value, s.step) for s in result.due]


# National Day 2025: 10-01..10-08 off; Sunday 09-28 and Saturday 10-11 worked (调休).
def test_a_deadline_on_national_day() -> None:
    result = planned(facts(), local(D(2025, 10, 30), 23))
    assert steps(result) == [
        ("2025-09-18", "due_soon", "10"),
        ("2025-09-28", "due_soon", "3"),  # a make-up Sunday
        ("2025-09-30", "due_soon", "1"),
        ("2025-10-09", "overdue", "1"),  # first working day after the holiday
        ("2025-10-13", "overdue", "2"),
        ("2025-10-14", "escalated", "5"),
        ("2025-10-16", "overdue", "3"),
        ("2025-10-21", "overdue", "4"),
        ("2025-10-24", "overdue", "5"),
        ("2025-10-29", "overdue", "6"),
    ]
    assert result.next_at == local(D(2025, 11, 3))
    assert all(s.due_at == local(s.on).astimezone(UTC) for s in result.due)


def test_a_deadline_just_after_national_day() -> None:
    result = planned(facts(D(2025, 10, 10)), local(D(2025, 10, 16), 12))
    assert steps(result) == [
        ("2025-09-19", "due_soon", "10"),
        ("2025-09-29", "due_soon", "3"),
        ("2025-10-09", "due_soon", "1"),
        ("2025-10-11", "overdue", "1"),  # a make-up Saturday
        ("2025-10-15", "overdue", "2"),
        ("2025-10-16", "escalated", "5"),
    ]
    assert result.next_at == local(D(2025, 10, 20))


def test_nothing_goes_out_before_the_send_time() -> None:
    assert planned(facts(), local(D(2025, 9, 18), 8, 59)).due == ()
    assert planned(facts(), local(D(2025, 9, 18), 8, 59)).next_at == local(D(2025, 9, 18))
    assert steps(planned(facts(), local(D(2025, 9, 18)))) == [("2025-09-18", "due_soon", "10")]


def test_only_the_latest_news_is_sent() -> None:
    result = planned(facts(), local(D(2025, 10, 15)))
    assert [(s.kind.value, s.step) for s in result.to_send] == [
        ("overdue", "2"),
        ("escalated", "5"),
    ]
    assert [(s.kind.value, s.step) for s in result.superseded] == [
        ("due_soon", "10"),
        ("due_soon", "3"),
        ("due_soon", "1"),
        ("overdue", "1"),
    ]
    before = planned(facts(), local(D(2025, 9, 30)))
    assert [(s.kind.value, s.step) for s in before.to_send] == [("due_soon", "1")]


def test_a_missed_notice_makes_the_request_stale() -> None:
    item = facts(D(2025, 12, 31), assigned_on=D(2025, 9, 1))
    result = planned(item, local(D(2025, 9, 26)), MONTHLY)
    assert [(s.kind.value, s.step) for s in result.to_send] == [("progress_missed", "2025-09")]


def test_steps_before_the_assignment_are_dropped() -> None:
    result = planned(facts(assigned_on=D(2025, 9, 29)), local(D(2025, 9, 30)))
    assert steps(result) == [("2025-09-30", "due_soon", "1")]
    late = planned(facts(assigned_on=D(2025, 10, 20)), local(D(2025, 10, 21)))
    assert steps(late) == [("2025-10-21", "overdue", "4")]  # no escalation dated before


@pytest.mark.parametrize("status", ["submitted", "approved", "waived", "returned"])
def test_items_nobody_owes_work_on_get_nothing(status: str) -> None:
    assert planned(facts(status=status), local(D(2025, 10, 30))) == Plan()


def test_withdrawn_items_and_items_without_deadline_get_nothing() -> None:
    assert planned(facts(withdrawn=True), local(D(2025, 10, 30))) == Plan()
    assert planned(facts(None), local(D(2025, 10, 30))) == Plan()


@pytest.mark.parametrize("status", ["assigned", "acknowledged", "in_progress", "rejected"])
def test_items_the_unit_works_on_are_reminded(status: str) -> None:
    assert planned(facts(status=status), local(D(2025, 9, 18))).due


def test_keys_hold_deadline_and_unit() -> None:
    first = planned(facts(), local(D(2025, 9, 18))).due[0]
    assert first.key == ("due_soon", "10", D(2025, 10, 1), 7)
    moved = planned(facts(D(2025, 10, 20), unit_id=8), local(D(2025, 10, 1))).due[0]
    assert moved.key[2:] == (D(2025, 10, 20), 8)


def test_a_policy_with_other_offsets_and_cadence() -> None:
    policy = Policy(due_soon_offsets=(5,), overdue_every=1, escalate_after=2)
    result = planned(facts(), local(D(2025, 10, 11)), policy)
    assert steps(result) == [
        ("2025-09-25", "due_soon", "5"),
        ("2025-10-09", "overdue", "1"),
        ("2025-10-10", "overdue", "2"),
        ("2025-10-10", "escalated", "2"),
        ("2025-10-11", "overdue", "3"),
    ]


def test_messages_are_chinese_and_specific() -> None:
    due = planned(facts(), local(D(2025, 10, 14))).due
    assert due[0].message == "距办理时限（2025年10月1日）还有10个工作日，请抓紧办理"
    assert "4个工作日" in due[4].message and "第2次" in due[4].message
    assert due[5].message == "已超过办理时限（2025年10月1日）5个工作日，已升级督办"


MONTHLY = Policy(progress=Progress(Cadence.MONTH, 25))


def test_monthly_progress_requests_and_missed_notices() -> None:
    item = facts(D(2025, 12, 31), assigned_on=D(2025, 9, 1))
    result = planned(item, local(D(2025, 10, 31)), MONTHLY)
    progress = [s for s in steps(result) if s[1].startswith("progress")]
    assert progress == [
        ("2025-09-22", "progress_requested", "2025-09"),  # 3 working days before the 25th
        ("2025-09-26", "progress_missed", "2025-09"),
        ("2025-10-22", "progress_requested", "2025-10"),  # 10-25 is a Saturday
        ("2025-10-27", "progress_missed", "2025-10"),
    ]
    assert result.next_at == local(D(2025, 11, 20))


def test_progress_reported_in_the_window_answers_the_request() -> None:
    reported = local(D(2025, 10, 10), 15)
    item = facts(D(2025, 12, 31), assigned_on=D(2025, 9, 1), last_progress_at=reported)
    result = planned(item, local(D(2025, 10, 31)), MONTHLY)
    assert [s for s in steps(result) if s[1].startswith("progress")] == []
    assert result.next_at == local(D(2025, 11, 20))
    # Reported after the request but before the day: no missed notice.
    early = local(D(2025, 9, 24))
    item = facts(D(2025, 12, 31), assigned_on=D(2025, 9, 1), last_progress_at=early)
    result = planned(item, local(D(2025, 9, 30)), MONTHLY)
    assert result.due == () and result.next_at == local(D(2025, 10, 22))


def test_quarterly_progress_falls_in_each_quarters_first_month() -> None:
    policy = Policy(progress=Progress(Cadence.QUARTER, 20, remind_before=2))
    item = facts(D(2026, 6, 30), assigned_on=D(2025, 8, 1))
    result = planned(item, local(D(2026, 4, 30)), policy)
    progress = [s for s in steps(result) if s[1].startswith("progress")]
    assert progress == [
        ("2025-10-16", "progress_requested", "2025-Q4"),
        ("2025-10-21", "progress_missed", "2025-Q4"),
        ("2026-01-16", "progress_requested", "2026-Q1"),
        ("2026-01-21", "progress_missed", "2026-Q1"),
        ("2026-04-16", "progress_requested", "2026-Q2"),
        ("2026-04-21", "progress_missed", "2026-Q2"),
    ]


def test_progress_stops_at_the_deadline_and_needs_fair_warning() -> None:
    item = facts(D(2025, 10, 25), assigned_on=D(2025, 9, 24))
    result = planned(item, local(D(2025, 10, 24)), MONTHLY)
    # 09-25's request fell on 09-22, before the assignment; 10-25 is the deadline itself.
    assert [s for s in steps(result) if s[1].startswith("progress")] == []


def test_progress_without_deadline_goes_on() -> None:
    item = facts(None, assigned_on=D(2025, 9, 1))
    result = planned(item, local(D(2026, 3, 31)), MONTHLY)
    assert len(result.due) == 14 and result.next_at == local(D(2026, 4, 22))


def test_a_deadline_in_an_uncovered_year_raises() -> None:
    with pytest.raises(CalendarNotCovered) as caught:
        planned(facts(D(2027, 3, 1), assigned_on=D(2026, 11, 1)), local(D(2026, 11, 20)))
    assert caught.value.year == 2027


def test_the_calendar_is_read_only_as_far_as_the_next_step() -> None:
    # The overdue notices after 2026-12-31 fall in 2027; before the deadline none is needed.
    result = planned(facts(D(2026, 12, 31), assigned_on=D(2026, 11, 1)), local(D(2026, 11, 20)))
    assert result.due == () and result.next_at == local(D(2026, 12, 17))
    with pytest.raises(CalendarNotCovered):
        planned(facts(D(2026, 12, 31), assigned_on=D(2026, 11, 1)), local(D(2026, 12, 31), 10))


def test_next_at_walks_forward_without_gaps() -> None:
    """Sweeping only at each `next_at` finds every step, one by one."""
    item = facts(D(2025, 10, 10))
    full = planned(item, local(D(2025, 11, 30)))
    seen, moment = [], local(D(2025, 9, 1))
    while (nxt := planned(item, moment).next_at) and nxt <= local(D(2025, 11, 30)):
        moment = nxt
        seen.append(planned(item, moment).due[-1])
    assert [s.key for s in seen] == [s.key for s in full.due]


def test_policy_defaults_and_overrides() -> None:
    defaults = Policy(due_soon_offsets=(10, 3, 1))
    assert policy_from(defaults, None) == defaults
    merged = policy_from(
        defaults,
        {"due_soon_offsets": [1, 5, 5], "progress": {"every": "quarter", "day": 20}},
    )
    assert merged.due_soon_offsets == (5, 1)
    assert merged.progress == Progress(Cadence.QUARTER, 20, 3)
    assert merged.overdue_every == 3
    assert policy_from(merged, {"progress": None}).progress is None
    assert merged.as_dict()["progress"] == {"every": "quarter", "day": 20, "remind_before": 3}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"due_soon_offsets": [0]}, "due_soon_offsets"),
        ({"due_soon_offsets": "10,3"}, "due_soon_offsets"),
        ({"due_soon_offsets": list(range(1, 12))}, "due_soon_offsets"),
        ({"overdue_every": 0}, "overdue_every"),
        ({"overdue_every": True}, "overdue_every"),
        ({"escalate_after": 3.5}, "escalate_after"),
        ({"escalate_after": 1000}, "escalate_after"),
        ({"reminder_time": "08:00"}, "reminder_time"),
        ({"progress": "monthly"}, "progress"),
        ({"progress": {"every": "week", "day": 1}}, "progress"),
        ({"progress": {"every": "month", "day": 31}}, "progress"),
        ({"progress": {"every": "month"}}, "progress"),
        ({"progress": {"every": "month", "day": 5, "remind_before": 0}}, "progress"),
        ({"progress": {"every": "month", "day": 5, "hour": 9}}, "progress"),
    ],
)
def test_bad_policies_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        validate_overrides(overrides)
    assert set(caught.value.errors) == {field}


def test_every_fault_is_listed_at_once() -> None:
    with pytest.raises(PolicyError) as caught:
        validate_overrides({"overdue_every": -1, "progress": {"every": "x", "day": 40, "y": 1}})
    assert set(caught.value.errors) == {"overdue_every", "progress"}
    assert set(caught.value.errors["progress"]) == {"every", "day", "y"}
    assert "须在 1 到 28 之间" in caught.value.errors["progress"]["day"]
    with pytest.raises(PolicyError):
        validate_overrides(["not", "a", "mapping"])


def test_send_time_and_zone_are_parameters() -> None:
    result = plan(
        facts(),
        Policy(),
        send_at=time(14, 30),
        tz=ZoneInfo("Asia/Urumqi"),
        now=datetime(2025, 9, 18, 9, tzinfo=UTC),
    )
    assert result.due[0].due_at == datetime(2025, 9, 18, 8, 30, tzinfo=UTC)
    assert result.next_at - result.due[0].due_at == timedelta(days=10)
