"""Reminder sweep cost: a fixed number of due items among 10k, 100k and 1M.

Fills a fresh database (SQLite file; PostgreSQL with `--postgres URL`, in a schema of its
own that is dropped afterwards) with bench/generate.py's realistic volumes as of the sweep's
moment: open items have their next reminder ahead, closed ones none. Then `--due` of them
(default 1000, evenly spread) are put in progress with a due-soon reminder at that moment.
Then times:

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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from bench.generate import populate
from bench.harness import run_sizes, timed
from service.config import Config
from service.db import Database
from service.models import Item
from service.services.reminders import preview, sweep

RESULTS = Path(__file__).resolve().parent / "results" / "reminders.json"
# 09:00 in Beijing on 2025-09-18: ten working days before the due items' deadline.
NOW = datetime(2025, 9, 18, 1, 0, tzinfo=UTC)
DUE_DEADLINE = date(2025, 10, 1)


def fill(database: Database, items: int, due: int) -> dict[str, int]:
    """Generated items, `due` of them (every items/due-th) due for a reminder at NOW."""
    rows = populate(database, items=items, now=NOW)
    every = items // due
    with database.engine.begin() as connection:
        connection.execute(
            update(Item)
            .where(col(Item.id) % every == 0)
            .values(
                status="in_progress",
                deadline=DUE_DEADLINE,
                original_deadline=DUE_DEADLINE,
                extension_pending=False,
                requested_deadline=None,
                withdrawn=False,
                next_reminder_at=NOW,
            )
        )
    return rows


def measure(database: Database, items: int, due: int) -> dict[str, Any]:
    config = Config(database_url=database.url)
    figures: dict[str, Any] = {"items": items, "due": due}
    figures["fill_s"], figures["rows"] = timed(lambda: fill(database, items, due))
    figures["preview_s"], shown = timed(lambda: preview(database, config, NOW))
    figures["sweep_s"], report = timed(lambda: sweep(database, config, NOW))
    figures["sent"], figures["items_read"] = len(report.sent), report.items_read
    figures["noop_sweep_s"], again = timed(lambda: sweep(database, config, NOW))
    if not len(shown.sent) == len(report.sent) == due or again.sent:
        raise SystemExit(f"unexpected: previewed {len(shown.sent)}, sent {len(report.sent)}")
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "now": NOW.isoformat(),
    }
    run_sizes(args.items, args.postgres, lambda db, n: measure(db, n, args.due), result, RESULTS)
    return result


if __name__ == "__main__":
    main()
