"""Retry policy: is an attempt delivered, worth retrying, or hopeless; and when to try again.

Robots answer HTTP 200 even when they reject a message, so success also needs the
body's own code to say so. The codes below come from the robots' documentation and
their observed answers (DingTalk 130101 "send too fast", 310000 keyword/sign/IP;
WeCom 45009 "api freq out of limit", 93000 "invalid webhook url"; Feishu 9499 and
11232 frequency limits, 19021 "sign match fail", 19024 "Key Words Not Found").
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from webhooks.transport import Attempt, ErrorKind


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Verdict:
    """The classification of one attempt.

    `rate_limited` marks answers that say "slow down" rather than "broken"; the worker
    may choose not to count them against the attempt budget.
    """

    outcome: Outcome
    reason: str
    retry_after: timedelta | None = None
    rate_limited: bool = False


@dataclass(frozen=True)
class RobotCodes:
    """How a robot reports its verdict in the body of a 2xx (or other) answer."""

    code_fields: tuple[str, ...]
    message_fields: tuple[str, ...]
    rate_limited: Mapping[int, timedelta] = field(default_factory=dict)
    permanent: frozenset[int] = frozenset()
    permanent_ranges: tuple[range, ...] = ()

    def is_permanent(self, code: int) -> bool:
        return code in self.permanent or any(code in r for r in self.permanent_ranges)


# Keyed by format name; `standard` and `slack` judge by status (Slack also wants "ok").
ROBOT_CODES: dict[str, RobotCodes] = {
    "dingtalk": RobotCodes(
        code_fields=("errcode",),
        message_fields=("errmsg",),
        # Past 20 messages a minute DingTalk blocks the robot for 10 minutes.
        rate_limited={130101: timedelta(minutes=10)},
        # 310000: keyword, signature, timestamp or IP whitelist refused; 300001/300005:
        # no such token; 400013: group dissolved; 460101: message too long.
        permanent=frozenset({310000, 300001, 300005, 400013, 460101}),
    ),
    "wecom": RobotCodes(
        code_fields=("errcode",),
        message_fields=("errmsg",),
        rate_limited={45009: timedelta(minutes=1)},
        permanent=frozenset({93000}),
        permanent_ranges=(range(40000, 50000),),  # 40xxx: invalid request; 45009 checked first
    ),
    "feishu": RobotCodes(
        code_fields=("code", "StatusCode"),
        message_fields=("msg", "StatusMessage"),
        rate_limited={9499: timedelta(minutes=1), 11232: timedelta(minutes=1)},
        # 19001/19002: bad token or parameters; 19021: sign match fail (or timestamp
        # over an hour off); 19022: IP not allowed; 19024: keyword missing.
        permanent=frozenset({19001, 19002, 19021, 19022, 19024}),
    ),
}
RETRYABLE_4XX = frozenset({408, 425, 429})


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """`Retry-After` as a delay: delta-seconds or an HTTP-date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(moment - now, timedelta(0))


def _json(excerpt: bytes) -> Any:
    try:
        return json.loads(excerpt)
    except ValueError:
        return None


def _robot_answer(codes: RobotCodes, body: Any) -> tuple[int, str] | None:
    if not isinstance(body, dict):
        return None
    code = next((body[f] for f in codes.code_fields if isinstance(body.get(f), int)), None)
    if code is None:
        return None
    message = next((str(body[f]) for f in codes.message_fields if body.get(f)), "")
    return code, message


def _robot_verdict(format_name: str, attempt: Attempt) -> Verdict | None:
    """The verdict a robot's body code implies, or None when the body carries no code."""
    codes = ROBOT_CODES[format_name]
    answer = _robot_answer(codes, _json(attempt.excerpt))
    if answer is None:
        return None
    code, message = answer
    reason = f"{format_name} {code}: {message}".rstrip(": ")
    if code == 0:
        return Verdict(Outcome.DELIVERED, reason)
    if code in codes.rate_limited:
        return Verdict(Outcome.RETRY, reason, codes.rate_limited[code], rate_limited=True)
    if codes.is_permanent(code):
        return Verdict(Outcome.PERMANENT, reason)
    return Verdict(Outcome.RETRY, reason)


def _slack_ok(excerpt: bytes) -> bool:
    body = _json(excerpt)
    return excerpt.strip() == b"ok" or (isinstance(body, dict) and body.get("ok") is True)


def _success_verdict(format_name: str, attempt: Attempt) -> Verdict:
    """A 2xx answer: delivered, unless a robot's body says otherwise."""
    if format_name in ROBOT_CODES:
        verdict = _robot_verdict(format_name, attempt)
        return verdict or Verdict(Outcome.RETRY, f"HTTP {attempt.status}，应答无法识别")
    if format_name == "slack" and not _slack_ok(attempt.excerpt):
        return Verdict(Outcome.RETRY, f"HTTP {attempt.status}，应答不是 ok")
    return Verdict(Outcome.DELIVERED, f"HTTP {attempt.status}")


def _error_verdict(attempt: Attempt, now: datetime) -> Verdict:
    """A non-2xx answer, judged by status and `Retry-After`."""
    status = attempt.status or 0
    reason = f"HTTP {status}"
    retry_after = parse_retry_after(attempt.headers.get("retry-after"), now)
    if status == 429:
        return Verdict(Outcome.RETRY, reason, retry_after, rate_limited=True)
    if status >= 500 or status in RETRYABLE_4XX or status < 300:
        return Verdict(Outcome.RETRY, reason, retry_after)
    if status < 400:
        location = attempt.headers.get("location", "")
        return Verdict(Outcome.PERMANENT, f"{reason}，不跟随重定向 {location}".rstrip())
    return Verdict(Outcome.PERMANENT, reason)


def classify(format_name: str, attempt: Attempt, now: datetime) -> Verdict:
    """Delivered, retry (with any delay the receiver asked for), or permanent failure."""
    if attempt.status is None:
        outcome = Outcome.PERMANENT if attempt.error_kind is ErrorKind.REFUSED else Outcome.RETRY
        return Verdict(outcome, attempt.error or str(attempt.error_kind))
    if 200 <= attempt.status < 300:
        return _success_verdict(format_name, attempt)
    if format_name in ROBOT_CODES:
        verdict = _robot_verdict(format_name, attempt)
        if verdict is not None and verdict.rate_limited:
            return verdict
    return _error_verdict(attempt, now)


class Random(Protocol):
    """The part of `random.Random` the schedule needs."""

    def random(self) -> float: ...


# Like the established webhook services: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
DISABLE_AFTER = timedelta(days=5)


@dataclass(frozen=True)
class RetryPolicy:
    """Delays before each attempt (the first is the initial send), jitter, caps."""

    schedule: tuple[timedelta, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.2
    # A receiver cannot park a delivery for longer than this with Retry-After.
    max_retry_after: timedelta = timedelta(days=1)


DEFAULT_POLICY = RetryPolicy()


def next_attempt_at(
    attempt: int,
    now: datetime,
    rng: Random,
    retry_after: timedelta | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> datetime | None:
    """When to try again after `attempt` attempts have failed; None means give up (failed).

    The scheduled delay gets ±`jitter` so that retries of a burst spread out; a
    `Retry-After` longer than that delay wins.
    """
    if attempt >= len(policy.schedule):
        return None
    spread = 1 + policy.jitter * (2 * rng.random() - 1)
    delay = policy.schedule[attempt] * spread
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after))
    return now + delay


def failing_since(previous: datetime | None, outcome: Outcome, now: datetime) -> datetime | None:
    """Start of an endpoint's current failure streak: a delivery ends it, a failure starts it."""
    if outcome is Outcome.DELIVERED:
        return None
    return previous or now


def should_disable(
    failing_since: datetime | None, now: datetime, after: timedelta = DISABLE_AFTER
) -> bool:
    """Whether an endpoint has failed without a single delivery for `after` (default 5 days)."""
    return failing_since is not None and now - failing_since >= after
