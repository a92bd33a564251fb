"""Response classification table, Retry-After, the backoff schedule and auto-disable."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from webhooks.retry import (
    DEFAULT_SCHEDULE,
    Outcome,
    RetryPolicy,
    classify,
    failing_since,
    next_attempt_at,
    parse_retry_after,
    should_disable,
)
from webhooks.transport import Attempt, ErrorKind

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
DELIVERED, RETRY, PERMANENT = Outcome.DELIVERED, Outcome.RETRY, Outcome.PERMANENT


class Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


M1, M10 = timedelta(minutes=1), timedelta(minutes=10)
DINGTALK_KEYWORD_MISSING = '{"errcode":310000,"errmsg":"keywords not in content"}'

# (format, status, body, outcome, rate_limited, retry_after)
TABLE = [
    ("standard", 200, "", DELIVERED, False, None),
    ("standard", 204, "", DELIVERED, False, None),
    ("standard", 500, "", RETRY, False, None),
    ("standard", 429, "", RETRY, True, None),
    ("standard", 408, "", RETRY, False, None),
    ("standard", 410, "", PERMANENT, False, None),
    ("standard", 400, "", PERMANENT, False, None),
    ("standard", 401, "", PERMANENT, False, None),
    ("standard", 404, "", PERMANENT, False, None),
    ("standard", 301, "", PERMANENT, False, None),
    ("dingtalk", 200, '{"errcode":0,"errmsg":"ok"}', DELIVERED, False, None),
    ("dingtalk", 200, '{"errcode":130101,"errmsg":"send too fast"}', RETRY, True, M10),
    ("dingtalk", 200, '{"errcode":310000,"errmsg":"sign not match"}', PERMANENT, False, None),
    ("dingtalk", 200, DINGTALK_KEYWORD_MISSING, PERMANENT, False, None),
    ("dingtalk", 200, '{"errcode":300005,"errmsg":"token is not exist"}', PERMANENT, False, None),
    ("dingtalk", 200, '{"errcode":-1,"errmsg":"system busy"}', RETRY, False, None),
    ("dingtalk", 200, "<html>gateway</html>", RETRY, False, None),
    ("dingtalk", 502, "", RETRY, False, None),
    ("wecom", 200, '{"errcode":0,"errmsg":"ok"}', DELIVERED, False, None),
    ("wecom", 200, '{"errcode":45009,"errmsg":"api freq out of limit"}', RETRY, True, M1),
    ("wecom", 200, '{"errcode":93000,"errmsg":"invalid webhook url"}', PERMANENT, False, None),
    ("wecom", 200, '{"errcode":40008,"errmsg":"invalid message type"}', PERMANENT, False, None),
    ("feishu", 200, '{"code":0,"msg":"success","data":{}}', DELIVERED, False, None),
    ("feishu", 200, '{"StatusCode":0,"StatusMessage":"success"}', DELIVERED, False, None),
    ("feishu", 200, '{"code":19021,"msg":"sign match fail"}', PERMANENT, False, None),
    ("feishu", 200, '{"code":19024,"msg":"Key Words Not Found"}', PERMANENT, False, None),
    ("feishu", 200, '{"code":11232,"msg":"frequency limited"}', RETRY, True, M1),
    ("feishu", 400, '{"code":9499,"msg":"too many request"}', RETRY, True, M1),
    ("slack", 200, "ok", DELIVERED, False, None),
    ("slack", 200, '{"ok":true}', DELIVERED, False, None),
    ("slack", 200, '{"ok":false,"error":"invalid_blocks"}', RETRY, False, None),
    ("slack", 404, "channel_not_found", PERMANENT, False, None),
    ("slack", 410, "channel_is_archived", PERMANENT, False, None),
    ("slack", 429, "rate_limited", RETRY, True, None),
]


@pytest.mark.parametrize(
    ("format_name", "status", "body", "outcome", "rate_limited", "retry_after"), TABLE
)
def test_classification(format_name, status, body, outcome, rate_limited, retry_after):
    verdict = classify(format_name, Attempt(status, {}, body.encode()), NOW)
    assert (verdict.outcome, verdict.rate_limited, verdict.retry_after) == (
        outcome,
        rate_limited,
        retry_after,
    )
    assert verdict.reason


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (503, {"retry-after": "120"}, timedelta(seconds=120)),
        (429, {"retry-after": "30"}, timedelta(seconds=30)),
        (429, {"retry-after": "Mon, 03 Mar 2025 01:35:00 GMT"}, timedelta(minutes=5)),
    ],
)
def test_retry_after_is_carried_into_the_verdict(status, headers, retry_after):
    assert classify("slack", Attempt(status, headers, b""), NOW).retry_after == retry_after


def test_a_redirect_names_where_it_pointed():
    verdict = classify("standard", Attempt(301, {"location": "https://x.test/"}, b""), NOW)
    assert verdict.outcome is PERMANENT and "https://x.test/" in verdict.reason


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [(ErrorKind.TIMEOUT, RETRY), (ErrorKind.CONNECTION, RETRY), (ErrorKind.REFUSED, PERMANENT)],
)
def test_network_failures(kind, outcome):
    verdict = classify("wecom", Attempt(None, error_kind=kind, error="x"), NOW)
    assert verdict.outcome is outcome


def test_robot_reason_names_the_code():
    verdict = classify("feishu", Attempt(200, {}, b'{"code":19021,"msg":"sign match fail"}'), NOW)
    assert verdict.reason == "feishu 19021: sign match fail"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("0", timedelta(0)),
        ("Mon, 03 Mar 2025 01:35:00 GMT", timedelta(minutes=5)),
        ("Mon, 03 Mar 2025 01:00:00 GMT", timedelta(0)),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_schedule_without_jitter_is_the_documented_one():
    middle = Fixed(0.5)  # 2 * 0.5 - 1 == 0: no jitter
    delays = [next_attempt_at(n, NOW, middle) - NOW for n in range(1, 8)]
    assert delays == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    ]
    assert next_attempt_at(8, NOW, middle) is None  # eight attempts in all, then failed


def test_jitter_stays_within_twenty_percent():
    rng = random.Random(7)
    for attempt in range(1, 8):
        base = DEFAULT_SCHEDULE[attempt]
        for _ in range(50):
            delay = next_attempt_at(attempt, NOW, rng) - NOW
            assert base * 0.8 <= delay <= base * 1.2
    assert next_attempt_at(1, NOW, Fixed(0.0)) - NOW == timedelta(seconds=4)


def test_retry_after_wins_when_longer_and_is_capped():
    middle = Fixed(0.5)
    assert next_attempt_at(1, NOW, middle, timedelta(minutes=10)) == NOW + timedelta(minutes=10)
    assert next_attempt_at(3, NOW, middle, timedelta(seconds=1)) == NOW + timedelta(minutes=30)
    assert next_attempt_at(1, NOW, middle, timedelta(days=30)) == NOW + timedelta(days=1)


def test_schedule_is_configurable():
    policy = RetryPolicy(schedule=(timedelta(0), timedelta(seconds=1)), jitter=0)
    assert next_attempt_at(1, NOW, Fixed(0.9), policy=policy) == NOW + timedelta(seconds=1)
    assert next_attempt_at(2, NOW, Fixed(0.9), policy=policy) is None


def test_endpoint_disabled_after_five_days_of_failure_only():
    start = failing_since(None, RETRY, NOW)
    assert start == NOW
    assert failing_since(start, PERMANENT, NOW + timedelta(days=1)) == NOW
    assert not should_disable(start, NOW + timedelta(days=4, hours=23))
    assert should_disable(start, NOW + timedelta(days=5))
    assert failing_since(start, DELIVERED, NOW + timedelta(days=3)) is None
    assert not should_disable(None, NOW + timedelta(days=30))
    assert should_disable(start, NOW + timedelta(days=2), after=timedelta(days=2))
