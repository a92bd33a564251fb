"""Supervisor report speed: the summary and the overdue CSV over 100k and 1M items.

Fills a fresh database by bulk insert (SQLite file; PostgreSQL with `--postgres URL`,
in a schema of its own that is dropped afterwards) with items spread over 200 units and
50 documents: every status, deadlines from 2024 to 2027, extensions, sign-offs in the
audit log, progress notes, numeric targets, and 1% of the items changed during the last
week (so that a report as of a week ago has history to rewind). Then times:

- the summary as of today, and as of a week ago (rewinding the changes since);
- the overdue CSV export, read to the end as a client would (rows, bytes);
- the overdue XLSX export, up to `--xlsx-up-to` items.

    python -m bench.reports [--items 100000 1000000] [--postgres URL] [--xlsx-up-to 100000]

Prints the figures and writes them to bench/results/reports.json.
"""

from __future__ import annotations

import argparse
import io
import platform
import resource
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.harness import bulk_insert, run_sizes, timed
from service.db import Database
from service.models import AuditRecord, Document, Item, Measure, Target, Unit
from service.services import reports
from service.services.reports import ReportRequest

RESULTS = Path(__file__).resolve().parent / "results" / "reports.json"
TZ = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 11, 22)
WEEK_AGO = AS_OF - timedelta(days=7)
UNITS, DOCUMENTS, ITEMS_PER_MEASURE = 200, 50, 4
STATUSES = ["assigned"] * 8 + ["in_progress"] * 5 + ["submitted"] + ["approved"] * 5 + ["waived"]


def moment(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def fill(database: Database, items: int) -> dict[str, int]:
    """The directory, documents, measures, targets, items and their audit records."""
    created = moment(date(2024, 1, 2))
    measures = items // ITEMS_PER_MEASURE
    bulk_insert(
        database,
        Unit.__table__,
        (
            {
                "id": n,
                "name": f"测试单位{n:03d}",
                "name_key": f"测试单位{n:03d}",
                "is_group": False,
                "confirmed": True,
                "created_at": created,
            }
            for n in range(1, UNITS + 1)
        ),
    )
    bulk_insert(
        database,
        Document.__table__,
        (
            {
                "id": n,
                "title": f"关于推进第{n}项重点工作的实施方案（2024-2027年）",
                "title_key": f"doc{n}",
                "content_hash": f"{n:064d}",
                "text": "",
                "revision": 1,
                "created_at": created,
                "updated_at": created,
            }
            for n in range(1, DOCUMENTS + 1)
        ),
    )
    bulk_insert(
        database,
        Measure.__table__,
        (
            {
                "id": n,
                "document_id": n % DOCUMENTS + 1,
                "position": n,
                "ref": f"{n % 9 + 1}.",
                "title": f"落实第{n}项措施",
                "text": "",
                "joint": False,
                "withdrawn": False,
            }
            for n in range(1, measures + 1)
        ),
    )
    bulk_insert(
        database,
        Target.__table__,
        (
            {
                "id": n // 10,
                "measure_id": n,
                "position": 0,
                "text": "不少于100个",
                "value": 100.0,
                "unit": "个",
                "comparator": ">=",
            }
            for n in range(10, measures + 1, 10)
        ),
    )
    bulk_insert(database, Item.__table__, (item_row(n) for n in range(1, items + 1)))
    bulk_insert(database, AuditRecord.__table__, audit_rows(items))
    return {"units": UNITS, "documents": DOCUMENTS, "measures": measures, "items": items}


def deadline_of(n: int) -> date:
    return date(2024, 3, 31) + timedelta(days=n * 37 % 1370)


def item_row(n: int) -> dict[str, Any]:
    measure = (n - 1) // ITEMS_PER_MEASURE + 1
    status = STATUSES[n % 20]
    original = deadline_of(n)
    extended = n % 10 == 3
    progressed = status in ("in_progress", "submitted", "approved")
    created = moment(date(2024, 1, 2) + timedelta(days=n % 500))
    return {
        "id": n,
        "measure_id": measure,
        "unit_id": n * 7 % UNITS + 1,
        "role": "lead" if n % ITEMS_PER_MEASURE == 1 else "co",
        "implicit": False,
        "period": "",
        "status": status,
        "deadline": original + timedelta(days=90) if extended else original,
        "original_deadline": original,
        "assigned_on": created.date(),
        "percent": 0,
        "target_values": {str(measure // 10): n % 150} if measure % 10 == 0 else {},
        "extension_pending": False,
        "last_progress_at": created + timedelta(days=30) if progressed else None,
        "last_progress_note": f"第{n}项：已完成阶段性任务，正在推进" if progressed else None,
        "version": 1,
        "withdrawn": n % 500 == 0,
        "created_at": created,
        "updated_at": created,
    }


def audit_rows(items: int) -> Iterator[dict[str, Any]]:
    """A sign-off for every approved item, a grant per extension, and last week's changes."""
    base = {
        "actor": "bench",
        "actor_role": "supervisor",
        "entity": "item",
        "details": {},
        "from_status": None,
        "to_status": None,
        "note": None,
    }
    for n in range(1, items + 1):
        row = {**base, "entity_id": n, "item_id": n}
        status, original = STATUSES[n % 20], deadline_of(n)
        if n % 10 == 3:
            granted = min(original - timedelta(days=10), WEEK_AGO)
            yield {**row, "at": moment(granted), "action": "grant_extension"}
        if status == "approved":
            signed = original + timedelta(days=n % 30 - 20)
            yield {
                **row,
                "at": moment(min(signed, WEEK_AGO)),
                "action": "approve",
                "from_status": "submitted",
                "to_status": "approved",
            }
        if n % 100 == 7:
            note = "本周进展：完成第二阶段"
            yield {
                **row,
                "at": moment(AS_OF - timedelta(days=3)),
                "action": "report_progress",
                "from_status": status,
                "to_status": status,
                "note": note,
                "details": {"note": note, "changes": {}},
            }


def read_csv(database: Database, request: ReportRequest) -> tuple[int, int]:
    rows = size = 0
    for chunk in reports.overdue_csv(database, request):
        size += len(chunk.encode("utf-8"))
        rows += chunk.count("\r\n")
    return rows - 1, size


def measure(database: Database, items: int, xlsx_up_to: int) -> dict[str, Any]:
    request = ReportRequest(as_of=AS_OF, tz=TZ)
    figures: dict[str, Any] = {"items": items}
    figures["fill_s"], _ = timed(lambda: fill(database, items))
    figures["summary_s"], summary = timed(lambda: reports.summary_report(database, request))
    figures["totals"] = summary["totals"]
    past = ReportRequest(as_of=WEEK_AGO, tz=TZ)
    figures["summary_week_ago_s"], _ = timed(lambda: reports.summary_report(database, past))
    figures["csv_s"], (rows, size) = timed(lambda: read_csv(database, request))
    figures["csv_rows"], figures["csv_mb"] = rows, round(size / 1e6, 1)
    if items <= xlsx_up_to:
        target = io.BytesIO()
        figures["xlsx_s"], _ = timed(lambda: reports.overdue_xlsx(database, request, target))
        figures["xlsx_mb"] = round(len(target.getvalue()) / 1e6, 1)
    figures["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--xlsx-up-to", type=int, default=100_000)
    args = parser.parse_args()
    result: dict[str, Any] = {"python": platform.python_version(), "as_of": str(AS_OF)}
    run_sizes(
        args.items,
        args.postgres,
        lambda db, n: measure(db, n, args.xlsx_up_to),
        result,
        RESULTS,
    )


if __name__ == "__main__":
    main()
