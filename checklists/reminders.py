"""Deadline reminders and progress-report requests for one checklist item, as data.

A supervising office's `Policy` (working days before the deadline, the overdue cadence,
the escalation, the progress-report cadence) and an item's facts give the item's `plan`
at a moment: the reminder steps due by then, and when the next one falls. A step's key
(kind, step, deadline, unit) makes it happen once; the service records and sends it.

Steps fall on Chinese working days (`checklists.workdays`) at the office's send time.
They are computed lazily in date order, so a plan needs the holiday calendar only as far
as the next step; one that needs an uncovered year raises `CalendarNotCovered`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, tzinfo
from enum import StrEnum
from typing import Any

from checklists.workdays import add_workdays, next_workday, workdays_between
from checklists.workflow import Status

__all__ = [
    "REMINDED",
    "Cadence",
    "ItemFacts",
    "Kind",
    "Plan",
    "Policy",
    "PolicyError",
    "Progress",
    "Step",
    "plan",
    "policy_from",
    "validate_overrides",
]

# The states in which a unit owes work: a submitted item waits for the supervisor, a
# returned one for a decision on whose it is, closed ones for nothing.
REMINDED = frozenset({Status.ASSIGNED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.REJECTED})


class Kind(StrEnum):
    """What a reminder says; its event type is `item.<kind>`. Declared in sending order."""

    DUE_SOON = "due_soon"
    PROGRESS_REQUESTED = "progress_requested"
    PROGRESS_MISSED = "progress_missed"
    OVERDUE = "overdue"
    ESCALATED = "escalated"

    @property
    def event_type(self) -> str:
        return f"item.{self.value}"


_KIND_ORDER = {kind: index for index, kind in enumerate(Kind)}
# Kinds on one line of news: a later step makes an earlier one stale ("overdue" makes
# "due in 1 working day" stale, "missed" makes "please report" stale).
_NEWS_LINE = {
    Kind.DUE_SOON: Kind.OVERDUE,
    Kind.OVERDUE: Kind.OVERDUE,
    Kind.ESCALATED: Kind.ESCALATED,
    Kind.PROGRESS_REQUESTED: Kind.PROGRESS_MISSED,
    Kind.PROGRESS_MISSED: Kind.PROGRESS_MISSED,
}


class Cadence(StrEnum):
    """How often progress reports are due: monthly, or in each quarter's first month."""

    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True)
class Progress:
    """Progress reports (进展报送) due by `day` of every month or quarter's first month."""

    every: Cadence
    day: int
    remind_before: int = 3

    @property
    def months(self) -> int:
        return 1 if self.every == Cadence.MONTH else 3

    def report_days(self, start: date) -> Iterator[date]:
        """The report days on or after `start`, without end."""
        first = (start.year * 12 + start.month - 1) // self.months * self.months
        for index in itertools.count(first, self.months):
            day = date(index // 12, index % 12 + 1, self.day)
            if day >= start:
                yield day

    def previous(self, report_day: date) -> date:
        """The report day before `report_day`: its window opens the day after."""
        index = report_day.year * 12 + report_day.month - 1 - self.months
        return date(index // 12, index % 12 + 1, self.day)

    def label(self, report_day: date) -> str:
        """The period a report day belongs to: "2025-10", or "2025-Q4" quarterly."""
        if self.every == Cadence.MONTH:
            return f"{report_day.year}-{report_day.month:02d}"
        return f"{report_day.year}-Q{(report_day.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Policy:
    """When to remind, in working days: the global defaults with a document's overrides."""

    due_soon_offsets: tuple[int, ...] = (10, 3, 1)
    overdue_every: int = 3
    escalate_after: int = 5
    progress: Progress | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `Document.reminder_policy`, every setting filled in."""
        progress = self.progress
        return {
            "due_soon_offsets": list(self.due_soon_offsets),
            "overdue_every": self.overdue_every,
            "escalate_after": self.escalate_after,
            "progress": None
            if progress is None
            else {
                "every": progress.every.value,
                "day": progress.day,
                "remind_before": progress.remind_before,
            },
        }


class PolicyError(ValueError):
    """A reminder policy is invalid; `errors` maps each field to its messages (Chinese)."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__(f"invalid reminder policy: {dict(errors)}")
        self.errors = dict(errors)


class _Invalid(ValueError):
    def __init__(self, messages: list[str] | dict[str, list[str]]) -> None:
        super().__init__(str(messages))
        self.messages = messages


# Bounds in working days (a year has about 250) and days of the month.
_OFFSET = (1, 250)
_OVERDUE_EVERY = (1, 60)
_ESCALATE_AFTER = (1, 250)
_DAY = (1, 28)
_REMIND_BEFORE = (1, 10)
_MAX_OFFSETS = 10


def validate_overrides(raw: Any) -> dict[str, Any]:
    """A document's `reminder_policy` checked and normalised; PolicyError lists every fault.

    Keys left out keep the global default; `progress: null` means no progress reports.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PolicyError({"_schema": ["提醒设置须为 JSON 对象"]})
    errors: dict[str, Any] = {}
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        check = _CHECKS.get(key)
        try:
            if check is None:
                raise _Invalid(["未知的设置项"])
            clean[key] = check(value)
        except _Invalid as invalid:
            errors[str(key)] = invalid.messages
    if errors:
        raise PolicyError(errors)
    return clean


def policy_from(defaults: Policy, overrides: Any) -> Policy:
    """The policy for one document: `defaults` with its validated overrides applied."""
    clean = validate_overrides(overrides)
    progress = defaults.progress
    if "progress" in clean:
        raw = clean.pop("progress")
        progress = (
            None
            if raw is None
            else Progress(Cadence(raw["every"]), raw["day"], raw["remind_before"])
        )
    if "due_soon_offsets" in clean:
        clean["due_soon_offsets"] = tuple(clean["due_soon_offsets"])
    return replace(defaults, **clean, progress=progress)


def _whole(value: Any, bounds: tuple[int, int]) -> int:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(["须为整数"])
    if not low <= value <= high:
        raise _Invalid([f"须在 {low} 到 {high} 之间"])
    return value


def _offsets(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) > _MAX_OFFSETS:
        raise _Invalid([f"须为不超过 {_MAX_OFFSETS} 个工作日数的列表"])
    return sorted({_whole(offset, _OFFSET) for offset in value}, reverse=True)


def _progress(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _Invalid(['须为对象，如 {"every": "month", "day": 25}'])
    errors: dict[str, list[str]] = {
        str(key): ["未知的设置项"] for key in value if key not in ("every", "day", "remind_before")
    }
    if value.get("every") not in (Cadence.MONTH.value, Cadence.QUARTER.value):
        errors["every"] = ["须为 month（每月）或 quarter（每季度首月）"]
    if "day" not in value:
        errors["day"] = ["必填"]
    clean: dict[str, Any] = {"every": value.get("every")}
    for key, bounds in (("day", _DAY), ("remind_before", _REMIND_BEFORE)):
        try:
            clean[key] = _whole(value.get(key, 3), bounds)
        except _Invalid as invalid:
            errors.setdefault(key, invalid.messages)
    if errors:
        raise _Invalid(errors)
    return clean


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "due_soon_offsets": _offsets,
    "overdue_every": lambda value: _whole(value, _OVERDUE_EVERY),
    "escalate_after": lambda value: _whole(value, _ESCALATE_AFTER),
    "progress": _progress,
}


@dataclass(frozen=True)
class ItemFacts:
    """What the plan reads of an item.

    `assigned_on` is the day the item reached its current unit and deadline (assignment,
    reassignment or a moved deadline): no step dated earlier is sent, so a unit never
    hears stale news from before the item was its own.
    """

    status: str
    deadline: date | None
    assigned_on: date
    unit_id: int | str
    last_progress_at: datetime | None = None
    withdrawn: bool = False


@dataclass(frozen=True)
class Step:
    """One reminder: `key` makes it happen once; `due_at` is `on` at the send time, in UTC.

    `deadline` is what it reminds of: the item's deadline, or the report day for the
    progress kinds. `step` is the working days left (due soon), the notice's number
    (overdue), the working days overdue (escalated) or the period ("2025-10", "2025-Q4").
    """

    kind: Kind
    step: str
    deadline: date
    unit_id: int | str
    on: date
    due_at: datetime

    @property
    def key(self) -> tuple[str, str, date, int | str]:
        return (self.kind.value, self.step, self.deadline, self.unit_id)

    @property
    def message(self) -> str:
        """What the reminder tells the unit, in Chinese."""
        deadline = _chinese_date(self.deadline)
        if self.kind == Kind.DUE_SOON:
            return f"距办理时限（{deadline}）还有{self.step}个工作日，请抓紧办理"
        if self.kind == Kind.OVERDUE:
            late = workdays_between(self.deadline, self.on)
            return f"已超过办理时限（{deadline}）{late}个工作日，请尽快办结（第{self.step}次提醒）"
        if self.kind == Kind.ESCALATED:
            return f"已超过办理时限（{deadline}）{self.step}个工作日，已升级督办"
        if self.kind == Kind.PROGRESS_REQUESTED:
            return f"请于{deadline}前报送本期（{self.step}）办理进展"
        return f"未在{deadline}前报送本期（{self.step}）办理进展"


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class Plan:
    """The steps due at or before a moment (oldest first) and the next moment after it."""

    due: tuple[Step, ...] = ()
    next_at: datetime | None = None

    @property
    def to_send(self) -> tuple[Step, ...]:
        """The latest due step of each line of news (see `_NEWS_LINE`).

        A clock that was down sends the latest news once, not a burst of stale reminders
        (nor "due soon" once "overdue" is due); the earlier steps are recorded as
        superseded. A sweep every few minutes never has two steps of a line due at once.
        """
        latest = {_NEWS_LINE[step.kind]: step for step in self.due}
        return tuple(step for step in self.due if latest[_NEWS_LINE[step.kind]] == step)

    @property
    def superseded(self) -> tuple[Step, ...]:
        return tuple(step for step in self.due if step not in self.to_send)


def plan(item: ItemFacts, policy: Policy, *, send_at: time, tz: tzinfo, now: datetime) -> Plan:
    """The item's reminders due by `now` and its next due moment (None: nothing pending)."""
    if item.withdrawn or item.status not in REMINDED:
        return Plan()
    today = now.astimezone(tz).date()

    def at(kind: Kind, step: str, deadline: date, on: date) -> Step:
        due_at = datetime.combine(on, send_at, tzinfo=tz).astimezone(UTC)
        return Step(kind, step, deadline, item.unit_id, on, due_at)

    due: list[Step] = []
    heads: list[Step] = []
    for after, steps in _streams(item, policy, at, tz):
        # A stream whose steps all fall after `after` need not be computed when none of
        # them is due yet and an earlier next step is known: the calendar may stop there.
        if after is not None and today <= after and heads and min(h.on for h in heads) <= after:
            continue
        for step in steps:
            if step.on < item.assigned_on:
                continue
            if step.due_at > now:
                heads.append(step)
                break
            due.append(step)
    due.sort(key=lambda step: (step.due_at, _KIND_ORDER[step.kind]))
    return Plan(tuple(due), min(step.due_at for step in heads) if heads else None)


Stream = tuple[date | None, Iterator[Step]]


def _streams(
    item: ItemFacts, policy: Policy, at: Callable[[Kind, str, date, date], Step], tz: tzinfo
) -> list[Stream]:
    """Each kind's steps as a lazy stream in date order, with a date they all fall after."""
    streams: list[Stream] = []
    deadline = item.deadline
    if deadline is not None:
        streams.append((None, _due_soon(deadline, policy, at)))
    if policy.progress is not None:
        reported_on = item.last_progress_at.astimezone(tz).date() if item.last_progress_at else None
        for kind in (Kind.PROGRESS_REQUESTED, Kind.PROGRESS_MISSED):
            steps = _progress_steps(kind, item, policy.progress, reported_on, at)
            streams.append((None, steps))
    if deadline is not None:
        streams.append((deadline, _overdue(deadline, policy.overdue_every, at)))
        streams.append((deadline, _escalation(deadline, policy.escalate_after, at)))
    return streams


def _due_soon(deadline: date, policy: Policy, at: Callable[..., Step]) -> Iterator[Step]:
    for offset in sorted(policy.due_soon_offsets, reverse=True):
        yield at(Kind.DUE_SOON, str(offset), deadline, add_workdays(deadline, -offset))


def _overdue(deadline: date, every: int, at: Callable[..., Step]) -> Iterator[Step]:
    """The first notice on the first working day after the deadline, then every `every`."""
    for number in itertools.count(1):
        on = add_workdays(deadline, 1 + (number - 1) * every)
        yield at(Kind.OVERDUE, str(number), deadline, on)


def _escalation(deadline: date, after: int, at: Callable[..., Step]) -> Iterator[Step]:
    """One escalation to supervisors, on the day the item is `after` working days overdue."""
    yield at(Kind.ESCALATED, str(after), deadline, add_workdays(deadline, after))


def _progress_steps(
    kind: Kind,
    item: ItemFacts,
    progress: Progress,
    reported_on: date | None,
    at: Callable[..., Step],
) -> Iterator[Step]:
    """Requests before each report day, or notices the working day after one that was missed.

    A report day counts when its request falls on or after the assignment (the unit had
    fair warning) and before the deadline (the last report is the item itself). Any
    progress reported since the previous report day answers it, even a day late: nobody
    needs telling they missed a report they have since made.
    """
    for day in progress.report_days(item.assigned_on):
        if item.deadline is not None and day >= item.deadline:
            return
        requested_on = add_workdays(day, -progress.remind_before)
        if requested_on < item.assigned_on:
            continue
        if reported_on is not None and reported_on > progress.previous(day):
            continue
        on = requested_on if kind == Kind.PROGRESS_REQUESTED else next_workday(day)
        yield at(kind, progress.label(day), day, on)
