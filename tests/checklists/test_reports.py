"""Report rows, colours as of a date, rewinding history, summaries and scorecards."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from checklists.report_history import Change, change_from_record, rewind
from checklists.report_scorecard import period_bounds, scorecard
from checklists.reports import (
    Grouping,
    ReportItem,
    Tally,
    Timeliness,
    is_overdue,
    overdue_days,
    overdue_report,
    overdue_row,
    overdue_sort_key,
    report_colour,
    summarise,
    timeliness,
)
from checklists.status import Colour, colour
from checklists.workdays import CalendarNotCovered
from checklists.workflow import ItemState, Status

D = date
AS_OF = D(2026, 11, 22)


def state(status: str = "in_progress", **changes: object) -> ItemState:
    base = ItemState(
        status=Status(status),
        unit_id=1,
        deadline=D(2025, 12, 31),
        original_deadline=D(2025, 12, 31),
        assigned_on=D(2025, 1, 1),
    )
    return replace(base, **changes)


def report_item(
    item_id: int = 1, *, unit: int = 1, document: int = 1, **changes: object
) -> ReportItem:
    fields = {"role": "lead"}
    fields |= {k: changes.pop(k) for k in list(changes) if k in ReportItem.__dataclass_fields__}
    return ReportItem(
        item_id=item_id,
        document_id=document,
        document_title=f"文件{document}",
        measure_ref="一、（一）",
        measure_title="建设智慧路口",
        position=item_id,
        unit_name=f"单位{unit}",
        period="",
        state=state(**{"unit_id": unit, **changes}),
        **fields,
    )


# --- colour as of a date, whatever the holiday calendar covers -----------------------


def test_a_far_deadline_in_an_uncovered_year_is_green() -> None:
    far = state(deadline=D(2027, 6, 30), original_deadline=D(2027, 6, 30))
    with pytest.raises(CalendarNotCovered):  # what status.colour alone does
        colour(far, D(2026, 12, 28))
    assert report_colour(far, D(2026, 12, 28)) == Colour.GREEN
    assert report_colour(far, AS_OF) == Colour.GREEN


def test_a_far_deadline_still_turns_yellow_when_behind_on_a_target() -> None:
    behind = state(deadline=D(2027, 12, 31), targets={7: 100.0}, values={7: 1.0})
    assert report_colour(behind, D(2026, 12, 28)) == Colour.YELLOW


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [
        (D(2026, 12, 31), Colour.YELLOW),  # inside the calendar, 3 working days ahead
        # Estimated: 3 working days are left in 2026, then Monday to Friday (1-1 counts).
        (D(2027, 1, 4), Colour.YELLOW),
        (D(2027, 1, 5), Colour.GREEN),
        (D(2027, 2, 5), Colour.GREEN),  # within 2N+30 days, far enough all the same
    ],
)
def test_a_near_deadline_past_the_calendar_is_estimated(deadline: date, expected: Colour) -> None:
    assert report_colour(state(deadline=deadline), D(2026, 12, 28)) == expected


def test_report_colour_agrees_with_status_colour_inside_the_calendar() -> None:
    for deadline in (D(2026, 11, 20), D(2026, 11, 27), D(2026, 11, 30), D(2026, 12, 25)):
        for status in ("assigned", "submitted", "approved", "waived"):
            item = state(status, deadline=deadline)
            assert report_colour(item, AS_OF) == colour(item, AS_OF)
            assert report_colour(item, AS_OF, 10) == colour(item, AS_OF, due_soon_workdays=10)


def test_an_as_of_outside_the_calendar_raises() -> None:
    with pytest.raises(CalendarNotCovered):
        report_colour(state(deadline=D(2027, 3, 1)), D(2027, 2, 20))


def test_overdue_days_without_the_calendar_keep_calendar_days() -> None:
    assert overdue_days(D(2025, 9, 30), D(2025, 10, 9)) == (9, 1)
    assert overdue_days(D(2003, 12, 1), D(2004, 1, 2)) == (32, None)
    assert overdue_days(None, AS_OF) == (0, 0)


# --- rewinding an item to the end of a day ---------------------------------------------

CUTOFF = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 2026-11-23 00:00 in Beijing


def change(hours_after: int, note: str | None = None, **before: object) -> Change:
    at = CUTOFF + timedelta(hours=hours_after)
    on = (at + timedelta(hours=8)).date()
    return Change(at=at, on=on, before=before, progress_note=note)


def test_rewind_takes_the_values_the_earliest_later_change_overwrote() -> None:
    now = report_item(
        status="approved",
        deadline=D(2026, 3, 31),
        unit=2,
        last_progress_on=D(2026, 11, 23),
        last_progress_note="已完成",
    )
    history = [
        change(-3, note="选址完成"),
        change(1, status=Status.IN_PROGRESS, deadline=D(2025, 12, 31)),
        change(2, note="已完成", status=Status.IN_PROGRESS),
        change(3, status=Status.SUBMITTED, unit_id=1),
    ]
    then = rewind(now, history, CUTOFF, {1: "市交通运输局"})
    assert then.state.status == Status.IN_PROGRESS
    assert then.state.deadline == D(2025, 12, 31)
    assert (then.unit_id, then.unit_name) == (1, "市交通运输局")
    assert (then.last_progress_on, then.last_progress_note) == (D(2026, 11, 22), "选址完成")


def test_rewind_without_later_changes_is_the_item_itself() -> None:
    now = report_item(last_progress_note="x")
    assert rewind(now, [change(-2, note="older")], CUTOFF, {}) is now


def test_rewind_revives_an_item_withdrawn_later_and_forgets_later_progress() -> None:
    now = report_item(withdrawn=True, last_progress_note="后来的进展")
    then = rewind(now, [change(1, note="后来的进展"), change(2, withdrawn=False)], CUTOFF, {})
    assert then.withdrawn is False
    assert then.last_progress_note is None and then.last_progress_on is None


def test_a_transitions_audit_record_gives_the_values_it_overwrote() -> None:
    details = {
        "note": "改派",
        "changes": {
            "status": ["in_progress", "assigned"],
            "unit_id": [3, 4],
            "deadline": ["2025-12-31", "2026-03-31"],
            "values": [{"7": 40}, {"7": 80}],
        },
    }
    change = change_from_record(CUTOFF, AS_OF, "reassign", "in_progress", "改派", details)
    assert change.before == {
        "status": Status.IN_PROGRESS,
        "unit_id": 3,
        "deadline": D(2025, 12, 31),
        "values": {7: 40.0},
    }
    assert change.progress_note is None


def test_other_audit_records() -> None:
    revised = change_from_record(
        CUTOFF, AS_OF, "change_deadline", None, "文件修订", {"from": "None", "to": "2026-06-30"}
    )
    assert revised.before == {"deadline": None, "original_deadline": None}
    withdrawn = change_from_record(CUTOFF, AS_OF, "withdraw", None, "删除", {})
    assert withdrawn.before == {"withdrawn": False}
    progress = change_from_record(CUTOFF, AS_OF, "report_progress", "in_progress", "进展", None)
    assert progress.progress_note == "进展"
    assert change_from_record(CUTOFF, AS_OF, "remind", None, None, None).before == {}


# --- on-time rates and summaries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (report_item(status="approved", approved_on=D(2025, 12, 31)), Timeliness.ON_TIME),
        (report_item(status="approved", approved_on=D(2026, 1, 1)), Timeliness.LATE),
        # An extension was granted: the original deadline still judges the unit.
        (
            report_item(status="approved", deadline=D(2026, 3, 31), approved_on=D(2026, 2, 1)),
            Timeliness.LATE,
        ),
        (report_item(status="submitted"), Timeliness.OVERDUE),
        (report_item(deadline=D(2026, 12, 31)), Timeliness.OPEN),
        (report_item(status="waived"), Timeliness.WAIVED),
    ],
)
def test_timeliness(item: ReportItem, expected: Timeliness) -> None:
    assert timeliness(item, report_colour(item.state, AS_OF)) == expected


def test_tally_rates_leave_out_open_and_waived_items() -> None:
    tally = Tally()
    items = [
        report_item(status="approved", approved_on=D(2025, 12, 1)),
        report_item(status="approved", approved_on=D(2026, 1, 10), extensions=1),
        report_item(),  # red
        report_item(status="waived"),
        report_item(deadline=D(2026, 12, 31)),  # green
    ]
    for item in items:
        tally.add(item, report_colour(item.state, AS_OF))
    assert tally.on_time_rate == pytest.approx(1 / 3, abs=1e-4)
    assert tally.average_days_late == 10
    assert tally.as_scorecard() == {
        "due": 5,
        "done_on_time": 1,
        "done_late": 1,
        "overdue": 1,
        "open": 1,
        "waived": 1,
        "extensions_granted": 1,
        "average_days_late": 10.0,
        "on_time_rate": 0.3333,
    }
    assert Tally().on_time_rate is None


def test_summary_counts_add_up_by_unit_and_by_document() -> None:
    items = [
        report_item(1, unit=2, document=1),
        report_item(2, unit=1, document=1, deadline=D(2026, 11, 25)),
        report_item(3, unit=1, document=2, status="approved", approved_on=D(2025, 6, 1)),
        report_item(4, unit=2, document=2, deadline=D(2027, 12, 31)),
        report_item(5, unit=2, document=2, withdrawn=True),
    ]
    summary = summarise(items, AS_OF)
    assert summary["totals"] == {
        "total": 4,
        "red": 1,
        "yellow": 1,
        "green": 1,
        "done": 1,
        "waived": 0,
        "on_time": 1,
        "late": 0,
        "on_time_rate": 0.5,
    }
    for grouping in ("by_unit", "by_document"):
        groups = summary[grouping]
        assert [g["id"] for g in groups] == [1, 2]
        for key in ("total", "red", "yellow", "green", "done", "waived", "on_time", "late"):
            assert sum(g[key] for g in groups) == summary["totals"][key]
    assert summary["by_unit"][0]["name"] == "单位1"


# --- the overdue report --------------------------------------------------------------------


def test_overdue_row_has_codes_labels_and_both_day_counts() -> None:
    item = report_item(
        status="submitted", last_progress_on=D(2026, 1, 5), last_progress_note="=HYPERLINK(1)"
    )
    row = overdue_row(item, AS_OF, Grouping.UNIT)
    assert (row["group_id"], row["group"], row["unit"]) == (1, "单位1", "单位1")
    assert (row["deadline"], row["days_overdue"], row["workdays_overdue"]) == (
        D(2025, 12, 31),
        326,
        219,
    )
    assert (row["status"], row["status_label"]) == ("submitted", "待销号")
    assert (row["colour"], row["colour_label"], row["role_label"]) == ("red", "红", "牵头")
    assert row["last_progress_note"] == "=HYPERLINK(1)"


def test_is_overdue() -> None:
    assert is_overdue(report_item(), AS_OF)
    assert not is_overdue(report_item(deadline=AS_OF), AS_OF)
    assert not is_overdue(report_item(status="approved"), AS_OF)
    assert not is_overdue(report_item(withdrawn=True), AS_OF)
    assert not is_overdue(report_item(deadline=None), AS_OF)


def test_rows_sort_by_unit_and_longest_overdue_or_by_document_order() -> None:
    items = [
        report_item(1, unit=2, deadline=D(2025, 6, 30)),
        report_item(2, unit=1, deadline=D(2025, 12, 31)),
        report_item(3, unit=1, deadline=D(2025, 3, 31), document=2),
    ]
    by_unit = sorted(items, key=overdue_sort_key(Grouping.UNIT))
    assert [i.item_id for i in by_unit] == [3, 2, 1]
    by_document = sorted(items, key=overdue_sort_key(Grouping.DOCUMENT))
    assert [i.item_id for i in by_document] == [1, 2, 3]


def test_overdue_report_puts_each_row_in_its_group() -> None:
    items = [report_item(1, unit=2), report_item(2, unit=1, deadline=D(2027, 1, 1))]
    summary = summarise(items, AS_OF)
    rows = [overdue_row(i, AS_OF, Grouping.UNIT) for i in items if is_overdue(i, AS_OF)]
    report = overdue_report(summary, rows, Grouping.UNIT)
    assert report["overdue"] == 1
    assert [(g["id"], len(g["items"])) for g in report["groups"]] == [(1, 0), (2, 1)]
    assert report["groups"][1]["red"] == 1


# --- scorecards ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "bounds"),
    [
        ("2026", (D(2026, 1, 1), D(2026, 12, 31))),
        ("2026-Q1", (D(2026, 1, 1), D(2026, 3, 31))),
        ("2026-Q4", (D(2026, 10, 1), D(2026, 12, 31))),
        ("2024-02", (D(2024, 2, 1), D(2024, 2, 29))),
    ],
)
def test_period_bounds(label: str, bounds: tuple[date, date]) -> None:
    assert period_bounds(label) == bounds


@pytest.mark.parametrize("label", ["2026-Q5", "2026-13", "26", "0000", "9999-Q4", "2026-q1", ""])
def test_bad_periods(label: str) -> None:
    with pytest.raises(ValueError, match=r"period|year"):
        period_bounds(label)


def test_scorecard_counts_items_due_in_the_period_lead_and_co_apart() -> None:
    q4 = D(2025, 12, 31)
    items = [
        report_item(1, unit=1, status="approved", approved_on=D(2025, 12, 20)),
        report_item(2, unit=1, status="approved", approved_on=D(2026, 1, 4), role="co"),
        report_item(
            3, unit=1, role="co", deadline=D(2026, 3, 31), original_deadline=q4, extensions=1
        ),
        report_item(4, unit=2, deadline=D(2025, 9, 30), original_deadline=D(2025, 9, 30)),
        report_item(5, unit=2, status="waived"),
    ]
    card = scorecard(items, "2025-Q4", AS_OF)
    assert (card["start"], card["end"]) == (D(2025, 10, 1), q4)
    first, second = card["units"]
    assert first["lead"] == {
        "due": 1,
        "done_on_time": 1,
        "done_late": 0,
        "overdue": 0,
        "open": 0,
        "waived": 0,
        "extensions_granted": 0,
        "average_days_late": None,
        "on_time_rate": 1.0,
    }
    # The extended item is still red: its new deadline (2026-03-31) has passed as well.
    assert (first["co"]["due"], first["co"]["done_late"], first["co"]["overdue"]) == (2, 1, 1)
    assert first["co"]["extensions_granted"] == 1 and first["co"]["average_days_late"] == 4
    assert second["all"]["due"] == 1 and second["all"]["waived"] == 1  # item 4 is due in Q3
    assert card["totals"]["all"]["due"] == 4
