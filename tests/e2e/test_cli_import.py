"""The `checklist` commands a clerk runs: extract, import (the seeds), units, tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import checklist

pytestmark = pytest.mark.e2e

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds not beside the repo")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "LOG_LEVEL": "WARNING"}


@needs_seeds
def test_seeds_import_in_one_command(tmp_path: Path, env: dict[str, str]) -> None:
    assert checklist("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    seeds = sorted(str(p) for p in SEEDS.glob("*.txt"))
    result = checklist("import", *seeds, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    reports = {Path(r["file"]).name[:3]: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(reports) == {"000", "001", "002", "003", "004"}
    news = reports["001"]
    assert news["measures"] > 0 and news["items"] == 0 and news["new_units"] == []
    assert news["unassigned"] == news["measures"]
    total = sum(r["items"] for r in reports.values())
    assert 330 <= total <= 470, total
    again = checklist("import", *seeds, env=env, cwd=tmp_path, timeout=300)
    assert {json.loads(line)["outcome"] for line in again.stdout.splitlines()} == {"unchanged"}


@needs_seeds
def test_extract_prints_the_scorer_shape(tmp_path: Path, env: dict[str, str]) -> None:
    result = checklist("extract", str(SEEDS / "000_ed500cde5168f2b7.txt"), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["title"] and body["measures"]
    unit = body["measures"][0]["units"][0]
    assert set(unit) >= {"name", "canonical", "role", "group", "implicit"}
    assert not (tmp_path / "cli.db").exists()


def test_import_of_a_bad_file_is_one_line_and_nonzero(tmp_path: Path, env) -> None:
    checklist("db", "upgrade", env=env, cwd=tmp_path)
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    result = checklist("import", str(bad), env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_file_is_a_clear_error(tmp_path: Path, env) -> None:
    result = checklist("import", str(tmp_path / "nope.docx"), env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "nope.docx" in result.stderr and "Traceback" not in result.stderr


def test_token_create_prints_only_the_token(tmp_path: Path, env) -> None:
    checklist("db", "upgrade", env=env, cwd=tmp_path)
    directory = tmp_path / "units.csv"
    directory.write_text("name,aliases\n市交通运输局,市交通局;交通局\n", encoding="utf-8")
    assert checklist("units", "load", str(directory), env=env, cwd=tmp_path).returncode == 0
    made = checklist("token", "create", "--role", "staff", "--unit", "市交通局",
                     env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("dbt_") and len(made.stdout.splitlines()) == 1
    refused = checklist("token", "create", "--role", "staff", "--unit", "不存在的局",
                        env=env, cwd=tmp_path)
    assert refused.returncode != 0 and "不存在的局" in refused.stderr
