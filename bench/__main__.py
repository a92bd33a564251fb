"""`python -m bench`: every benchmark in turn, then a Markdown summary of their figures.

    python -m bench [NAME ...] [--postgres URL] [--quick]

NAME picks some of webhooks, reminders, reports, api, stream, imports (all, in that
order, by default). Each runs in this process through its `main(argv)` with the sizes
of a full run (the 1M-item runs take a few GB of disk and most of the time), or small
ones with `--quick`, which checks the benchmarks rather than the service. A benchmark
that fails is reported and the others still run. Each writes its JSON to bench/results/;
the summary goes to bench/results/summary.md, in the form bench/RESULTS.md keeps.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.summary import machine, markdown

SUMMARY = Path(__file__).resolve().parent / "results" / "summary.md"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BENCHMARKS = ("webhooks", "reminders", "reports", "api", "stream", "imports")
FULL: dict[str, list[str]] = {
    "webhooks": [],
    "reminders": [],
    "reports": [],
    "api": [],
    "stream": ["--servers", "gunicorn", "serve"],
    "imports": [],
}
QUICK: dict[str, list[str]] = {
    "webhooks": ["--events", "200"],
    "reminders": ["--items", "10000", "--due", "100"],
    "reports": ["--items", "10000", "--xlsx-up-to", "10000"],
    "api": ["--items", "10000", "--duration", "3", "--warmup", "1"],
    "stream": ["--subscribers", "200", "500", "--requests", "50", "--events", "5"],
    "imports": ["--measures", "500"],
}
# webhooks migrates the database it is given and keeps it: it stays on its own SQLite file.
ON_POSTGRES = ("reminders", "reports", "api", "stream", "imports")


def arguments(name: str, quick: bool, postgres: str) -> list[str]:
    argv = [*(QUICK if quick else FULL)[name]]
    return [*argv, "--postgres", postgres] if name in ON_POSTGRES else argv


def load_average() -> str:
    return " ".join(f"{load:.1f}" for load in os.getloadavg())


def run(name: str, argv: list[str]) -> dict[str, Any]:
    """One benchmark's figures, with its duration and the load around it, or why it failed."""
    outcome: dict[str, Any] = {"argv": argv, "load_before": load_average()}
    print(f"\n== {name} {' '.join(argv)}", flush=True)
    started = time.monotonic()
    try:
        module = importlib.import_module(f"bench.{name}")
        outcome["figures"] = module.main(argv)
    except ModuleNotFoundError as error:
        outcome["error"] = f"bench/{name}.py is missing ({error})"
    except (Exception, SystemExit) as error:  # argparse and the benchmarks exit on failure
        traceback.print_exc()
        lines = [line for line in f"{type(error).__name__}: {error}".splitlines() if line.strip()]
        outcome["error"] = " … ".join(dict.fromkeys([lines[0], lines[-1]]))
    outcome["seconds"] = time.monotonic() - started
    outcome["load_after"] = load_average()
    if "error" in outcome:
        print(f"!! {name} did not finish: {outcome['error']}", file=sys.stderr, flush=True)
    return outcome


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--postgres", metavar="URL", default=POSTGRES)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benches")
    args = parser.parse_args(argv)
    if unknown := set(args.names) - set(BENCHMARKS):
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    names = [name for name in BENCHMARKS if name in args.names] or list(BENCHMARKS)
    about = machine(args.postgres)
    outcomes = {name: run(name, arguments(name, args.quick, args.postgres)) for name in names}
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(markdown(command, about, outcomes), encoding="utf-8")
    print(f"\nsummary written to {SUMMARY}")
    if any("error" in outcome for outcome in outcomes.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
