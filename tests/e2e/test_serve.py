"""`checklist serve` as a user runs it: starts on SQLite, stops on SIGTERM, restarts intact."""

import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import checklist, serving

pytestmark = pytest.mark.e2e


def test_serve_starts_stops_on_sigterm_and_restarts(tmp_path: Path) -> None:
    db_file = tmp_path / "var" / "service.db"
    env = {"DATABASE_URL": f"sqlite:///{db_file}"}
    with serving(env, tmp_path) as (base, process):
        assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
        with sqlite3.connect(db_file) as connection:
            connection.execute(
                "INSERT INTO unit (name, name_key, is_group, confirmed, created_at)"
                " VALUES ('省科技厅', '省科技厅', 0, 1, '2026-11-20 00:00:00')"
            )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    with serving(env, tmp_path) as (base, _process):
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    with sqlite3.connect(db_file) as connection:
        assert connection.execute("SELECT name FROM unit").fetchall() == [("省科技厅",)]


def test_default_database_is_a_sqlite_file_under_var(tmp_path: Path) -> None:
    result = checklist("db", "upgrade", env={"DATABASE_URL": ""}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "checklists.db").exists()


@pytest.mark.parametrize(
    "url",
    [
        "not-a-database-url",
        "mysql://root@127.0.0.1/test",
        "postgresql://nobody@127.0.0.1:1/nothing",
    ],
)
@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"]])
def test_bad_database_url_is_one_line_error(tmp_path: Path, url: str, command: list[str]) -> None:
    result = checklist(*command, env={"DATABASE_URL": url}, cwd=tmp_path, timeout=30)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "DATABASE_URL" in result.stderr or "database" in result.stderr


def test_sigterm_while_busy_still_exits_within_ten_seconds(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    with serving(env, tmp_path) as (base, process):
        for _ in range(20):
            requests.get(f"{base}/healthz", timeout=5)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("serve did not exit within 10 s of SIGTERM")


def test_serve_runs_the_clock_and_a_second_clock_refuses(tmp_path: Path) -> None:
    db_file = tmp_path / "clock.db"
    env = {"DATABASE_URL": f"sqlite:///{db_file}"}
    with serving(env, tmp_path) as (_base, process):
        with sqlite3.connect(db_file) as connection:
            (owner,) = connection.execute("SELECT owner FROM lease WHERE name = 'clock'").fetchone()
        assert str(process.pid) in owner
        refused = checklist("clock", env=env, cwd=tmp_path, timeout=30)
        assert refused.returncode == 1
        assert "another clock" in refused.stderr and "Traceback" not in refused.stderr
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    with sqlite3.connect(db_file) as connection:
        assert connection.execute("SELECT count(*) FROM lease").fetchone() == (0,)


def test_clock_and_worker_refuse_a_schema_that_is_not_migrated(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    for command in ("clock", "worker"):
        result = checklist(command, env=env, cwd=tmp_path, timeout=30)
        assert result.returncode == 1, result.stderr
        assert "checklist db upgrade" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_port_in_use_ends_serve_and_leaves_no_clock_behind(tmp_path: Path) -> None:
    db_file = tmp_path / "busy.db"
    env = {"DATABASE_URL": f"sqlite:///{db_file}"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = checklist("serve", "--port", port, env=env, cwd=tmp_path, timeout=30)
    assert result.returncode != 0
    assert "Address already in use" in result.stderr
    with sqlite3.connect(db_file) as connection:
        assert connection.execute("SELECT count(*) FROM lease").fetchone() == (0,)
