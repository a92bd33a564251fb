"""Per-endpoint send limits and the digest decision.

Pure arithmetic over the times of recent sends: the service stores those times
(shared by all workers) and asks here how many messages may go now, when the next
slot opens, and how to merge waiting events into that many messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")

# Our clock and the robot's differ, and a request takes time to arrive: each window
# is held this much longer than documented so a burst never lands 21 in a minute.
SKEW = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
# "No limit": more messages than any worker claims at once.
UNLIMITED = 1_000_000


@dataclass(frozen=True)
class Window:
    """At most `limit` sends in any `period`."""

    limit: int
    period: timedelta


class DigestMode(StrEnum):
    """When waiting events are merged into one message."""

    NEVER = "never"  # wait for a slot instead (machines expect one event per request)
    WHEN_LIMITED = "when_limited"  # only when more events wait than slots allow
    ALWAYS = "always"  # every send carries everything waiting, up to max_per_message


@dataclass(frozen=True)
class EndpointPolicy:
    """How fast an endpoint may be called and how events are packed into messages."""

    windows: tuple[Window, ...] = ()
    digest: DigestMode = DigestMode.WHEN_LIMITED
    max_per_message: int = 20


# The robots' documented ceilings. DingTalk blocks a robot for 10 minutes once it
# exceeds 20 a minute; Feishu allows 5 a second and 100 a minute; Slack about 1 a second.
DEFAULT_POLICIES: dict[str, EndpointPolicy] = {
    # A standard endpoint gets CloudEvents batches only when its subscription asks.
    "standard": EndpointPolicy(digest=DigestMode.NEVER, max_per_message=100),
    "dingtalk": EndpointPolicy(windows=(Window(20, MINUTE),)),
    "wecom": EndpointPolicy(windows=(Window(20, MINUTE),)),
    "feishu": EndpointPolicy(windows=(Window(5, SECOND), Window(100, MINUTE))),
    "slack": EndpointPolicy(windows=(Window(1, SECOND),)),
}


def policy_for(
    format_name: str, per_minute: int | None = None, digest: bool | None = None
) -> EndpointPolicy:
    """The format's default policy with a subscription's own settings applied.

    A per-minute limit adds a window (it can only tighten a robot's ceiling, since
    every window applies); `digest` True merges always, False never.
    """
    policy = DEFAULT_POLICIES[format_name]
    if per_minute is not None:
        policy = replace(policy, windows=(*policy.windows, Window(per_minute, MINUTE)))
    if digest is not None:
        policy = replace(policy, digest=DigestMode.ALWAYS if digest else DigestMode.NEVER)
    return policy


@dataclass(frozen=True)
class Allowance:
    """How many messages may be sent now, and when the next one may go if none can."""

    available: int
    next_slot_at: datetime


def _window_allowance(
    window: Window, recent_sends: Sequence[datetime], now: datetime
) -> tuple[int, datetime]:
    held = window.period + SKEW
    inside = sorted(t for t in recent_sends if now - held < t <= now)
    available = max(window.limit - len(inside), 0)
    if available:
        return available, now
    # The slot opens when enough of the oldest sends leave the window.
    return 0, inside[len(inside) - window.limit] + held


def allowance(policy: EndpointPolicy, recent_sends: Sequence[datetime], now: datetime) -> Allowance:
    """How many sends every window still permits, given the times of recent sends.

    Pass the sends of at least the longest window (plus a second); older ones are ignored.
    """
    if not policy.windows:
        return Allowance(available=UNLIMITED, next_slot_at=now)
    per_window = [_window_allowance(w, recent_sends, now) for w in policy.windows]
    available = min(count for count, _ in per_window)
    next_slot_at = now if available else max(at for count, at in per_window if count == 0)
    return Allowance(available=available, next_slot_at=next_slot_at)


def _split_evenly(items: Sequence[T], parts: int) -> list[list[T]]:
    size, extra = divmod(len(items), parts)
    groups, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        groups.append(list(items[start:end]))
        start = end
    return groups


def plan_messages(waiting: Sequence[T], slots: int, policy: EndpointPolicy) -> list[list[T]]:
    """Group the oldest waiting events into at most `slots` messages.

    Events that do not fit stay waiting for the next slots; none is dropped. Under
    pressure the digests are as few and as full as `max_per_message` allows, which
    leaves slots free for what arrives next.
    """
    if slots <= 0 or not waiting:
        return []
    per_message = 1 if policy.digest is DigestMode.NEVER else policy.max_per_message
    if policy.digest is DigestMode.WHEN_LIMITED and len(waiting) <= slots:
        per_message = 1
    taken = list(waiting[: slots * per_message])
    messages = min(slots, -(-len(taken) // per_message))
    return _split_evenly(taken, messages)
