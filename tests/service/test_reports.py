"""Supervisor reports over HTTP: scope, formats, and what the report said on an earlier day."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from checklists.report_files import OVERDUE_COLUMNS, sheet_name, summary_columns
from service.clock import FixedClock
from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.documents import ImportRequest, import_document
from tests.service.conftest import PLAN, Tokens

NOTE = '=HYPERLINK("http://x","y")'
# Monday 2026-11-23, 10:00 in Beijing: the changes the past reports must not see.
MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def plan(database: Database, clock: FixedClock, tokens: Tokens) -> None:
    import_document(
        database,
        ImportRequest(PLAN.encode(), "plan.txt"),
        actor=CLI_ACTOR,
        now=clock.now(),
        today=date(2026, 11, 20),
        max_bytes=1_000_000,
    )


def report(client: FlaskClient, tokens: Tokens, path: str, who: str = "supervisor") -> Any:
    response = client.get(f"/api/v1/reports/{path}", headers=tokens.header(who))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json() if response.is_json else response


def item(client: FlaskClient, tokens: Tokens, unit: str, title: str) -> dict[str, Any]:
    listed = client.get("/api/v1/items", headers=tokens.header("supervisor")).get_json()["items"]
    return next(i for i in listed if i["unit"]["name"] == unit and title in i["measure"]["title"])


def act(client: FlaskClient, tokens: Tokens, who: str, item_id: int, action: str, **fields: Any):
    current = client.get(f"/api/v1/items/{item_id}", headers=tokens.header("supervisor"))
    response = client.post(
        f"/api/v1/items/{item_id}/transitions",
        json={"action": action, **fields},
        headers={**tokens.header(who), "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200, (action, response.get_json())
    return response.get_json()


def test_summary_of_the_plan(client, tokens, plan) -> None:
    summary = report(client, tokens, "summary?as_of=2026-11-22")
    # 智慧路口 (two units) was due by the end of 2025; the rest by the end of 2026.
    assert summary["totals"] == {
        "total": 7,
        "red": 2,
        "yellow": 0,
        "green": 5,
        "done": 0,
        "waived": 0,
        "on_time": 0,
        "late": 0,
        "on_time_rate": 0.0,
    }
    for grouping in ("by_unit", "by_document"):
        assert sum(g["total"] for g in summary[grouping]) == 7
        assert sum(g["red"] for g in summary[grouping]) == 2


def test_due_soon_window_is_a_parameter(client, tokens, plan) -> None:
    near = report(client, tokens, "summary?as_of=2026-12-24&due_soon_days=5")["totals"]
    assert (near["yellow"], near["green"]) == (5, 0)
    assert (
        report(client, tokens, "summary?as_of=2026-12-24&due_soon_days=1")["totals"]["green"] == 5
    )


def test_overdue_report_by_unit(client, tokens, plan) -> None:
    body = report(client, tokens, "overdue?as_of=2026-11-22")
    assert body["overdue"] == 2 and body["group_by"] == "unit"
    rows = [row for group in body["groups"] for row in group["items"]]
    assert {(r["unit"], r["role"], r["role_label"]) for r in rows} == {
        ("市交通运输局", "lead", "牵头"),
        ("市公安局", "co", "配合"),
    }
    first = rows[0]
    assert first["deadline"] == "2025-12-31"
    assert (first["days_overdue"], first["workdays_overdue"]) == (326, 219)
    assert first["measure_ref"] and first["document"].startswith("某市推进智能网联汽车")
    assert (first["status"], first["colour"]) == ("assigned", "red")
    for group in body["groups"]:
        assert group["red"] == len(group["items"])


def test_staff_see_only_their_own_unit(client, tokens, plan) -> None:
    mine = report(client, tokens, "overdue?as_of=2026-11-22", who="staff_a")
    assert [g["name"] for g in mine["groups"]] == ["市交通运输局"]
    assert mine["totals"]["total"] == 1
    theirs = client.get("/api/v1/units", headers=tokens.header("supervisor")).get_json()
    other = next(u["id"] for u in theirs if u["name"] == "市财政局")
    refused = client.get(f"/api/v1/reports/summary?unit={other}", headers=tokens.header("staff_a"))
    assert refused.status_code == 403
    assert refused.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("overdue?as_of=2031-01-01", 422, "as_of"),
        ("overdue?as_of=2026-13-01", 422, "as_of"),
        ("overdue?group_by=measure", 422, "group_by"),
        ("overdue?format=pdf", 422, "format"),
        ("summary?unit=99999", 404, "unit"),
        ("summary?document=99999", 404, "document"),
        ("scorecard?period=2026-Q5", 422, "period"),
        ("scorecard?period=9999-Q4", 422, "period"),
        ("scorecard", 422, "period"),
    ],
)
def test_bad_requests_are_problems(client, tokens, plan, path, status, field) -> None:
    response = client.get(f"/api/v1/reports/{path}", headers=tokens.header("supervisor"))
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_reports_need_a_token(client, plan) -> None:
    assert client.get("/api/v1/reports/summary").status_code == 401


def test_a_today_outside_the_calendar_is_503(client, tokens, plan, clock) -> None:
    clock.set(datetime(2031, 3, 2, 2, 0, tzinfo=UTC))
    response = client.get("/api/v1/reports/summary", headers=tokens.header("supervisor"))
    assert response.status_code == 503


def progress_note_on_roads(client: FlaskClient, tokens: Tokens) -> None:
    roads = item(client, tokens, "市交通运输局", "智慧路口")["id"]
    act(client, tokens, "staff_a", roads, "acknowledge")
    act(client, tokens, "staff_a", roads, "report_progress", note=NOTE)


def test_csv_streams_with_a_bom_and_a_chinese_filename(client, tokens, plan) -> None:
    progress_note_on_roads(client, tokens)
    response = client.get(
        "/api/v1/reports/overdue?as_of=2026-11-22&format=csv", headers=tokens.header("supervisor")
    )
    assert response.status_code == 200 and response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="overdue-2026-11-22.csv"; ')
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == "督办逾期事项_2026-11-22.csv"
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert {r["最近进展"] for r in rows} == {"'" + NOTE, ""}


def test_xlsx_cells_equal_the_json_report(client, tokens, plan) -> None:
    progress_note_on_roads(client, tokens)
    body = report(client, tokens, "overdue?as_of=2026-11-22&group_by=document")
    response = report(client, tokens, "overdue?as_of=2026-11-22&group_by=document&format=xlsx")
    assert response.content_type.startswith("application/vnd.openxmlformats")
    assert_workbook_matches(response.get_data(), body)
    note_cells = [
        cell
        for sheet in load_workbook(io.BytesIO(response.get_data())).worksheets[1:]
        for row in sheet.iter_rows(min_row=2)
        for cell in row
        if cell.value == NOTE
    ]
    assert len(note_cells) == 1 and note_cells[0].data_type == "s"


def assert_workbook_matches(data: bytes, body: dict[str, Any]) -> None:
    """The summary sheet holds every group and the total; each group's sheet its rows."""
    book = load_workbook(io.BytesIO(data))
    summary_sheet, *group_sheets = book.worksheets
    assert summary_sheet.title == "汇总" and summary_sheet.freeze_panes == "A2"
    expected = [*body["groups"], {"name": "合计", **body["totals"]}]
    assert sheet_rows(summary_sheet, summary_columns(body["group_by"])) == [
        {c.key: g[c.key] for c in summary_columns(body["group_by"])} for g in expected
    ]
    with_rows = [g for g in body["groups"] if g["items"]]
    taken = {"汇总"}
    assert [s.title for s in group_sheets] == [sheet_name(g["name"], taken) for g in with_rows]
    for sheet, group in zip(group_sheets, with_rows, strict=True):
        assert [c.value for c in sheet[1]] == [c.header for c in OVERDUE_COLUMNS]
        assert sheet_rows(sheet, OVERDUE_COLUMNS) == [
            {c.key: row[c.key] for c in OVERDUE_COLUMNS} for row in group["items"]
        ]


def sheet_rows(sheet: Any, columns: Any) -> list[dict[str, Any]]:
    """Rows below the header as JSON would say them: dates as ISO text."""
    return [
        {
            column.key: value.date().isoformat() if isinstance(value, datetime) else value
            for column, value in zip(columns, row, strict=True)
        }
        for row in sheet.iter_rows(min_row=2, values_only=True)
    ]


def test_summary_and_scorecard_files(client, tokens, plan) -> None:
    summary = report(client, tokens, "summary?as_of=2026-11-22&format=xlsx")
    book = load_workbook(io.BytesIO(summary.get_data()))
    assert book.sheetnames == ["按单位", "按文件"]
    assert book["按文件"].cell(row=book["按文件"].max_row, column=1).value == "合计"
    card = report(client, tokens, "scorecard?period=2025&as_of=2026-11-22&format=csv")
    lines = card.get_data().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("责任单位,牵头/配合,应办结,按时办结,逾期办结,逾期未办结")
    assert "单位考核_2025.csv" in unquote(card.headers["Content-Disposition"])
    sheet = report(client, tokens, "scorecard?period=2025&format=xlsx")
    assert load_workbook(io.BytesIO(sheet.get_data())).sheetnames == ["单位考核 2025"]


def changes_on_monday(client, tokens, clock) -> None:
    """Sign one item off (late), move a deadline, reassign, extend, waive, and re-import."""
    clock.set(MONDAY)
    roads = item(client, tokens, "市交通运输局", "智慧路口")["id"]
    act(client, tokens, "staff_a", roads, "acknowledge")
    act(client, tokens, "staff_a", roads, "report_progress", note="已完成选址")
    act(client, tokens, "staff_a", roads, "submit", note="申请办结")
    act(client, tokens, "supervisor", roads, "approve")
    police = item(client, tokens, "市公安局", "智慧路口")["id"]
    act(client, tokens, "supervisor", police, "change_deadline", deadline="2027-06-30", note="调整")
    money = item(client, tokens, "市财政局", "资金保障")["id"]
    act(client, tokens, "staff_b", money, "acknowledge")
    act(client, tokens, "staff_b", money, "request_extension", deadline="2027-03-31", note="延")
    act(client, tokens, "supervisor", money, "grant_extension")
    roads_unit = item(client, tokens, "市交通运输局", "智慧路口")["unit_id"]
    reform = item(client, tokens, "市发展改革委", "资金保障")["id"]
    act(client, tokens, "supervisor", reform, "reassign", unit_id=roads_unit, note="改派")
    publicity = item(client, tokens, "市委宣传部", "宣传引导")["id"]
    act(client, tokens, "supervisor", publicity, "waive", note="免办")


def test_a_past_as_of_reproduces_what_the_report_said_then(client, tokens, plan, clock) -> None:
    paths = [
        "summary?as_of=2026-11-22",
        "overdue?as_of=2026-11-22",
        "overdue?as_of=2026-11-22&group_by=document",
        "scorecard?period=2025&as_of=2026-11-22",
        "scorecard?period=2026&as_of=2026-11-22",
    ]
    then = {path: report(client, tokens, path) for path in paths}
    csv_then = report(client, tokens, "overdue?as_of=2026-11-22&format=csv").get_data()
    staff_then = report(client, tokens, "summary?as_of=2026-11-22", who="staff_b")
    changes_on_monday(client, tokens, clock)
    assert {path: report(client, tokens, path) for path in paths} == then
    assert report(client, tokens, "overdue?as_of=2026-11-22&format=csv").get_data() == csv_then
    assert report(client, tokens, "summary?as_of=2026-11-22", who="staff_b") == staff_then


def test_as_of_the_day_of_the_changes(client, tokens, plan, clock) -> None:
    changes_on_monday(client, tokens, clock)
    totals = report(client, tokens, "summary?as_of=2026-11-23")["totals"]
    assert totals == {
        "total": 7,
        "red": 0,
        "yellow": 0,
        "green": 5,
        "done": 1,
        "waived": 1,
        "on_time": 0,
        "late": 1,
        "on_time_rate": 0.0,
    }
    by_unit = {g["name"]: g["total"] for g in report(client, tokens, "summary")["by_unit"]}
    assert by_unit["市交通运输局"] == 2 and "市发展改革委" not in by_unit
    assert report(client, tokens, "summary?as_of=2026-11-19")["totals"]["total"] == 0
    card = report(client, tokens, "scorecard?period=2025&as_of=2026-11-23")
    assert [u["name"] for u in card["units"]] == ["市交通运输局"]  # 公安局's deadline moved
    lead = card["units"][0]["lead"]
    assert (lead["due"], lead["done_late"], lead["average_days_late"]) == (1, 1, 327.0)
    money = report(client, tokens, "scorecard?period=2026&as_of=2026-11-23")
    finance = next(u for u in money["units"] if u["name"] == "市财政局")
    assert finance["all"]["extensions_granted"] == 1 and finance["all"]["open"] == 1
    earlier = report(client, tokens, "scorecard?period=2025&as_of=2026-11-22")
    assert {u["name"] for u in earlier["units"]} == {"市交通运输局", "市公安局"}


def test_a_revision_adds_and_withdraws_items_from_its_day_on(
    client, tokens, plan, database, clock
) -> None:
    clock.set(MONDAY)
    publicity = "（一）加强宣传引导。营造良好氛围。（市委宣传部牵头，各相关单位按职责分工负责）\n"
    assert publicity in PLAN
    added = "（三）新增一项。到2025年底前完成。（责任单位：市交通运输局）\n"
    revised = PLAN.replace(publicity, "") + added
    outcome = import_document(
        database,
        ImportRequest(revised.encode(), "plan.txt"),
        actor=CLI_ACTOR,
        now=clock.now(),
        today=date(2026, 11, 23),
        max_bytes=1_000_000,
    )
    assert outcome.outcome == "revised"
    then = report(client, tokens, "summary?as_of=2026-11-22")["totals"]
    now = report(client, tokens, "summary?as_of=2026-11-23")["totals"]
    assert (then["total"], then["red"]) == (7, 2)
    assert (now["total"], now["red"]) == (6, 3)
    overdue_then = report(client, tokens, "overdue?as_of=2026-11-22")
    assert overdue_then["overdue"] == 2
