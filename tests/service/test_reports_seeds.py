"""The seeds, imported with no progress reported: what the 督查室 sees on 2026-11-22."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.clock import FixedClock
from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.documents import ImportRequest, import_document
from tests.service.conftest import Tokens
from tests.service.test_reports import MONDAY, NOTE, act, assert_workbook_matches, report

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
ZHEJIANG = "000_ed500cde5168f2b7.txt"

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds not beside the repo")


@pytest.fixture
def seeds(database: Database, clock: FixedClock, tokens: Tokens) -> dict[str, Any]:
    """Every seed; the Zhejiang 若干意见 given a 2027 deadline, as its targets run to 2027."""
    reports = {}
    for path in sorted(SEEDS.glob("*.txt")):
        deadline = date(2027, 12, 31) if path.name == ZHEJIANG else None
        reports[path.name] = import_document(
            database,
            ImportRequest(path.read_bytes(), path.name, default_deadline=deadline),
            actor=CLI_ACTOR,
            now=clock.now(),
            today=date(2026, 11, 20),
            max_bytes=10_000_000,
        )
    return reports


def ended_in_2025(client: FlaskClient, tokens: Tokens) -> set[int]:
    documents = client.get("/api/v1/documents", headers=tokens.header("supervisor")).get_json()
    return {d["id"] for d in documents if d["period_end"] == 2025}


def test_plans_ended_in_2025_are_red_and_zhejiang_2027_is_green(client, tokens, seeds) -> None:
    summary = report(client, tokens, "summary?as_of=2026-11-22")
    totals = summary["totals"]
    by_document = {g["id"]: g for g in summary["by_document"]}
    ended = ended_in_2025(client, tokens)
    assert len(ended) == 3
    for document_id in ended:
        assert by_document[document_id]["red"] == by_document[document_id]["total"] > 0
    zhejiang = by_document[seeds[ZHEJIANG].document_id]
    assert zhejiang["green"] == zhejiang["total"] == seeds[ZHEJIANG].items > 0
    assert totals["total"] == sum(s.items for s in seeds.values())
    assert totals["red"] == sum(by_document[d]["total"] for d in ended)
    colours = ("red", "yellow", "green", "done", "waived")
    assert sum(totals[c] for c in colours) == totals["total"]
    for grouping in ("by_unit", "by_document"):
        for key in ("total", *colours):
            assert sum(g[key] for g in summary[grouping]) == totals[key], (grouping, key)

    overdue = report(client, tokens, "overdue?as_of=2026-11-22&group_by=document")
    assert overdue["overdue"] == totals["red"]
    assert {g["id"] for g in overdue["groups"] if g["items"]} == ended
    rows = [row for group in overdue["groups"] for row in group["items"]]
    assert all(row["deadline"] <= "2025-12-31" and row["colour"] == "red" for row in rows)
    assert all(row["days_overdue"] >= 326 and row["workdays_overdue"] >= 219 for row in rows)
    assert len({row["item_id"] for row in rows}) == len(rows)

    by_unit = report(client, tokens, "overdue?as_of=2026-11-22")
    assert by_unit["overdue"] == overdue["overdue"]
    for group in by_unit["groups"]:
        assert group["red"] == len(group["items"])
        assert all(row["unit_id"] == group["id"] for row in group["items"])

    text = report(client, tokens, "overdue?as_of=2026-11-22&format=csv").get_data()
    assert len(list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))) == totals["red"]


def test_seed_xlsx_equals_the_json_report(client, tokens, seeds) -> None:
    # One overdue seed item of unit A (Shenzhen's 市交通运输局) gets a hostile-looking note.
    overdue = report(client, tokens, "overdue?as_of=2026-11-22")
    rows = [row for group in overdue["groups"] for row in group["items"]]
    item_id = next(row["item_id"] for row in rows if row["unit"] == tokens.unit_a)
    act(client, tokens, "staff_a", item_id, "acknowledge")
    act(client, tokens, "staff_a", item_id, "report_progress", note=NOTE)
    for group_by in ("unit", "document"):
        body = report(client, tokens, f"overdue?group_by={group_by}")
        workbook = report(client, tokens, f"overdue?group_by={group_by}&format=xlsx")
        assert_workbook_matches(workbook.get_data(), body)
        notes = [r for g in body["groups"] for r in g["items"] if r["last_progress_note"]]
        assert [r["last_progress_note"] for r in notes] == [NOTE]


def test_friday_report_survives_mondays_changes(client, tokens, seeds, clock) -> None:
    """Changed items are rewound and merged back in place among the unchanged ones."""
    paths = [
        "overdue?as_of=2026-11-22",
        "overdue?as_of=2026-11-22&group_by=document",
        "summary?as_of=2026-11-22",
        "scorecard?period=2025&as_of=2026-11-22",
    ]
    friday = {path: report(client, tokens, path) for path in paths}
    csv_friday = report(client, tokens, "overdue?as_of=2026-11-22&format=csv").get_data()
    rows = [row for group in friday[paths[0]]["groups"] for row in group["items"]]
    units = client.get("/api/v1/units", headers=tokens.header("supervisor")).get_json()
    last_unit = max(u["id"] for u in units)
    clock.set(MONDAY)
    moved = next(r for r in rows if r["unit_id"] not in (last_unit,) and r["role"] == "co")
    act(client, tokens, "supervisor", moved["item_id"], "reassign", unit_id=last_unit, note="改派")
    act(client, tokens, "supervisor", rows[len(rows) // 2]["item_id"], "waive", note="免办")
    act(
        client,
        tokens,
        "supervisor",
        rows[-1]["item_id"],
        "change_deadline",
        deadline="2026-12-31",
        note="延至年底",
    )
    monday = report(client, tokens, "overdue?as_of=2026-11-23")
    assert monday["overdue"] == friday[paths[0]]["overdue"] - 2  # the reassigned one stays
    assert {path: report(client, tokens, path) for path in paths} == friday
    assert report(client, tokens, "overdue?as_of=2026-11-22&format=csv").get_data() == csv_friday
