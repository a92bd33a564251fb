"""The Procfile's processes run as separate real processes: started, killed -9, restarted.

Each process gets a session of its own, so a kill takes its whole tree at once (gunicorn's
master and its workers), as a crashed container or machine would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

PROCFILE = Path(__file__).resolve().parents[2] / "Procfile"


def procfile() -> dict[str, str]:
    """The Procfile's command lines by process type (web, worker, clock, release)."""
    entries = (line.split(":", 1) for line in PROCFILE.read_text().splitlines() if ":" in line)
    return {name.strip(): command.strip() for name, command in entries}


class Fleet:
    """Named processes, one of each name at a time; each run logs to `cwd/NAME-N.log`."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        bindir = str(Path(sys.executable).parent)  # `checklist` and `gunicorn` of this venv
        self.env = {**os.environ, **env, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
        self.cwd = cwd
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: Counter[str] = Counter()
        self.logs: list[Path] = []
        self.history: list[tuple[float, str]] = []  # (monotonic time, "start web"), for reports

    def start(self, name: str, command: str) -> subprocess.Popen[bytes]:
        log = self.cwd / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        self.history.append((time.monotonic(), f"start {name}"))
        return process

    def alive(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def kill(self, name: str) -> bool:
        """SIGKILL the process and all it started; False when it was not running."""
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return False
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended on its own a moment ago
            return False
        process.wait()
        self.kills[name] += 1
        self.history.append((time.monotonic(), f"kill {name}"))
        return True

    def stop(self) -> dict[str, int]:
        """SIGTERM every process still running, SIGKILL those still up 10 s later."""
        running = {n: p for n, p in self.processes.items() if p.poll() is None}
        for process in running.values():
            os.killpg(process.pid, signal.SIGTERM)
        codes = {}
        for name, process in running.items():
            try:
                codes[name] = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[name] = process.wait()
        return codes

    def tracebacks(self) -> list[str]:
        """The logs that hold a traceback, with the lines that follow it."""
        found = []
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "Traceback" in text:
                found.append(f"{log.name}: {text[text.index('Traceback'):][:3000]}")
        return found
