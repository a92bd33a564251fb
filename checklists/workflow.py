"""The 督查督办 (supervision and follow-up) workflow of one checklist item, as data.

`RULES` is the whole workflow: for each action, the states it starts from, the state it
leads to (None: unchanged), who may take it, which payload fields it requires or accepts,
and an optional guard on the item's data. `apply` is the one function that enforces it and
returns the new item state plus what changed, for the audit record and the event. The
service persists what `apply` returns; it decides nothing itself.

    assigned ──acknowledge (签收)──▶ acknowledged ──start──▶ in_progress (办理)
    in_progress ──submit (办结申请)──▶ submitted ──approve (销号)──▶ approved
    submitted ──reject (退回)──▶ rejected ──start | report_progress──▶ in_progress
    assigned | acknowledged ──return (退办)──▶ returned ──reassign | insist──▶ assigned
    any open state ──waive (免办)──▶ waived;  approved | waived ──reopen──▶ in_progress
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeAlias
from urllib.parse import urlsplit

__all__ = [
    "ACTION_LABELS",
    "CLOSED",
    "MAX_EVIDENCE",
    "MAX_NOTE_LENGTH",
    "OPEN",
    "RULES",
    "STATUS_LABELS",
    "Action",
    "Actor",
    "Forbidden",
    "Id",
    "InvalidPayload",
    "ItemState",
    "NotAllowed",
    "Outcome",
    "Payload",
    "Role",
    "Rule",
    "Status",
    "WorkflowError",
    "allowed_actions",
    "apply",
]

Id: TypeAlias = int | str

MAX_NOTE_LENGTH = 10_000
# Not in the brief: bounds chosen so one request cannot bloat the audit log.
MAX_EVIDENCE = 50
MAX_URL_LENGTH = 2_000


class Status(StrEnum):
    """Where an item stands; the values are what the database stores."""

    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    WAIVED = "waived"


STATUS_LABELS: Mapping[Status, str] = MappingProxyType(
    {
        Status.ASSIGNED: "待签收",
        Status.ACKNOWLEDGED: "已签收",
        Status.IN_PROGRESS: "办理中",
        Status.SUBMITTED: "待销号",  # the unit has applied to close it (办结申请)
        Status.APPROVED: "已销号",  # 销号: the supervisor signs the item off
        Status.REJECTED: "已退回",  # 退回: the supervisor sent the closing request back
        Status.RETURNED: "已退办",  # 退办: the unit says the item is not its own
        Status.WAIVED: "免办",  # 免办: the supervisor decided it need not be done
    }
)

CLOSED = frozenset({Status.APPROVED, Status.WAIVED})
OPEN = frozenset(Status) - CLOSED
# The states in which the unit is working on the item.
WORKING = frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.REJECTED})


class Action(StrEnum):
    """What a person asks to do to an item: the `action` of a transition request."""

    ACKNOWLEDGE = "acknowledge"
    START = "start"
    REPORT_PROGRESS = "report_progress"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    INSIST = "insist"
    REASSIGN = "reassign"
    REQUEST_EXTENSION = "request_extension"
    GRANT_EXTENSION = "grant_extension"
    DENY_EXTENSION = "deny_extension"
    CHANGE_DEADLINE = "change_deadline"
    WAIVE = "waive"
    REOPEN = "reopen"


ACTION_LABELS: Mapping[Action, str] = MappingProxyType(
    {
        Action.ACKNOWLEDGE: "签收",
        Action.START: "开始办理",
        Action.REPORT_PROGRESS: "报送进展",
        Action.SUBMIT: "申请办结",
        Action.APPROVE: "销号",
        Action.REJECT: "退回",
        Action.RETURN: "退办",
        Action.INSIST: "维持交办",  # the supervisor rejects a 退办: the item stays with the unit
        Action.REASSIGN: "改派",
        Action.REQUEST_EXTENSION: "申请延期",
        Action.GRANT_EXTENSION: "同意延期",
        Action.DENY_EXTENSION: "不同意延期",
        Action.CHANGE_DEADLINE: "调整时限",
        Action.WAIVE: "免办",
        Action.REOPEN: "重新办理",
    }
)


class Role(StrEnum):
    """The role an API token is bound to."""

    STAFF = "staff"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """Who acts: staff act for exactly one unit; supervisors and admins for all."""

    role: Role
    unit_id: Id | None = None


@dataclass(frozen=True)
class ItemState:
    """The part of a checklist item (one measure × one unit) the workflow reads and writes.

    `deadline` is the current one (moved by granted extensions); `original_deadline` is the
    one on-time figures use. `targets` maps numeric target ids to their amounts, `values`
    holds the latest reported value per target.
    """

    status: Status
    unit_id: Id
    deadline: date | None = None
    original_deadline: date | None = None
    assigned_on: date | None = None
    targets: Mapping[Id, float] = field(default_factory=dict)
    values: Mapping[Id, float] = field(default_factory=dict)
    percent: float | None = None
    extension_pending: bool = False
    requested_deadline: date | None = None


@dataclass(frozen=True)
class Payload:
    """The fields of a transition request; None means "not given".

    `note` is the reason wherever one is required. `deadline` is the requested, granted or
    changed deadline; `unit_id` the unit an item is reassigned to.
    """

    note: str | None = None
    evidence: Sequence[str] | None = None
    values: Mapping[Id, float] | None = None
    percent: float | None = None
    deadline: date | None = None
    unit_id: Id | None = None

    def given(self) -> set[str]:
        """The names of the fields the request carries."""
        return {name for name in _PAYLOAD_FIELDS if getattr(self, name) is not None}


_PAYLOAD_FIELDS = ("note", "evidence", "values", "percent", "deadline", "unit_id")


@dataclass(frozen=True)
class Outcome:
    """The result of one action: the new state, the audit trail and the event payload.

    `changes` maps each changed ItemState field to (old, new); `details` holds the
    validated payload (note, evidence, values, …) to record with it.
    """

    action: Action
    item: ItemState
    from_status: Status
    to_status: Status
    changes: Mapping[str, tuple[object, object]]
    details: Mapping[str, object]


class WorkflowError(Exception):
    """Base of the errors `apply` raises; nothing has changed when one is raised."""


class NotAllowed(WorkflowError):
    """The action cannot be taken from the item's current state (HTTP 409)."""

    def __init__(self, action: str, status: Status, allowed: list[str], reason: str) -> None:
        super().__init__(reason)
        self.action, self.status, self.allowed, self.reason = action, status, allowed, reason


class Forbidden(WorkflowError):
    """The actor's role or unit may not take this action on this item (HTTP 403)."""


class InvalidPayload(WorkflowError):
    """The request's fields are wrong; `errors` maps each field to a message (HTTP 422)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = dict(errors)


Guard = Callable[[ItemState, date], str | None]


@dataclass(frozen=True)
class Rule:
    """One row of the workflow table; a guard returns why the action is not possible now."""

    sources: frozenset[Status]
    target: Status | None
    roles: frozenset[Role]
    requires: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ("note",)
    guard: Guard | None = None


def _extension_requestable(item: ItemState, today: date) -> str | None:
    if item.deadline is None:
        return "事项没有时限，无需延期"
    if item.extension_pending:
        return "已有延期申请待审批"
    # The deadline day itself still counts as "before the deadline".
    if today > item.deadline:
        return "须在时限届满前申请延期"
    return None


def _extension_pending(item: ItemState, today: date) -> str | None:
    return None if item.extension_pending else "没有待审批的延期申请"


STAFF = frozenset({Role.STAFF})
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
_PROGRESS = ("note", "evidence", "values", "percent")

RULES: Mapping[Action, Rule] = MappingProxyType(
    {
        Action.ACKNOWLEDGE: Rule(frozenset({Status.ASSIGNED}), Status.ACKNOWLEDGED, STAFF),
        Action.START: Rule(
            frozenset({Status.ACKNOWLEDGED, Status.REJECTED}), Status.IN_PROGRESS, STAFF
        ),
        Action.REPORT_PROGRESS: Rule(WORKING, Status.IN_PROGRESS, STAFF, accepts=_PROGRESS),
        Action.SUBMIT: Rule(
            frozenset({Status.IN_PROGRESS}), Status.SUBMITTED, STAFF, accepts=_PROGRESS
        ),
        Action.APPROVE: Rule(frozenset({Status.SUBMITTED}), Status.APPROVED, SUPERVISORS),
        Action.REJECT: Rule(
            frozenset({Status.SUBMITTED}), Status.REJECTED, SUPERVISORS, requires=("note",)
        ),
        # 退办 is for an item the unit has not started on; once working, it asks the office.
        Action.RETURN: Rule(
            frozenset({Status.ASSIGNED, Status.ACKNOWLEDGED}),
            Status.RETURNED,
            STAFF,
            requires=("note",),
        ),
        Action.INSIST: Rule(
            frozenset({Status.RETURNED}), Status.ASSIGNED, SUPERVISORS, requires=("note",)
        ),
        # A submitted item is approved or rejected first, so the unit that did the work is judged.
        Action.REASSIGN: Rule(
            OPEN - {Status.SUBMITTED}, Status.ASSIGNED, SUPERVISORS, requires=("unit_id", "note")
        ),
        Action.REQUEST_EXTENSION: Rule(
            WORKING, None, STAFF, requires=("deadline", "note"), guard=_extension_requestable
        ),
        # Without a `deadline` the supervisor grants the requested one (see `_with_defaults`).
        Action.GRANT_EXTENSION: Rule(
            OPEN, None, SUPERVISORS, requires=("deadline",), guard=_extension_pending
        ),
        Action.DENY_EXTENSION: Rule(
            OPEN, None, SUPERVISORS, requires=("note",), guard=_extension_pending
        ),
        Action.CHANGE_DEADLINE: Rule(OPEN, None, SUPERVISORS, requires=("deadline", "note")),
        Action.WAIVE: Rule(OPEN, Status.WAIVED, SUPERVISORS, requires=("note",)),
        Action.REOPEN: Rule(CLOSED, Status.IN_PROGRESS, SUPERVISORS, requires=("note",)),
    }
)

# A pending extension request lapses when the item is closed, returned or handed to a
# unit afresh: nobody is left to grant it to.
_CLEARS_EXTENSION = frozenset({Status.ASSIGNED, Status.RETURNED}) | CLOSED
_NO_REQUEST: Mapping[str, object] = MappingProxyType(
    {"extension_pending": False, "requested_deadline": None}
)


def allowed_actions(item: ItemState, actor: Actor, today: date) -> list[str]:
    """The actions this actor may take on this item now, in table order (for UIs and 409s)."""
    return [
        action.value
        for action, rule in RULES.items()
        if _permitted(rule, item, actor) and _blocker(rule, item, today) is None
    ]


def apply(
    item: ItemState, action: Action | str, actor: Actor, payload: Payload, *, today: date
) -> Outcome:
    """Take `action` on `item`: the new state and its changes, or a typed error.

    Checks run in HTTP order: unknown action (422), role or unit (403), state and guard
    (409), payload (422). `today` is the local (Asia/Shanghai) date of the request.
    """
    try:
        action = Action(action)
    except ValueError:
        raise InvalidPayload({"action": f"未知操作 {action}"}) from None
    rule = RULES[action]
    if not _permitted(rule, item, actor):
        raise Forbidden(f"当前身份不能对此事项执行「{ACTION_LABELS[action]}」")
    blocker = _blocker(rule, item, today)
    if blocker is not None:
        raise NotAllowed(action, item.status, allowed_actions(item, actor, today), blocker)
    details = _validate(action, rule, item, _with_defaults(action, item, payload))
    new_item = _effect(action, rule, item, details)
    return Outcome(
        action=action,
        item=new_item,
        from_status=item.status,
        to_status=new_item.status,
        changes=_diff(item, new_item),
        details=details,
    )


def _permitted(rule: Rule, item: ItemState, actor: Actor) -> bool:
    if actor.role not in rule.roles:
        return False
    # Supervisors act on every unit's items; staff only on their own unit's.
    return actor.role != Role.STAFF or (actor.unit_id is not None and actor.unit_id == item.unit_id)


def _with_defaults(action: Action, item: ItemState, payload: Payload) -> Payload:
    if action == Action.GRANT_EXTENSION and payload.deadline is None:
        return replace(payload, deadline=item.requested_deadline)
    return payload


def _blocker(rule: Rule, item: ItemState, today: date) -> str | None:
    if item.status not in rule.sources:
        return f"事项当前为「{STATUS_LABELS[item.status]}」，不能执行此操作"
    return rule.guard(item, today) if rule.guard else None


def _validate(action: Action, rule: Rule, item: ItemState, payload: Payload) -> dict[str, object]:
    """Check every given field; collect all errors so the form can show them at once."""
    errors: dict[str, str] = {}
    given = payload.given()
    for name in sorted(given - set(rule.requires) - set(rule.accepts)):
        errors[name] = f"「{ACTION_LABELS[action]}」不接受此项"
    for name in rule.requires:
        if name not in given:
            label = ACTION_LABELS[action]
            errors[name] = "请填写理由" if name == "note" else f"「{label}」须填写此项"
        elif name == "note" and isinstance(payload.note, str) and not payload.note.strip():
            errors[name] = "请填写理由"
    if action == Action.REPORT_PROGRESS and not given:
        errors["note"] = "请至少填写进展说明、佐证链接、指标数值或完成比例中的一项"
    details: dict[str, object] = {}
    for name in sorted(given & (set(rule.requires) | set(rule.accepts))):
        try:
            details[name] = _CHECKS[name](action, item, getattr(payload, name))
        except ValueError as error:
            errors.setdefault(name, str(error))
    if errors:
        raise InvalidPayload(errors)
    return details


def _check_note(action: Action, item: ItemState, note: object) -> str:
    if not isinstance(note, str):
        raise ValueError("须为文字")
    if len(note) > MAX_NOTE_LENGTH:
        raise ValueError(f"不能超过 {MAX_NOTE_LENGTH} 个字")
    return note


def _check_evidence(action: Action, item: ItemState, links: object) -> list[str]:
    if isinstance(links, str) or not isinstance(links, Sequence):
        raise ValueError("须为链接列表")
    if len(links) > MAX_EVIDENCE:
        raise ValueError(f"最多 {MAX_EVIDENCE} 个链接")
    for link in links:
        if not _is_web_url(link):
            raise ValueError(f"不是 http(s) 链接：{str(link)[:100]}")
    return list(links)


def _is_web_url(link: object) -> bool:
    if not isinstance(link, str) or len(link) > MAX_URL_LENGTH:
        return False
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in link


def _check_values(action: Action, item: ItemState, values: object) -> dict[Id, float]:
    if not isinstance(values, Mapping):
        raise ValueError("须为 指标编号 → 数值")
    # JSON object keys are strings while target ids may be integers: match on text.
    by_text = {str(target_id): target_id for target_id in item.targets}
    checked: dict[Id, float] = {}
    for key, value in values.items():
        if str(key) not in by_text:
            raise ValueError(f"本事项没有编号为 {key} 的量化指标")
        checked[by_text[str(key)]] = _number(value, f"指标 {key} 的数值", low=0)
    return checked


def _check_percent(action: Action, item: ItemState, percent: object) -> float:
    return _number(percent, "完成比例", low=0, high=100)


def _number(value: object, what: str, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what}须为数字")
    if not low <= value <= high:
        bounds = f"在 {low:g} 到 {high:g} 之间" if high < math.inf else f"不小于 {low:g}"
        raise ValueError(f"{what}须{bounds}")
    return value


def _check_deadline(action: Action, item: ItemState, deadline: object) -> date:
    # datetime is a subclass of date; a deadline is a local calendar date, never a moment.
    if not isinstance(deadline, date) or isinstance(deadline, datetime):
        raise ValueError("须为日期")
    current = item.deadline
    if action == Action.CHANGE_DEADLINE:
        if deadline == current:
            raise ValueError("与现有时限相同")
    elif current is not None and deadline <= current:
        raise ValueError(f"须晚于现有时限 {current.isoformat()}")
    return deadline


def _check_unit(action: Action, item: ItemState, unit_id: object) -> Id:
    # Whether the unit exists is the service's question: the core has no directory.
    if unit_id == item.unit_id:
        raise ValueError("事项已在该单位")
    return unit_id


_CHECKS: Mapping[str, Callable[[Action, ItemState, object], object]] = MappingProxyType(
    {
        "note": _check_note,
        "evidence": _check_evidence,
        "values": _check_values,
        "percent": _check_percent,
        "deadline": _check_deadline,
        "unit_id": _check_unit,
    }
)


def _effect(action: Action, rule: Rule, item: ItemState, details: Mapping[str, Any]) -> ItemState:
    """The new item state: the action's own field updates, then the status move."""
    updates: dict[str, object] = {}
    if "values" in details:
        updates["values"] = {**item.values, **details["values"]}
    if "percent" in details:
        updates["percent"] = details["percent"]
    if action == Action.REQUEST_EXTENSION:
        updates.update(extension_pending=True, requested_deadline=details["deadline"])
    elif action == Action.GRANT_EXTENSION:
        # The supervisor may grant less (or more) than asked; the original deadline stays.
        updates.update(_NO_REQUEST, deadline=details["deadline"])
    elif action == Action.DENY_EXTENSION:
        updates.update(_NO_REQUEST)
    elif action == Action.CHANGE_DEADLINE:
        # The office itself sets a new deadline: units are measured against it from now on.
        updates.update(deadline=details["deadline"], original_deadline=details["deadline"])
    elif action == Action.REASSIGN:
        updates["unit_id"] = details["unit_id"]
    status = rule.target or item.status
    updates["status"] = status
    if status in _CLEARS_EXTENSION:
        updates.update(_NO_REQUEST)
    return replace(item, **updates)


def _diff(old: ItemState, new: ItemState) -> dict[str, tuple[object, object]]:
    names = ItemState.__dataclass_fields__
    return {
        name: (getattr(old, name), getattr(new, name))
        for name in names
        if getattr(old, name) != getattr(new, name)
    }
