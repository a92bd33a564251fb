"""The workflow table, checked against an independent, literal copy of the rules."""

from dataclasses import replace
from datetime import date, datetime

import pytest

from checklists.workflow import (
    ACTION_LABELS,
    MAX_EVIDENCE,
    MAX_NOTE_LENGTH,
    RULES,
    STATUS_LABELS,
    Action,
    Actor,
    Forbidden,
    InvalidPayload,
    ItemState,
    NotAllowed,
    Payload,
    Role,
    Status,
    allowed_actions,
    apply,
)

TODAY = date(2025, 9, 15)
DEADLINE = date(2025, 10, 10)
OPEN = {"assigned", "acknowledged", "in_progress", "submitted", "rejected", "returned"}

# action → (states it is allowed from, state it leads to or None, who may take it)
EXPECTED = {
    "acknowledge": ({"assigned"}, "acknowledged", "staff"),
    "start": ({"acknowledged", "rejected"}, "in_progress", "staff"),
    "report_progress": ({"acknowledged", "in_progress", "rejected"}, "in_progress", "staff"),
    "submit": ({"in_progress"}, "submitted", "staff"),
    "approve": ({"submitted"}, "approved", "supervisor"),
    "reject": ({"submitted"}, "rejected", "supervisor"),
    "return": ({"assigned", "acknowledged"}, "returned", "staff"),
    "insist": ({"returned"}, "assigned", "supervisor"),
    "reassign": (OPEN - {"submitted"}, "assigned", "supervisor"),
    "request_extension": ({"acknowledged", "in_progress", "rejected"}, None, "staff"),
    "grant_extension": (OPEN, None, "supervisor"),
    "deny_extension": (OPEN, None, "supervisor"),
    "change_deadline": (OPEN, None, "supervisor"),
    "waive": (OPEN, "waived", "supervisor"),
    "reopen": ({"approved", "waived"}, "in_progress", "supervisor"),
}

VALID = {
    "acknowledge": Payload(),
    "start": Payload(note="开始办理"),
    "report_progress": Payload(note="已完成 40 个", values={"t1": 40}, percent=30),
    "submit": Payload(note="已全部完成", evidence=["https://example.gov.cn/report.pdf"]),
    "approve": Payload(),
    "reject": Payload(note="佐证材料不足"),
    "return": Payload(note="不属于本单位职责"),
    "insist": Payload(note="属于本单位职责"),
    "reassign": Payload(unit_id="B", note="改由 B 单位牵头"),
    "request_extension": Payload(deadline=date(2025, 10, 31), note="需协调省级部门"),
    "grant_extension": Payload(),
    "deny_extension": Payload(note="时限不能调整"),
    "change_deadline": Payload(deadline=date(2025, 12, 31), note="按新方案调整"),
    "waive": Payload(note="政策已废止"),
    "reopen": Payload(note="复核发现问题"),
}

ACTORS = {
    "staff of A": Actor(Role.STAFF, "A"),
    "staff of B": Actor(Role.STAFF, "B"),
    "supervisor": Actor(Role.SUPERVISOR),
    "admin": Actor(Role.ADMIN),
}


def make_item(status: str = "assigned", **changes: object) -> ItemState:
    item = ItemState(
        status=Status(status),
        unit_id="A",
        deadline=DEADLINE,
        original_deadline=DEADLINE,
        assigned_on=date(2025, 9, 1),
        targets={"t1": 150.0, "t2": 10.0},
    )
    return replace(item, **changes)


def item_for(action: str, status: str) -> ItemState:
    """The matrix item; extension decisions need a pending request to decide on."""
    if action in ("grant_extension", "deny_extension"):
        return make_item(status, extension_pending=True, requested_deadline=date(2025, 10, 31))
    return make_item(status)


def may_act(actor_name: str, who: str) -> bool:
    if who == "staff":
        return actor_name == "staff of A"
    return actor_name in ("supervisor", "admin")


MATRIX = [
    (action, status, actor_name)
    for action in EXPECTED
    for status in [s.value for s in Status]
    for actor_name in ACTORS
]


@pytest.mark.parametrize(("action", "status", "actor_name"), MATRIX)
def test_every_action_from_every_state_for_every_actor(
    action: str, status: str, actor_name: str
) -> None:
    sources, target, who = EXPECTED[action]
    item, actor = item_for(action, status), ACTORS[actor_name]
    if not may_act(actor_name, who):
        with pytest.raises(Forbidden):
            apply(item, action, actor, VALID[action], today=TODAY)
    elif status not in sources:
        with pytest.raises(NotAllowed) as raised:
            apply(item, action, actor, VALID[action], today=TODAY)
        assert raised.value.allowed == allowed_actions(item, actor, TODAY)
        assert action not in raised.value.allowed
        assert raised.value.status == status
    else:
        outcome = apply(item, action, actor, VALID[action], today=TODAY)
        assert outcome.from_status == status
        assert outcome.to_status == (target or status)
        assert outcome.item.status == outcome.to_status
        assert action in allowed_actions(item, actor, TODAY)


def test_the_table_covers_every_action_and_matches_the_literal_copy() -> None:
    assert {a.value for a in RULES} == set(EXPECTED) == {a.value for a in Action}
    for action, rule in RULES.items():
        sources, target, who = EXPECTED[action]
        assert {s.value for s in rule.sources} == sources
        assert (rule.target.value if rule.target else None) == target
        expected_roles = {"staff"} if who == "staff" else {"supervisor", "admin"}
        assert {r.value for r in rule.roles} == expected_roles


def test_every_status_and_action_has_a_chinese_label() -> None:
    assert set(STATUS_LABELS) == set(Status)
    assert set(ACTION_LABELS) == set(Action)


@pytest.mark.parametrize(
    ("status", "actor_name", "expected"),
    [
        ("assigned", "staff of A", ["acknowledge", "return"]),
        ("acknowledged", "staff of A", ["start", "report_progress", "return", "request_extension"]),
        ("in_progress", "staff of A", ["report_progress", "submit", "request_extension"]),
        ("rejected", "staff of A", ["start", "report_progress", "request_extension"]),
        ("submitted", "staff of A", []),
        ("approved", "staff of A", []),
        ("in_progress", "staff of B", []),
        ("assigned", "supervisor", ["reassign", "change_deadline", "waive"]),
        ("submitted", "supervisor", ["approve", "reject", "change_deadline", "waive"]),
        ("returned", "admin", ["insist", "reassign", "change_deadline", "waive"]),
        ("approved", "supervisor", ["reopen"]),
        ("waived", "admin", ["reopen"]),
    ],
)
def test_allowed_actions(status: str, actor_name: str, expected: list[str]) -> None:
    assert allowed_actions(make_item(status), ACTORS[actor_name], TODAY) == expected


def test_allowed_actions_include_extension_decisions_only_when_one_is_pending() -> None:
    item = make_item("in_progress", extension_pending=True, requested_deadline=date(2025, 11, 1))
    supervisor = allowed_actions(item, ACTORS["supervisor"], TODAY)
    assert "grant_extension" in supervisor and "deny_extension" in supervisor
    assert "request_extension" not in allowed_actions(item, ACTORS["staff of A"], TODAY)


def test_checks_run_in_http_order() -> None:
    # Another unit's staff learn nothing about the state: 403, not 409.
    with pytest.raises(Forbidden):
        apply(make_item("approved"), "submit", ACTORS["staff of B"], Payload(), today=TODAY)
    # A state conflict comes before payload errors: 409, not 422.
    with pytest.raises(NotAllowed):
        apply(make_item("assigned"), "reject", ACTORS["supervisor"], Payload(), today=TODAY)
    with pytest.raises(InvalidPayload) as raised:
        apply(make_item(), "fly", ACTORS["supervisor"], Payload(), today=TODAY)
    assert set(raised.value.errors) == {"action"}


def test_staff_without_a_unit_may_do_nothing() -> None:
    with pytest.raises(Forbidden):
        apply(make_item(), "acknowledge", Actor(Role.STAFF), Payload(), today=TODAY)
    assert allowed_actions(make_item(), Actor(Role.STAFF), TODAY) == []


def test_not_allowed_names_the_allowed_actions_and_why() -> None:
    with pytest.raises(NotAllowed) as raised:
        apply(make_item("assigned"), "submit", ACTORS["staff of A"], Payload(), today=TODAY)
    assert raised.value.allowed == ["acknowledge", "return"]
    assert "待签收" in raised.value.reason


def act(item: ItemState, action: str, actor: str, **payload: object) -> ItemState:
    return apply(item, action, ACTORS[actor], Payload(**payload), today=TODAY).item


def test_a_full_walk_through_the_usual_path() -> None:
    item = act(make_item(), "acknowledge", "staff of A")
    item = act(item, "report_progress", "staff of A", values={"t1": 50}, percent=30)
    item = act(item, "submit", "staff of A", note="完成")
    item = act(item, "reject", "supervisor", note="材料不全")
    item = act(item, "report_progress", "staff of A", evidence=["http://x.cn/a"])
    assert item.status == Status.IN_PROGRESS
    item = act(item, "submit", "staff of A", values={"t1": 150, "t2": 10}, percent=100)
    item = act(item, "approve", "admin")
    assert (item.status, item.values, item.percent) == (Status.APPROVED, {"t1": 150, "t2": 10}, 100)
    item = act(item, "reopen", "supervisor", note="复核")
    assert item.status == Status.IN_PROGRESS


def test_return_then_reassign_hands_the_item_to_the_new_unit() -> None:
    item = act(make_item("acknowledged"), "return", "staff of A", note="非本单位职责")
    outcome = apply(
        item, "reassign", ACTORS["supervisor"], Payload(unit_id="B", note="改派"), today=TODAY
    )
    assert outcome.to_status == Status.ASSIGNED
    assert outcome.changes["unit_id"] == ("A", "B")
    assert allowed_actions(outcome.item, ACTORS["staff of B"], TODAY) == ["acknowledge", "return"]
    assert allowed_actions(outcome.item, ACTORS["staff of A"], TODAY) == []


def test_insist_keeps_the_item_with_the_unit() -> None:
    item = act(make_item(), "return", "staff of A", note="非本单位职责")
    item = act(item, "insist", "supervisor", note="属于本单位职责")
    assert (item.status, item.unit_id) == (Status.ASSIGNED, "A")


def test_outcome_records_the_changes_and_the_details() -> None:
    item = make_item("acknowledged", values={"t2": 3})
    outcome = apply(
        item,
        Action.REPORT_PROGRESS,
        ACTORS["staff of A"],
        Payload(note="进展", values={"t1": 40}, percent=25, evidence=["https://a.cn/x"]),
        today=TODAY,
    )
    assert outcome.changes == {
        "status": (Status.ACKNOWLEDGED, Status.IN_PROGRESS),
        "values": ({"t2": 3}, {"t2": 3, "t1": 40}),
        "percent": (None, 25),
    }
    assert outcome.details == {
        "note": "进展",
        "values": {"t1": 40},
        "percent": 25,
        "evidence": ["https://a.cn/x"],
    }
    assert item.status == Status.ACKNOWLEDGED  # the input is untouched


def test_values_keyed_by_text_match_integer_target_ids() -> None:
    item = make_item("in_progress", targets={7: 150.0})
    outcome = apply(
        item, "report_progress", ACTORS["staff of A"], Payload(values={"7": 20}), today=TODAY
    )
    assert outcome.item.values == {7: 20}


# --- extensions and deadlines ------------------------------------------------------------


def test_request_grant_keeps_the_original_deadline() -> None:
    item = act(
        make_item("in_progress"),
        "request_extension",
        "staff of A",
        deadline=date(2025, 10, 31),
        note="协调中",
    )
    assert (item.status, item.extension_pending, item.requested_deadline) == (
        Status.IN_PROGRESS,
        True,
        date(2025, 10, 31),
    )
    outcome = apply(item, "grant_extension", ACTORS["supervisor"], Payload(), today=TODAY)
    assert outcome.item.deadline == date(2025, 10, 31)
    assert outcome.item.original_deadline == DEADLINE
    assert outcome.changes == {
        "deadline": (DEADLINE, date(2025, 10, 31)),
        "extension_pending": (True, False),
        "requested_deadline": (date(2025, 10, 31), None),
    }


def test_a_supervisor_may_grant_a_different_date() -> None:
    item = make_item("in_progress", extension_pending=True, requested_deadline=date(2025, 12, 31))
    item = act(item, "grant_extension", "supervisor", deadline=date(2025, 10, 20), note="给十天")
    assert item.deadline == date(2025, 10, 20)


def test_deny_clears_the_request_and_keeps_the_deadline() -> None:
    item = make_item("in_progress", extension_pending=True, requested_deadline=date(2025, 12, 31))
    item = act(item, "deny_extension", "supervisor", note="不能延期")
    assert (item.deadline, item.extension_pending, item.requested_deadline) == (
        DEADLINE,
        False,
        None,
    )


@pytest.mark.parametrize(
    ("item", "today", "reason"),
    [
        (make_item("in_progress"), date(2025, 10, 11), "时限届满前"),
        (make_item("in_progress", deadline=None), TODAY, "没有时限"),
        (
            make_item("in_progress", extension_pending=True, requested_deadline=date(2025, 11, 1)),
            TODAY,
            "已有延期申请",
        ),
    ],
)
def test_extension_requests_that_are_not_possible_now(
    item: ItemState, today: date, reason: str
) -> None:
    payload = VALID["request_extension"]
    with pytest.raises(NotAllowed) as raised:
        apply(item, "request_extension", ACTORS["staff of A"], payload, today=today)
    assert reason in raised.value.reason
    assert "request_extension" not in raised.value.allowed


def test_an_extension_may_be_requested_on_the_deadline_day() -> None:
    outcome = apply(
        make_item("in_progress"),
        "request_extension",
        ACTORS["staff of A"],
        VALID["request_extension"],
        today=DEADLINE,
    )
    assert outcome.item.extension_pending


def test_change_deadline_moves_both_deadlines() -> None:
    item = act(
        make_item("in_progress"),
        "change_deadline",
        "supervisor",
        deadline=date(2025, 9, 30),
        note="按文件更正",
    )
    assert (item.deadline, item.original_deadline) == (date(2025, 9, 30), date(2025, 9, 30))
    undated = act(
        make_item("assigned", deadline=None, original_deadline=None),
        "change_deadline",
        "admin",
        deadline=date(2026, 6, 30),
        note="补充时限",
    )
    assert undated.deadline == date(2026, 6, 30)


@pytest.mark.parametrize(
    ("status", "action", "actor_name", "payload"),
    [
        ("submitted", "approve", "supervisor", Payload()),
        ("in_progress", "waive", "admin", Payload(note="免办")),
        ("acknowledged", "return", "staff of A", Payload(note="非本单位")),
        ("in_progress", "reassign", "supervisor", Payload(unit_id="B", note="改派")),
    ],
)
def test_a_pending_extension_lapses_when_nobody_is_left_to_grant_it(
    status: str, action: str, actor_name: str, payload: Payload
) -> None:
    item = make_item(status, extension_pending=True, requested_deadline=date(2025, 11, 1))
    outcome = apply(item, action, ACTORS[actor_name], payload, today=TODAY)
    assert (outcome.item.extension_pending, outcome.item.requested_deadline) == (False, None)


def test_a_pending_extension_survives_a_deadline_change() -> None:
    item = make_item("in_progress", extension_pending=True, requested_deadline=date(2025, 11, 1))
    item = act(item, "change_deadline", "supervisor", deadline=date(2025, 10, 20), note="调整")
    assert (item.extension_pending, item.requested_deadline) == (True, date(2025, 11, 1))


# --- payload validation ------------------------------------------------------------------

LONG = "长" * (MAX_NOTE_LENGTH + 1)


@pytest.mark.parametrize(
    ("status", "action", "payload", "fields"),
    [
        ("submitted", "reject", Payload(), {"note"}),
        ("submitted", "reject", Payload(note="   "), {"note"}),
        ("submitted", "reject", Payload(note=LONG), {"note"}),
        ("submitted", "approve", Payload(note=LONG), {"note"}),
        ("submitted", "approve", Payload(note=42), {"note"}),
        ("submitted", "approve", Payload(values={"t1": 1}), {"values"}),
        ("assigned", "acknowledge", Payload(evidence=["https://a.cn"]), {"evidence"}),
        ("in_progress", "report_progress", Payload(), {"note"}),
        ("in_progress", "report_progress", Payload(evidence=["ftp://a.cn/x"]), {"evidence"}),
        ("in_progress", "report_progress", Payload(evidence=["javascript:alert(1)"]), {"evidence"}),
        ("in_progress", "report_progress", Payload(evidence=["https://"]), {"evidence"}),
        ("in_progress", "report_progress", Payload(evidence=["see attachment"]), {"evidence"}),
        ("in_progress", "report_progress", Payload(evidence="https://a.cn"), {"evidence"}),
        ("in_progress", "report_progress", Payload(evidence=[7]), {"evidence"}),
        (
            "in_progress",
            "report_progress",
            Payload(evidence=["https://a.cn"] * (MAX_EVIDENCE + 1)),
            {"evidence"},
        ),
        ("in_progress", "report_progress", Payload(percent=-1), {"percent"}),
        ("in_progress", "report_progress", Payload(percent=100.5), {"percent"}),
        ("in_progress", "report_progress", Payload(percent=float("nan")), {"percent"}),
        ("in_progress", "report_progress", Payload(percent=True), {"percent"}),
        ("in_progress", "report_progress", Payload(percent="50"), {"percent"}),
        ("in_progress", "report_progress", Payload(values={"t9": 1}), {"values"}),
        ("in_progress", "report_progress", Payload(values={"t1": -5}), {"values"}),
        ("in_progress", "report_progress", Payload(values={"t1": "many"}), {"values"}),
        ("in_progress", "report_progress", Payload(values=[("t1", 1)]), {"values"}),
        (
            "in_progress",
            "report_progress",
            Payload(note=LONG, percent=101, evidence=["x"]),
            {"note", "percent", "evidence"},
        ),
        ("in_progress", "request_extension", Payload(note="x"), {"deadline"}),
        ("in_progress", "request_extension", Payload(deadline=date(2025, 11, 1)), {"note"}),
        ("in_progress", "request_extension", Payload(deadline=DEADLINE, note="x"), {"deadline"}),
        (
            "in_progress",
            "request_extension",
            Payload(deadline=datetime(2025, 11, 1, 9), note="x"),
            {"deadline"},
        ),
        ("in_progress", "change_deadline", Payload(deadline=DEADLINE, note="x"), {"deadline"}),
        ("in_progress", "change_deadline", Payload(deadline=date(2026, 1, 1)), {"note"}),
        ("in_progress", "reassign", Payload(unit_id="A", note="x"), {"unit_id"}),
        ("in_progress", "reassign", Payload(note="x"), {"unit_id"}),
        ("returned", "insist", Payload(), {"note"}),
        ("in_progress", "waive", Payload(), {"note"}),
        ("approved", "reopen", Payload(), {"note"}),
        ("assigned", "return", Payload(), {"note"}),
    ],
)
def test_invalid_payloads_name_every_bad_field(
    status: str, action: str, payload: Payload, fields: set[str]
) -> None:
    rule = RULES[Action(action)]
    actor = ACTORS["staff of A"] if Role.STAFF in rule.roles else ACTORS["supervisor"]
    with pytest.raises(InvalidPayload) as raised:
        apply(make_item(status), action, actor, payload, today=TODAY)
    assert set(raised.value.errors) == fields


@pytest.mark.parametrize(
    "payload",
    [
        Payload(note="长" * MAX_NOTE_LENGTH),
        Payload(percent=0),
        Payload(percent=100),
        Payload(percent=55.5),
        Payload(values={"t1": 0, "t2": 12.5}),
        Payload(evidence=["http://a.cn", "https://b.gov.cn/x?y=1#z"]),
        Payload(evidence=["https://a.cn"] * MAX_EVIDENCE),
    ],
)
def test_valid_progress_payloads(payload: Payload) -> None:
    outcome = apply(
        make_item("in_progress"), "report_progress", ACTORS["staff of A"], payload, today=TODAY
    )
    assert outcome.to_status == Status.IN_PROGRESS


def test_grant_needs_a_date_when_the_request_lost_its_own() -> None:
    item = make_item("in_progress", extension_pending=True, requested_deadline=None)
    with pytest.raises(InvalidPayload) as raised:
        apply(item, "grant_extension", ACTORS["supervisor"], Payload(), today=TODAY)
    assert set(raised.value.errors) == {"deadline"}


def test_granting_a_date_not_after_the_current_deadline_is_refused() -> None:
    item = make_item("in_progress", extension_pending=True, requested_deadline=date(2025, 10, 5))
    with pytest.raises(InvalidPayload):
        apply(item, "grant_extension", ACTORS["supervisor"], Payload(), today=TODAY)


# --- recurring periods -------------------------------------------------------------------
