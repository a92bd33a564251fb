"""Reminder sweep cost: a fixed number of due items among 10k, 100k and 1M.

Fills a fresh database by bulk insert (SQLite file; PostgreSQL with `--postgres URL`, in a
schema of its own that is dropped afterwards) with items spread over 200 units and 20
documents. `--due` of them (default 1000) have a reminder due at the sweep's moment; the
rest are open with their next reminder weeks ahead, or closed with none. Then times:

- the preview at that moment (read-only), and the sweep that sends the due reminders;
- a second sweep at the same moment, which finds nothing to do.

If the sweep reads only the due items (the indexed `Item.next_reminder_at` range), its
time stays flat while the total grows.

    python -m bench.reminders [--items 10000 100000 1000000] [--due 1000] [--postgres URL]

Prints the figures and writes them to bench/results/reminders.json.
"""

from __future__ import annotations

import argparse
import platform
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import bulk_insert, run_sizes, timed
from service.config import Config
from service.db import Database
from service.models import Document, Item, Measure, Unit
from service.services.reminders import preview, sweep

RESULTS = Path(__file__).resolve().parent / "results" / "reminders.json"
# 09:00 in Beijing on 2025-09-18: ten working days before the due items' deadline.
NOW = datetime(2025, 9, 18, 1, 0, tzinfo=UTC)
DUE_DEADLINE = date(2025, 10, 1)
CREATED = datetime(2025, 8, 1, 2, 0, tzinfo=UTC)
UNITS, DOCUMENTS, ITEMS_PER_MEASURE = 200, 20, 4


def fill(database: Database, items: int, due: int) -> None:
    measures = (items + ITEMS_PER_MEASURE - 1) // ITEMS_PER_MEASURE
    bulk_insert(database, Unit.__table__, (unit_row(n) for n in range(1, UNITS + 1)))
    bulk_insert(database, Document.__table__, (document_row(n) for n in range(1, DOCUMENTS + 1)))
    bulk_insert(database, Measure.__table__, (measure_row(n) for n in range(1, measures + 1)))
    every = items // due
    bulk_insert(
        database, Item.__table__, (item_row(n, n % every == 0) for n in range(1, items + 1))
    )


def unit_row(n: int) -> dict[str, Any]:
    name = f"测试单位{n:03d}"
    return {
        "id": n,
        "name": name,
        "name_key": name,
        "is_group": False,
        "confirmed": True,
        "created_at": CREATED,
    }


def document_row(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "title": f"关于推进第{n}项重点工作的实施方案",
        "title_key": f"doc{n}",
        "content_hash": f"{n:064d}",
        "text": "",
        "revision": 1,
        "created_at": CREATED,
        "updated_at": CREATED,
    }


def measure_row(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "document_id": n % DOCUMENTS + 1,
        "position": n,
        "ref": f"{n % 9 + 1}.",
        "title": f"落实第{n}项措施",
        "text": "",
        "joint": False,
        "withdrawn": False,
    }


def item_row(n: int, is_due: bool) -> dict[str, Any]:
    """Due: a due-soon reminder at NOW. Else open with one weeks ahead, or closed (30%)."""
    closed = not is_due and n % 10 < 3
    deadline = DUE_DEADLINE if is_due else DUE_DEADLINE + timedelta(days=30 + n % 300)
    if is_due:
        next_at: datetime | None = NOW - timedelta(minutes=n % 60)
    else:
        next_at = None if closed else NOW + timedelta(days=1 + n % 90)
    return {
        "id": n,
        "measure_id": (n - 1) // ITEMS_PER_MEASURE + 1,
        "unit_id": (n - 1) % ITEMS_PER_MEASURE * 50 + n % 50 + 1,
        "role": "lead" if n % ITEMS_PER_MEASURE == 1 else "co",
        "implicit": False,
        "period": "",
        "status": "approved" if closed else "in_progress",
        "deadline": deadline,
        "original_deadline": deadline,
        "assigned_on": CREATED.date(),
        "percent": 0,
        "target_values": {},
        "extension_pending": False,
        "next_reminder_at": next_at,
        "version": 1,
        "withdrawn": False,
        "created_at": CREATED,
        "updated_at": CREATED,
    }


def measure(database: Database, items: int, due: int) -> dict[str, Any]:
    config = Config(database_url=database.url)
    figures: dict[str, Any] = {"items": items, "due": due}
    figures["fill_s"], _ = timed(lambda: fill(database, items, due))
    figures["preview_s"], shown = timed(lambda: preview(database, config, NOW))
    figures["sweep_s"], report = timed(lambda: sweep(database, config, NOW))
    figures["sent"], figures["items_read"] = len(report.sent), report.items_read
    figures["noop_sweep_s"], again = timed(lambda: sweep(database, config, NOW))
    if not len(shown.sent) == len(report.sent) == due or again.sent:
        raise SystemExit(f"unexpected: previewed {len(shown.sent)}, sent {len(report.sent)}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "now": NOW.isoformat(),
    }
    run_sizes(args.items, args.postgres, lambda db, n: measure(db, n, args.due), result, RESULTS)


if __name__ == "__main__":
    main()
