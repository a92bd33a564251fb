"""`checklist report …`: tables in Chinese, files for Excel, one-line errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from service.cli import main
from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.documents import ImportRequest, import_document
from tests.service.conftest import PLAN, make_tokens


@pytest.fixture
def cli_database(fresh_database: Database, clock) -> Database:
    make_tokens(fresh_database, clock)  # the directory, with 市交通局 as an alias
    import_document(
        fresh_database,
        ImportRequest(PLAN.encode(), "plan.txt"),
        actor=CLI_ACTOR,
        now=clock.now(),
        today=date(2026, 11, 20),
        max_bytes=1_000_000,
    )
    return fresh_database


def run(database: Database, *args: str) -> Result:
    env = {"DATABASE_URL": database.url, "LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, ["report", *args], env=env)


def test_summary_table_in_chinese(cli_database: Database) -> None:
    result = run(cli_database, "summary", "--as-of", "2026-11-22", "--group-by", "document")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split("\t")[:4] == ["文件", "事项数", "红", "黄"]
    assert rows[-1].split("\t")[:3] == ["合计", "7", "2"]


def test_overdue_json_for_a_unit_named_by_its_alias(cli_database: Database) -> None:
    result = run(
        cli_database, "overdue", "--as-of", "2026-11-22", "--unit", "市交通局", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert [g["name"] for g in body["groups"]] == ["市交通运输局"]
    assert body["overdue"] == 1


def test_overdue_files(cli_database: Database, tmp_path: Path) -> None:
    target = tmp_path / "逾期.csv"
    result = run(
        cli_database, "overdue", "--as-of", "2026-11-22", "--format", "csv", "-o", str(target)
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith("\ufeff事项编号".encode())
    assert len(target.read_text(encoding="utf-8-sig").splitlines()) == 3
    workbook = tmp_path / "逾期.xlsx"
    result = run(
        cli_database,
        "overdue",
        "--as-of",
        "2026-11-22",
        "--format",
        "xlsx",
        "-o",
        str(workbook),
        "--group-by",
        "document",
    )
    assert result.exit_code == 0, result.output
    assert load_workbook(workbook).sheetnames[0] == "汇总"


def test_scorecard_table(cli_database: Database) -> None:
    result = run(cli_database, "scorecard", "--period", "2025", "--as-of", "2026-11-22")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("责任单位\t牵头/配合\t应办结")
    assert any(line.startswith("市交通运输局\t牵头\t1\t0\t0\t1") for line in lines)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["scorecard", "--period", "2025-Q5"], "period"),
        (["overdue", "--as-of", "2031-01-01"], "as_of"),
        (["overdue", "--format", "xlsx"], "-o FILE"),
        (["overdue", "--unit", "不存在的局"], "不存在的局"),
        (["summary", "--as-of", "2026-02-30"], "2026-02-30"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(cli_database: Database, args, words) -> None:
    result = run(cli_database, *args)
    assert result.exit_code != 0
    assert words in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
