"""The Markdown summary of a `python -m bench` run: the machine, then each benchmark's table.

Each benchmark's figures (the dict its `main` returns) have a section function here; a
benchmark without one, or whose figures no longer fit it, is shown as JSON instead.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import create_engine, text

Figures = dict[str, Any]


def paragraphs(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(figures: dict[str, float], *keys: str) -> str:
    """'p50 / p99' (or the keys asked for) in milliseconds, as one cell."""
    return " / ".join(f"{figures[key]:.1f}" for key in keys or ("p50", "p99"))


def machine(postgres_url: str | None) -> Figures:
    """What the figures were measured on."""
    cpus = [line.split(":", 1)[1].strip() for line in read_lines("/proc/cpuinfo")
            if line.startswith("model name")]  # fmt: skip
    memory_kb = next(
        int(line.split()[1]) for line in read_lines("/proc/meminfo") if line.startswith("MemTotal")
    )
    return {
        "cpu": f"{cpus[0] if cpus else platform.processor()}, {os.cpu_count()} cores",
        "memory": f"{memory_kb / 1024**2:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(postgres_url) if postgres_url else "not used",
        "open files (hard limit)": subprocess.run(
            ["bash", "-c", "ulimit -Hn"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }


def read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as file:
        return file.read().splitlines()


def postgres_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar())
    except Exception as error:  # the summary still goes out without it
        return f"unknown ({type(error).__name__})"
    finally:
        engine.dispose()


def webhooks(result: Figures) -> str:
    worker, bare = result["worker"], result["bare_session"]
    rows = [
        ["worker", f"{worker['deliveries_per_s']:.0f}", ms(worker["latency_ms"])],
        ["bare `requests.Session`", f"{bare['posts_per_s']:.0f}", ms(bare["latency_ms"])],
    ]
    return paragraphs(
        f"{result['events']} events on {result['database']}; latency from the commit "
        f"(worker) or the post (bare), {result['latency_rate_per_s']:.0f} events/s.",
        table(["", "per second", "latency p50 / p99 ms"], rows),
        f"Worker / bare throughput: **{result['throughput_ratio']:.2f}**",
    )


def reminders(result: Figures) -> str:
    rows = [
        [r["backend"], f"{r['items']:,}", r["due"], r["preview_s"], r["sweep_s"],
         r["noop_sweep_s"], f"{r['items_read']:,}"]
        for r in result["runs"]
    ]  # fmt: skip
    header = ["database", "items", "due", "preview s", "sweep s", "no-op sweep s", "items read"]
    return paragraphs(table(header, rows), growth(result["runs"], "sweep_s", "sweep"))


def reports(result: Figures) -> str:
    rows = [
        [r["backend"], f"{r['items']:,}", r["summary_s"], r["summary_week_ago_s"],
         f"{r['csv_s']} ({r['csv_rows']:,} rows, {r['csv_mb']} MB)",
         f"{r['xlsx_s']} ({r['xlsx_mb']} MB)" if "xlsx_s" in r else "–", r["max_rss_mb"]]
        for r in result["runs"]
    ]  # fmt: skip
    header = ["database", "items", "summary s", "summary a week ago s", "overdue CSV s",
              "overdue XLSX s", "max RSS MB"]  # fmt: skip
    return paragraphs(table(header, rows), growth(result["runs"], "summary_s", "summary"))


def growth(runs: Sequence[Figures], key: str, what: str) -> str:
    """How the time grew against the item count, smallest to largest run, per database."""
    lines = []
    for backend in dict.fromkeys(r["backend"] for r in runs):
        mine = sorted((r for r in runs if r["backend"] == backend), key=lambda r: r["items"])
        small, large = mine[0], mine[-1]
        if large["items"] > small["items"]:
            ratio = large[key] / max(small[key], 0.001)
            lines.append(
                f"- {backend}: {what} ×{ratio:.1f} for ×{large['items'] // small['items']} items"
            )
    return "\n".join(lines)


def api(result: Figures) -> str:
    backends = list(result["backends"])
    header = ["scenario"] + [f"{b} {c}" for b in backends for c in ("req/s", "p50 / p99 ms")]
    rows = [
        [name] + [
            cell for b in backends
            for cell in (f"{result['backends'][b][name]['rps']:.0f}",
                         ms(result["backends"][b][name]))
        ]
        for name in result["backends"][backends[0]]
    ]  # fmt: skip
    ratios = [[r["name"], f"{r['ratio']:.2f}", f"≥ {r['target']:.2f}"] for r in result["ratios"]]
    return paragraphs(table(header, rows), table(["ratio", "measured", "target"], ratios))


STREAM_HEADER = (
    "database", "server", "streams", "items p50 / p99 ms", "healthz p50 / p99 ms",
    "event → first p50 ms", "event → last p50 / max ms", "CPU ms / event server / crowd",
    "RSS MB", "KB / stream",
)  # fmt: skip


def stream(result: Figures) -> str:
    rows = [stream_row(run, level) for run in result["runs"] for level in run["levels"]]
    return paragraphs(
        f"Idle streams held open while {result['requests']} requests of each kind run one "
        f"after another and {result['events']} events are committed per level; each server "
        f"process polls the feed every {result['poll_s']} s; heartbeat "
        f"{result['heartbeat_s']:.0f} s.",
        table(STREAM_HEADER, rows),
        "Target: items p99 < 50 ms with ≥ 5,000 streams. All streams of a level open, at most:",
        "\n".join(f"- {run['backend']} {run['server']}: {held(run)}" for run in result["runs"]),
    )


def stream_row(run: Figures, level: Figures) -> list[Any]:
    streams = f"{level['subscribers']:,}"
    if level.get("dropped"):
        streams += f" ({level['dropped']} dropped)"
    where = [run["backend"], run["server"], streams]
    if level["open_failed"]:
        wanted = level["subscribers"] + level["open_failed"]
        failed = f"{wanted:,} wanted; {level['open_failed']} did not open ({level['open_s']:.0f} s)"
        return [*where, failed, *["–"] * 6]
    event = level["event"]
    return [
        *where,
        ms(level["items_ms"]),
        ms(level["healthz_ms"]),
        f"{event['first_ms']['p50']:.0f}",
        ms(event["last_ms"], "p50", "max") + stalled(event),
        ms(event, "server_cpu_ms_per_event", "crowd_cpu_ms_per_event"),
        f"{level['rss_mb']:.0f}",
        f"{level['kb_per_subscriber']:.0f}",
    ]


def stalled(event: Figures) -> str:
    if not event.get("stalled"):
        return ""
    return f" ({event['stalled']} stalled; a transaction open {event['oldest_transaction_s']} s)"


def held(run: Figures) -> str:
    full = [level["subscribers"] for level in run["levels"] if not level["open_failed"]]
    errors = run.get("server_errors", {})
    logged = f"; the server logged {errors['count']} errors" if errors.get("count") else ""
    return f"{max(full, default=0):,}{logged}"


def imports(result: Figures) -> str:
    backends = list(dict.fromkeys(r["backend"] for r in result["runs"]))
    by_document: dict[str, dict[str, Figures]] = {}
    for r in result["runs"]:
        by_document.setdefault(r["document"], {})[r["backend"]] = r
    header = ["document", "KB", "measures", "items", "extract s"]
    header += [f"{b} {c}" for b in backends for c in ("import s", "measures/s", "items/s")]
    rows = []
    for name, runs in by_document.items():
        one = next(iter(runs.values()))
        row = [name, one["kb"], f"{one['measures']:,}", f"{one['items']:,}", one["extract_s"]]
        for backend in backends:
            r = runs.get(backend)
            row += [r["import_s"], r["measures_per_s"], r["items_per_s"]] if r else ["–"] * 3
        rows.append(row)
    return table(header, rows)


SECTIONS: dict[str, Callable[[Figures], str]] = {
    "webhooks": webhooks,
    "reminders": reminders,
    "reports": reports,
    "api": api,
    "stream": stream,
    "imports": imports,
}


def section(name: str, outcome: Figures) -> str:
    command = " ".join([f"python -m bench.{name}", *outcome["argv"]])
    head = f"## {name}\n\n`{command}`"
    if "error" in outcome:
        return f"{head}\n\n**Did not finish:** {outcome['error']}"
    notes = (
        f"{outcome['seconds']:.0f} s; load average {outcome['load_before']} before, "
        f"{outcome['load_after']} after."
    )
    try:
        body = SECTIONS[name](outcome["figures"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        body = "```json\n" + json.dumps(outcome["figures"], indent=2, ensure_ascii=False) + "\n```"
    return paragraphs(head, notes, body)


def markdown(command: str, about: Figures, outcomes: dict[str, Figures]) -> str:
    sections = [section(name, outcome) for name, outcome in outcomes.items()]
    machine_table = table(["", ""], list(about.items()))
    return (
        paragraphs("# Benchmark summary", f"`{command}`", "## Machine", machine_table, *sections)
        + "\n"
    )
