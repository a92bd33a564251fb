"""Supervisor report speed: the summary and the overdue CSV over 100k and 1M items.

Fills a fresh database (SQLite file; PostgreSQL with `--postgres URL`, in a schema of
its own that is dropped afterwards) with bench/generate.py's realistic volumes as of the
report's day: 1000 documents, 2000 units, every status, extensions, numeric targets, and
each item's history of audit records and events up to that day, including the changes of
the last week (so that a report as of a week ago has history to rewind). Then times:

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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.generate import populate
from bench.harness import run_sizes, timed
from service.db import Database
from service.services import reports
from service.services.reports import ReportRequest

RESULTS = Path(__file__).resolve().parent / "results" / "reports.json"
TZ = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 11, 22)
WEEK_AGO = AS_OF - timedelta(days=7)
NOW = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 2, tzinfo=UTC)  # 10:00 in Beijing


def read_csv(database: Database, request: ReportRequest) -> tuple[int, int]:
    rows = size = 0
    for chunk in reports.overdue_csv(database, request):
        size += len(chunk.encode("utf-8"))
        rows += chunk.count("\r\n")
    return rows - 1, size


def measure(database: Database, items: int, xlsx_up_to: int) -> dict[str, Any]:
    request = ReportRequest(as_of=AS_OF, tz=TZ)
    figures: dict[str, Any] = {"items": items}
    figures["fill_s"], figures["rows"] = timed(lambda: populate(database, items=items, now=NOW))
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument("--xlsx-up-to", type=int, default=100_000)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"python": platform.python_version(), "as_of": str(AS_OF)}
    run_sizes(
        args.items,
        args.postgres,
        lambda db, n: measure(db, n, args.xlsx_up_to),
        result,
        RESULTS,
    )
    return result


if __name__ == "__main__":
    main()
