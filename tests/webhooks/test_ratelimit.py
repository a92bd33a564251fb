"""Sliding-window allowances and the digest plan, including 200 events for one DingTalk robot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from webhooks.ratelimit import (
    UNLIMITED,
    DigestMode,
    allowance,
    plan_messages,
    policy_for,
)

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
S = timedelta(seconds=1)


def test_dingtalk_allows_twenty_a_minute_then_names_the_next_slot():
    policy = policy_for("dingtalk")
    sends = [NOW - 30 * S + n * S for n in range(20)]
    result = allowance(policy, sends, NOW)
    assert result.available == 0
    assert result.next_slot_at == sends[0] + 61 * S  # a minute plus a second of skew
    assert allowance(policy, sends[1:], NOW).available == 1
    assert allowance(policy, sends, sends[0] + 61 * S).available == 1


def test_old_sends_do_not_count():
    policy = policy_for("wecom")
    assert allowance(policy, [NOW - 120 * S] * 50, NOW).available == 20


def test_feishu_has_a_per_second_and_a_per_minute_window():
    policy = policy_for("feishu")
    burst = [NOW - timedelta(milliseconds=100 * n) for n in range(5)]
    result = allowance(policy, burst, NOW)
    assert result.available == 0
    assert result.next_slot_at == min(burst) + 2 * S
    minute = [NOW - 50 * S + timedelta(milliseconds=400 * n) for n in range(100)]
    result = allowance(policy, minute, NOW + 10 * S)
    assert result.available == 0
    assert result.next_slot_at == minute[0] + 61 * S


def test_standard_is_unlimited_unless_configured():
    assert allowance(policy_for("standard"), [NOW] * 500, NOW).available == UNLIMITED
    limited = policy_for("standard", per_minute=2)
    assert allowance(limited, [NOW, NOW], NOW).available == 0


def test_a_subscription_limit_only_tightens_a_robot():
    assert allowance(policy_for("dingtalk", per_minute=5), [], NOW).available == 5
    assert allowance(policy_for("dingtalk", per_minute=500), [], NOW).available == 20


def test_under_the_limit_events_go_one_by_one():
    assert plan_messages(list(range(15)), 20, policy_for("dingtalk")) == [[n] for n in range(15)]


def test_over_the_limit_events_merge_into_few_full_digests():
    plan = plan_messages(list(range(200)), 20, policy_for("dingtalk"))
    assert len(plan) == 10
    assert all(len(message) == 20 for message in plan)
    assert [n for message in plan for n in message] == list(range(200))


def test_more_than_the_slots_can_carry_waits_rather_than_drops():
    plan = plan_messages(list(range(1000)), 20, policy_for("dingtalk"))
    assert len(plan) == 20
    assert [n for message in plan for n in message] == list(range(400))


def test_digest_modes():
    never = policy_for("standard")
    assert never.digest is DigestMode.NEVER
    assert plan_messages(list(range(50)), 20, never) == [[n] for n in range(20)]
    always = policy_for("wecom", digest=True)
    assert plan_messages([1, 2, 3], 20, always) == [[1, 2, 3]]
    assert plan_messages([1, 2, 3], 0, always) == []
    batch = policy_for("standard", digest=True)
    assert plan_messages(list(range(150)), 5, batch) == [list(range(75)), list(range(75, 150))]


def test_two_hundred_events_for_one_dingtalk_robot_respect_its_ceiling():
    """A worker ticking every 5 s: no minute ever carries more than 20 messages."""
    policy = policy_for("dingtalk")
    waiting = list(range(200))
    delivered: list[int] = []
    sends: list[datetime] = []
    clock = NOW
    while waiting:
        slots = allowance(policy, sends, clock).available
        for message in plan_messages(waiting, slots, policy):
            sends.append(clock)
            delivered.extend(message)
            waiting = waiting[len(message) :]
        clock += 5 * S
    assert delivered == list(range(200))
    assert len(sends) <= 20
    for start in sends:
        assert sum(1 for t in sends if start <= t < start + 60 * S) <= 20
