"""How pages name things: Chinese labels for statuses, colours, roles and actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from checklists.reports import ROLE_LABELS
from checklists.status import Colour
from checklists.workflow import ACTION_LABELS, STATUS_LABELS

COLOUR_NAMES = {
    "red": "已逾期",
    "yellow": "临近时限",
    "green": "正常推进",
    "done": "已销号",
    "waived": "免办",
}
ROLE_NAMES = {"staff": "承办单位", "supervisor": "督查室", "admin": "管理员"}


STATUS_NAMES = {status.value: label for status, label in STATUS_LABELS.items()}
ACTION_NAMES = {action.value: label for action, label in ACTION_LABELS.items()}
COLOUR_SHORT = {colour.value: colour.label for colour in Colour}


def status_label(status: str) -> str:
    return STATUS_NAMES.get(status, status)


def action_label(action: str) -> str:
    return ACTION_NAMES.get(action, action)


def colour_label(colour: str) -> str:
    return COLOUR_SHORT.get(colour, colour)


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def time_left(deadline: date | None, days_overdue: int, today: date) -> str:
    """"逾期 3 天", "今天到期", "剩 5 天" or "无时限"."""
    if deadline is None:
        return "无时限"
    if days_overdue > 0:
        return f"逾期 {days_overdue} 天"
    left = (deadline - today).days
    return "今天到期" if left == 0 else f"剩 {left} 天"


TEMPLATE_HELPERS: dict[str, Any] = {
    "status_label": status_label,
    "action_label": action_label,
    "colour_label": colour_label,
    "colour_names": COLOUR_NAMES,
    "role_label": role_label,
    "role_names": ROLE_NAMES,
    "time_left": time_left,
}
