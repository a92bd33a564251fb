"""An item as it stood on an earlier day, from the audit records written since.

Every transition's audit record keeps `changes: {field: [old, new]}` (from the workflow's
`Outcome.changes`), a document revision's `change_deadline` keeps `from`/`to`, and a
withdrawal says so by its action: enough to undo each change, newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from checklists.reports import ReportItem
from checklists.workflow import Status

__all__ = ["PROGRESS_ACTIONS", "Change", "change_from_record", "reported_values", "rewind"]

# The actions whose note becomes the item's last progress note.
PROGRESS_ACTIONS = ("report_progress", "submit")


@dataclass(frozen=True)
class Change:
    """One recorded change of an item: the values of the fields it overwrote.

    `before` may hold status, deadline, original_deadline, unit_id, values and withdrawn.
    `progress_note` is set when the change was a progress report with a note; `on` is the
    local date of `at`.
    """

    at: datetime
    on: date
    before: Mapping[str, object] = field(default_factory=dict)
    progress_note: str | None = None


_STATE_FIELDS = ("status", "deadline", "original_deadline", "unit_id", "values")


def rewind(
    item: ReportItem,
    history: Sequence[Change],
    cutoff: datetime,
    unit_names: Mapping[int, str],
) -> ReportItem:
    """The item as it stood just before `cutoff`, undoing the changes made since.

    `history` is the item's changes in time order: every change from `cutoff` on, and the
    progress reports before it (for the last progress note as of then). Undoing the later
    changes newest first leaves each field with the value the earliest one overwrote.
    """
    later = [change for change in history if change.at >= cutoff]
    if not later:
        return item
    fields: dict[str, Any] = {}
    for change in reversed(later):
        fields.update(change.before)
    state = replace(item.state, **{k: v for k, v in fields.items() if k in _STATE_FIELDS})
    rewound = replace(
        item,
        state=state,
        withdrawn=bool(fields.get("withdrawn", item.withdrawn)),
        unit_name=unit_names.get(int(state.unit_id), item.unit_name),
    )
    if any(change.progress_note is not None for change in later):
        earlier = [c for c in history if c.at < cutoff and c.progress_note is not None]
        last = earlier[-1] if earlier else None
        rewound = replace(
            rewound,
            last_progress_on=last.on if last else None,
            last_progress_note=last.progress_note if last else None,
        )
    return rewound


def reported_values(raw: object) -> dict[int, float]:
    """Reported target values keyed by target id (JSON keeps them under text keys)."""
    if not isinstance(raw, Mapping):
        return {}
    return {int(key): float(value) for key, value in raw.items() if str(key).isdigit()}


def change_from_record(
    at: datetime,
    on: date,
    action: str,
    from_status: str | None,
    note: str | None,
    details: Mapping[str, Any] | None,
) -> Change:
    """What one audit record of an item overwrote; `on` is the local date of `at`."""
    details = details or {}
    changes = details.get("changes") or {}
    before: dict[str, object] = {}
    if from_status:
        before["status"] = Status(from_status)
    for name, parse in _PARSERS.items():
        if isinstance(changes.get(name), list) and changes[name]:
            before[name] = parse(changes[name][0])
    if action == "change_deadline" and "from" in details:
        # A document revision moved the deadline, and the one on-time figures use.
        before["deadline"] = before["original_deadline"] = _date(details["from"])
    if action == "withdraw":
        before["withdrawn"] = False
    progress_note = note if action in PROGRESS_ACTIONS else None
    return Change(at=at, on=on, before=before, progress_note=progress_note)


def _date(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value != "None" else None


_PARSERS: Mapping[str, Callable[[Any], object]] = {
    "deadline": _date,
    "original_deadline": _date,
    "unit_id": int,
    "values": reported_values,
}
