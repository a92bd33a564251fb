"""Event envelopes (CloudEvents 1.0, JSON) and subscription matching.

Every state change becomes one envelope; subscribers pick events by type pattern,
unit and document. The shape of `data` is fixed by `item_data` so that formatters,
filters and the feed all read the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

SPECVERSION = "1.0"
DATACONTENTTYPE = "application/json"

DOCUMENT_IMPORTED = "document.imported"
ITEM_ASSIGNED = "item.assigned"
ITEM_ACKNOWLEDGED = "item.acknowledged"
ITEM_PROGRESS_REPORTED = "item.progress_reported"
ITEM_SUBMITTED = "item.submitted"
ITEM_APPROVED = "item.approved"
ITEM_REJECTED = "item.rejected"
ITEM_WAIVED = "item.waived"
ITEM_REASSIGNED = "item.reassigned"
ITEM_DEADLINE_CHANGED = "item.deadline_changed"
ITEM_DUE_SOON = "item.due_soon"
ITEM_OVERDUE = "item.overdue"
ITEM_ESCALATED = "item.escalated"
ITEM_PROGRESS_REQUESTED = "item.progress_requested"
ITEM_PROGRESS_MISSED = "item.progress_missed"
ITEM_STARTED = "item.started"
ITEM_RETURNED = "item.returned"
ITEM_INSISTED = "item.insisted"
ITEM_EXTENSION_REQUESTED = "item.extension_requested"
ITEM_EXTENSION_GRANTED = "item.extension_granted"
ITEM_EXTENSION_DENIED = "item.extension_denied"
ITEM_REOPENED = "item.reopened"
UNIT_MERGED = "unit.merged"
UNIT_UPDATED = "unit.updated"
SUBSCRIPTION_DISABLED = "subscription.disabled"
SUBSCRIPTION_PING = "subscription.ping"

# Chinese labels used in chat messages; the keys are the complete list of event types.
EVENT_LABELS: dict[str, str] = {
    DOCUMENT_IMPORTED: "文件已导入",
    ITEM_ASSIGNED: "事项已交办",
    ITEM_ACKNOWLEDGED: "事项已签收",  # 签收: the unit confirms it has received the task
    ITEM_PROGRESS_REPORTED: "报送办理进展",
    ITEM_SUBMITTED: "申请办结",
    ITEM_APPROVED: "事项已销号",  # 销号: the supervisor signs the item off
    ITEM_REJECTED: "事项被退回",
    ITEM_WAIVED: "事项已免办",
    ITEM_REASSIGNED: "事项已改派",
    ITEM_DEADLINE_CHANGED: "办理时限已调整",
    ITEM_DUE_SOON: "事项即将到期",
    ITEM_OVERDUE: "事项已逾期",
    ITEM_ESCALATED: "逾期事项已升级督办",
    ITEM_PROGRESS_REQUESTED: "请报送办理进展",
    ITEM_PROGRESS_MISSED: "未按时报送进展",
    ITEM_STARTED: "开始办理",
    ITEM_RETURNED: "单位申请退办",  # 退办: the unit says the item is not its own
    ITEM_INSISTED: "维持原交办",
    ITEM_EXTENSION_REQUESTED: "申请延期",
    ITEM_EXTENSION_GRANTED: "同意延期",
    ITEM_EXTENSION_DENIED: "不同意延期",
    ITEM_REOPENED: "事项重新办理",
    UNIT_MERGED: "单位已合并",
    UNIT_UPDATED: "单位信息已更新",
    SUBSCRIPTION_DISABLED: "推送地址已停用",
    SUBSCRIPTION_PING: "推送测试",
}
EVENT_TYPES: frozenset[str] = frozenset(EVENT_LABELS)


def label(event_type: str) -> str:
    """The Chinese label of an event type, or the type itself when unknown."""
    return EVENT_LABELS.get(event_type, event_type)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z` suffix, as CloudEvents `time` wants it."""
    if moment.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    utc = moment.astimezone(UTC)
    text = utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def build_event(
    type: str,
    subject: str,
    data: Mapping[str, Any],
    *,
    id: str,
    time: datetime,
    source: str,
) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode envelope for one state change."""
    if not (id and source and type):
        raise ValueError("id, source and type are required CloudEvents attributes")
    return {
        "specversion": SPECVERSION,
        "id": id,
        "source": source,
        "type": type,
        "subject": subject,
        "time": format_time(time),
        "datacontenttype": DATACONTENTTYPE,
        "data": dict(data),
    }


def _ref(ref_id: str | int | None, **fields: Any) -> dict[str, Any] | None:
    if ref_id is None:
        return None
    return {"id": str(ref_id), **{k: v for k, v in fields.items() if v is not None}}


def item_data(
    *,
    item_id: str | int,
    title: str,
    unit_id: str | int | None = None,
    unit_name: str | None = None,
    role: str | None = None,
    document_id: str | int | None = None,
    document_title: str | None = None,
    measure_ref: str | None = None,
    deadline: date | None = None,
    actor_id: str | int | None = None,
    actor_name: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The `data` of an item event: what changed (before/after), who did it, where it sits.

    `role` is the unit's part in the measure: "lead" (牵头) or "co" (配合).
    """
    return {
        "item": {"id": str(item_id), "title": title},
        "unit": _ref(unit_id, name=unit_name, role=role),
        "document": _ref(document_id, title=document_title),
        "measure_ref": measure_ref,
        "deadline": deadline.isoformat() if deadline else None,
        "actor": _ref(actor_id, name=actor_name),
        "before": dict(before) if before is not None else None,
        "after": dict(after) if after is not None else None,
        "note": note,
    }


@dataclass(frozen=True)
class SubscriptionFilter:
    """What a subscription wants; an empty tuple means "any"."""

    event_types: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()


def is_valid_pattern(pattern: str) -> bool:
    """True for a known event type, `*`, or a known prefix followed by `.*` (e.g. `item.*`)."""
    if pattern == "*" or pattern in EVENT_TYPES:
        return True
    prefix, dot_star = pattern[:-2], pattern[-2:]
    return dot_star == ".*" and any(t.startswith(prefix + ".") for t in EVENT_TYPES)


def type_matches(pattern: str, event_type: str) -> bool:
    """Whether one pattern (`*`, `item.*` or an exact type) covers an event type."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def _ref_id(data: Mapping[str, Any], key: str) -> str | None:
    ref = data.get(key)
    if isinstance(ref, Mapping):
        ref = ref.get("id")
    return None if ref is None else str(ref)


def matches(subscription_filter: SubscriptionFilter, event: Mapping[str, Any]) -> bool:
    """Whether a subscription receives an event.

    A unit or document restriction excludes events that carry no unit or document
    (e.g. `subscription.disabled`), so a unit's robot never hears about others.
    """
    wanted = subscription_filter
    if wanted.event_types and not any(type_matches(p, event["type"]) for p in wanted.event_types):
        return False
    data = event.get("data") or {}
    if wanted.units and _ref_id(data, "unit") not in {str(u) for u in wanted.units}:
        return False
    return not (
        wanted.documents and _ref_id(data, "document") not in {str(d) for d in wanted.documents}
    )
