"""CloudEvents envelopes and subscription matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from webhooks import events as ev
from webhooks.events import SubscriptionFilter


def test_envelope_has_the_cloudevents_required_and_optional_attributes(event_factory):
    event = event_factory(42)
    assert event["specversion"] == "1.0"
    assert event["datacontenttype"] == "application/json"
    assert {k: event[k] for k in ("id", "source", "type", "subject")} == {
        "id": "evt-42",
        "source": "/duban",
        "type": "item.overdue",
        "subject": "items/42",
    }
    assert event["data"]["unit"] == {"id": "7", "name": "省科学技术厅", "role": "lead"}
    assert event["data"]["deadline"] == "2025-06-30"
    assert event["data"]["before"] == {"status": "in_progress"}


def test_time_is_rfc3339_utc_whatever_the_input_zone():
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2025, 3, 3, 9, 30, tzinfo=shanghai)
    assert ev.format_time(moment) == "2025-03-03T01:30:00Z"
    assert ev.format_time(datetime(2025, 1, 1, 0, 0, 0, 250, tzinfo=UTC)) == (
        "2025-01-01T00:00:00.000250Z"
    )


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        ev.build_event(
            "item.assigned", "items/1", {}, id="1", time=datetime(2025, 1, 1), source="/s"
        )


def test_every_event_type_has_a_chinese_label():
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in ev.label(t)) for t in ev.EVENT_TYPES)
    assert ev.label("unknown.type") == "unknown.type"


@pytest.mark.parametrize(
    ("wanted", "event_type", "unit", "document", "expected"),
    [
        (SubscriptionFilter(), "item.overdue", 7, 3, True),
        (SubscriptionFilter(event_types=("*",)), "document.imported", 7, 3, True),
        (SubscriptionFilter(event_types=("item.*",)), "item.due_soon", 7, 3, True),
        (SubscriptionFilter(event_types=("item.*",)), "document.imported", 7, 3, False),
        (SubscriptionFilter(event_types=("item.overdue",)), "item.overdue", 7, 3, True),
        (SubscriptionFilter(event_types=("item.overdue",)), "item.due_soon", 7, 3, False),
        (SubscriptionFilter(units=("7",)), "item.overdue", 7, 3, True),
        (SubscriptionFilter(units=("8",)), "item.overdue", 7, 3, False),
        (SubscriptionFilter(documents=("3",)), "item.overdue", 7, 3, True),
        (SubscriptionFilter(documents=("4",)), "item.overdue", 7, 3, False),
        (SubscriptionFilter(("item.*",), ("7",), ("3",)), "item.approved", 7, 3, True),
    ],
)
def test_matching(event_factory, wanted, event_type, unit, document, expected):
    event = event_factory(1, event_type, unit_id=unit, document_id=document)
    assert ev.matches(wanted, event) is expected


def test_unit_restricted_subscription_skips_events_without_a_unit():
    disabled = ev.build_event(
        ev.SUBSCRIPTION_DISABLED,
        "subscriptions/5",
        {"subscription": {"id": "5"}},
        id="e1",
        time=datetime(2025, 1, 1, tzinfo=UTC),
        source="/duban",
    )
    assert ev.matches(SubscriptionFilter(), disabled)
    assert not ev.matches(SubscriptionFilter(units=("7",)), disabled)


@pytest.mark.parametrize(
    ("pattern", "valid"),
    [
        ("*", True),
        ("item.*", True),
        ("item.overdue", True),
        ("subscription.*", True),
        ("item.overdu", False),
        ("nothing.*", False),
        ("item", False),
        ("", False),
    ],
)
def test_pattern_validation(pattern, valid):
    assert ev.is_valid_pattern(pattern) is valid
