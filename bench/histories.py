"""The life of one generated item: the workflow it went through, as the service records it.

Each item is walked through real workflow actions (`checklists.workflow.apply`) from its
assignment to a final state drawn by how far its deadline has come, so its row, its audit
records (with the `changes` reports rewind) and its events (with `item_data`) look like
those of an item ticked through the API. An action the workflow refuses at the moment drawn
for it (an extension asked for after the deadline) is left out, as a person would have
been refused.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from checklists import workflow
from checklists.workflow import Action, ItemState, Payload, Role, Status, WorkflowError
from service.services.items import EVENT_FOR_ACTION, iso, jsonable
from webhooks import events

SOURCE = "/duban-checklists"
SUPERVISOR = ("督查室", "supervisor")
BEIJING = timedelta(hours=8)  # Asia/Shanghai has kept UTC+8, without summer time, since 1991
CLOSED = (Status.APPROVED, Status.WAIVED)
PROGRESS = (Action.REPORT_PROGRESS, Action.SUBMIT)

# The state an item has reached (columns), by how much of its time has passed (rows).
FATE_STATES = (
    *(Status.ASSIGNED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.SUBMITTED),
    *(Status.APPROVED, Status.REJECTED, Status.RETURNED, Status.WAIVED),
)
FATES = (
    (0.2, (43, 35, 20, 0, 0, 0, 2, 0)),
    (0.6, (12, 25, 52, 3, 5, 0, 2, 1)),
    (1.0, (5, 10, 45, 10, 25, 2, 2, 1)),
    (float("inf"), (2, 3, 12, 6, 72, 2, 0, 3)),
)
CLOSING = {
    Status.SUBMITTED: [Action.SUBMIT],
    Status.APPROVED: [Action.SUBMIT, Action.APPROVE],
    Status.REJECTED: [Action.SUBMIT, Action.REJECT],
}
NOTES = {
    Action.REPORT_PROGRESS: (
        "已召开专题会议研究部署，明确责任分工",
        "已完成阶段性任务，正在推进下一阶段工作",
        "已形成初步方案，正在征求相关部门意见",
        "已完成年度目标任务的{percent}%",
        "项目已开工建设，累计完成投资{percent}%",
    ),
    Action.SUBMIT: ("已完成全部任务，申请销号", "各项指标均已达成，附佐证材料，申请办结"),
    Action.REJECT: ("佐证材料不足，请补充后重新报送",),
    Action.RETURN: ("该事项不属于本单位职责，建议改派",),
    Action.REQUEST_EXTENSION: ("受项目审批进度影响，申请延期",),
    Action.DENY_EXTENSION: ("理由不充分，请按原时限完成",),
    Action.WAIVE: ("因政策调整，该事项不再实施",),
}


@dataclass(frozen=True)
class MeasureFacts:
    """What an item's events repeat about its measure and document."""

    id: int
    document_id: int
    document_title: str
    ref: str
    title: str
    targets: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Assignment:
    """One item as an import created it: where it sits, whose it is, when it was assigned."""

    item_id: int
    measure: MeasureFacts
    unit_id: int
    unit_name: str
    role: str
    period: str
    deadline: date | None
    assigned_at: datetime
    withdrawn: bool = False

    @property
    def assigned_on(self) -> date:
        return local_date(self.assigned_at)


@dataclass
class Recorder:
    """Audit records and events, numbered and shaped as record_audit and record_event write them."""

    rng: random.Random
    audit: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, Iterator[int]] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        return next(self.ids.setdefault(table, iter(range(1, 2**62))))

    def record(
        self, at: datetime, actor: tuple[str, str], action: str, entity_id: int, **fields: Any
    ) -> None:
        fields.setdefault("entity", "item")
        self.audit.append(
            {
                "id": self.next_id("audit"),
                "at": at,
                "actor": actor[0],
                "actor_role": actor[1],
                "entity_id": entity_id,
                "action": action,
                **{"item_id": None, "from_status": None, "to_status": None, "note": None},
                **{"details": {}, **fields},
            }
        )

    def emit(
        self, type: str, subject: str, at: datetime, data: dict[str, Any], **refs: Any
    ) -> None:
        """An event; txid 0 sorts it before any a live transaction writes."""
        self.events.append(
            {
                "id": self.next_id("event"),
                "txid": 0,
                "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "type": type,
                "source": SOURCE,
                "subject": subject,
                "time": at,
                "data": data,
                **{"unit_id": None, "document_id": None, "item_id": None, **refs},
            }
        )

    def drain(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows recorded since the last drain."""
        taken = self.audit, self.events
        self.audit, self.events = [], []
        return taken


def local_date(moment: datetime) -> date:
    return (moment + BEIJING).date()


def fate(rng: random.Random, job: Assignment, now: datetime) -> Status:
    """The state the item has reached by `now`, drawn by how close its deadline is."""
    span = (job.deadline - job.assigned_on).days if job.deadline else 365
    elapsed = (now - job.assigned_at).days / max(span, 1)
    weights = next(w for limit, w in FATES if elapsed < limit)
    return rng.choices(FATE_STATES, weights)[0]


def path(rng: random.Random, final: Status) -> list[Action]:
    """The actions that lead from `assigned` to `final`, with progress reports and extensions."""
    short = {
        Status.ASSIGNED: [],
        Status.RETURNED: [Action.RETURN],
        Status.WAIVED: [Action.ACKNOWLEDGE, Action.WAIVE],
        Status.ACKNOWLEDGED: [Action.ACKNOWLEDGE],
    }
    if final in short:
        return short[final]
    steps = [Action.ACKNOWLEDGE, Action.START]
    if rng.random() < 0.08:
        answer = Action.GRANT_EXTENSION if rng.random() < 0.8 else Action.DENY_EXTENSION
        steps += [Action.REQUEST_EXTENSION, answer]
    steps += [Action.REPORT_PROGRESS] * rng.choice((0, 1, 1, 2, 2, 3))
    steps += CLOSING.get(final, [])
    if final == Status.IN_PROGRESS and rng.random() < 0.02:
        steps.append(Action.REQUEST_EXTENSION)  # still waiting for the supervisor's answer
    return steps


def moments(
    rng: random.Random, job: Assignment, final: Status, count: int, now: datetime
) -> list[datetime]:
    """`count` sorted moments from the assignment to now (closed items: near the deadline)."""
    end = now
    if final in CLOSED and job.deadline is not None:
        due = datetime.combine(job.deadline, datetime.min.time(), UTC)
        end = min(now, due + timedelta(days=rng.gauss(-10, 15)))
    start = job.assigned_at + timedelta(hours=2)
    seconds = max((end - start).total_seconds(), 3600.0 * count)
    offsets = sorted(rng.uniform(0, seconds) for _ in range(count))
    return [min(start + timedelta(seconds=s), now) for s in offsets]


def payload(rng: random.Random, action: Action, state: ItemState) -> Payload:
    """What a person would have typed for `action`."""
    if action == Action.REPORT_PROGRESS:
        percent = float(min(95, int(state.percent or 0) + rng.randint(10, 40)))
        values = {t: round(v * percent / 100) for t, v in state.targets.items()}
        note = rng.choice(NOTES[action]).format(percent=int(percent))
        return Payload(note=note, percent=percent, values=values or None)
    if action == Action.SUBMIT:
        return Payload(note=rng.choice(NOTES[action]), percent=100.0)
    if action == Action.REQUEST_EXTENSION and state.deadline:
        later = state.deadline + timedelta(days=rng.choice((30, 61, 92)))
        return Payload(note=NOTES[action][0], deadline=later)
    return Payload(note=rng.choice(NOTES[action])) if action in NOTES else Payload()


def actor_of(action: Action, job: Assignment) -> tuple[workflow.Actor, tuple[str, str]]:
    """The workflow actor and the audit label: the unit's staff or the supervising office."""
    if Role.STAFF in workflow.RULES[action].roles:
        return workflow.Actor(Role.STAFF, job.unit_id), (f"staff:{job.unit_name}", "staff")
    return workflow.Actor(Role.SUPERVISOR), SUPERVISOR


def live(job: Assignment, now: datetime, recorder: Recorder) -> dict[str, Any]:
    """Walk one item from its assignment to its fate, recording each step; the item's row."""
    rng = recorder.rng
    final = fate(rng, job, now)
    actions = path(rng, final)
    state = ItemState(
        status=Status.ASSIGNED,
        unit_id=job.unit_id,
        deadline=job.deadline,
        original_deadline=job.deadline,
        assigned_on=job.assigned_on,
        targets=dict(job.measure.targets),
    )
    item_event(recorder, job, events.ITEM_ASSIGNED, job.assigned_at, after={"status": "assigned"})
    progress: tuple[datetime, str] | None = None
    changed, version = job.assigned_at, 1
    for action, at in zip(actions, moments(rng, job, final, len(actions), now), strict=True):
        actor, label = actor_of(action, job)
        try:
            outcome = workflow.apply(
                state, action, actor, payload(rng, action, state), today=local_date(at)
            )
        except WorkflowError:
            continue
        record_transition(recorder, job, at, label, state, outcome)
        if "note" in outcome.details and action in PROGRESS:
            progress = (at, str(outcome.details["note"]))
        state, changed, version = outcome.item, at, version + 1
    if job.withdrawn:
        changed, version = min(changed + timedelta(days=1), now), version + 1
        recorder.record(
            changed, ("命令行", "admin"), "withdraw", job.item_id, item_id=job.item_id,
            note="修订后的文件不再列出该单位",
        )  # fmt: skip
    return item_row(rng, job, state, progress, (changed, version), now)


def record_transition(
    recorder: Recorder, job: Assignment, at: datetime, actor: tuple[str, str],
    before: ItemState, outcome: workflow.Outcome,
) -> None:  # fmt: skip
    """The audit record and the event of one action, as services.items.record_transition."""
    details = {k: jsonable(v) for k, v in outcome.details.items()}
    changes = {k: [jsonable(a), jsonable(b)] for k, (a, b) in outcome.changes.items()}
    note = outcome.details.get("note")
    note = str(note) if note is not None else None
    recorder.record(
        at, actor, outcome.action.value, job.item_id, item_id=job.item_id, note=note,
        from_status=outcome.from_status.value, to_status=outcome.to_status.value,
        details={**details, "changes": changes},
    )  # fmt: skip
    after = outcome.item
    item_event(
        recorder, job, EVENT_FOR_ACTION[outcome.action], at, deadline=after.deadline,
        actor_name=actor[0], note=note,
        before={"status": before.status.value, "unit_id": job.unit_id,
                "deadline": iso(before.deadline)},
        after={"status": after.status.value, "unit_id": job.unit_id,
               "deadline": iso(after.deadline)},
    )  # fmt: skip


def item_event(recorder: Recorder, job: Assignment, type: str, at: datetime, **change: Any) -> None:
    """An item's event with where it sits, as services.events.record_item_event writes it."""
    measure = job.measure
    change.setdefault("deadline", job.deadline)
    data = events.item_data(
        item_id=job.item_id, title=measure.title, unit_id=job.unit_id, unit_name=job.unit_name,
        role=job.role, document_id=measure.document_id, document_title=measure.document_title,
        measure_ref=measure.ref, **change,
    )  # fmt: skip
    recorder.emit(
        type, f"items/{job.item_id}", at, data, unit_id=job.unit_id,
        document_id=measure.document_id, item_id=job.item_id,
    )  # fmt: skip


def item_row(
    rng: random.Random, job: Assignment, state: ItemState,
    progress: tuple[datetime, str] | None, last: tuple[datetime, int], now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The item's row as its last change (`last`: when, and the version) left it."""
    reminded = state.status not in CLOSED and not job.withdrawn
    return {
        "id": job.item_id,
        "measure_id": job.measure.id,
        "unit_id": job.unit_id,
        "role": job.role,
        "implicit": False,
        "period": job.period,
        "status": state.status.value,
        "deadline": state.deadline,
        "original_deadline": state.original_deadline,
        "assigned_on": job.assigned_on,
        "percent": state.percent or 0,
        "target_values": {str(k): v for k, v in state.values.items()},
        "extension_pending": state.extension_pending,
        "requested_deadline": state.requested_deadline,
        "last_progress_at": progress[0] if progress else None,
        "last_progress_note": progress[1] if progress else None,
        "next_reminder_at": next_reminder(rng, state.deadline, now) if reminded else None,
        "version": last[1],
        "withdrawn": job.withdrawn,
        "created_at": job.assigned_at,
        "updated_at": last[0],
    }


def next_reminder(rng: random.Random, deadline: date | None, now: datetime) -> datetime:
    """Ten days before the deadline at 09:00 in Beijing, or within three days: never due now."""
    if deadline is not None:
        planned = datetime.combine(deadline - timedelta(days=10), datetime.min.time(), UTC)
        if planned > now + timedelta(days=3):
            return planned + timedelta(hours=1)
    return now + timedelta(hours=rng.randint(1, 72))
