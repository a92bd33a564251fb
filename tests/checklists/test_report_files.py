"""Report files: CSV for Excel, XLSX with real dates, and no formula injection in either."""

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from checklists.report_files import (
    BOM,
    OVERDUE_COLUMNS,
    Column,
    Sheet,
    csv_chunks,
    neutralise,
    scorecard_columns,
    scorecard_rows,
    sheet_name,
    summary_columns,
    text_lines,
    write_xlsx,
)

NOTE = '=HYPERLINK("http://x","y")'
ROWS = [
    {
        "item_id": 1,
        "document": "某市行动方案",
        "deadline": date(2025, 12, 31),
        "days_overdue": 326,
        "workdays_overdue": None,
        "last_progress_note": NOTE,
    },
    {
        "item_id": 2,
        "document": "+SUM(A1)",
        "deadline": date(2026, 3, 31),
        "last_progress_note": "多行\n进展，含逗号",
        "unit": "-1",
        "measure_title": "@cmd",
    },
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NOTE, "'" + NOTE),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("正常文字 =1", "正常文字 =1"),
        (-5, -5),
        (None, None),
    ],
)
def test_neutralise(value: object, expected: object) -> None:
    assert neutralise(value) == expected


def test_csv_starts_with_a_bom_and_neutralises_formulas() -> None:
    text = "".join(csv_chunks(OVERDUE_COLUMNS, ROWS))
    assert text.startswith(BOM + "事项编号,文件,")
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    header, first, second = rows
    assert header == [c.header for c in OVERDUE_COLUMNS]
    by_header = dict(zip(header, first, strict=True))
    assert by_header["最近进展"] == "'" + NOTE
    assert by_header["办理时限"] == "2025-12-31" and by_header["逾期工作日"] == ""
    second_row = dict(zip(header, second, strict=True))
    assert second_row["文件"] == "'+SUM(A1)" and second_row["责任单位"] == "'-1"
    assert second_row["最近进展"] == "多行\n进展，含逗号"


def test_csv_chunks_are_the_same_text_however_cut() -> None:
    many = ROWS * 7
    whole = "".join(csv_chunks(OVERDUE_COLUMNS, many, chunk_rows=1000))
    pieces = list(csv_chunks(OVERDUE_COLUMNS, many, chunk_rows=3))
    assert "".join(pieces) == whole
    assert len(pieces) == 1 + 5  # header, then 14 rows in 3s


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("市交通运输局", "市交通运输局"),
        ("汇总[1]:*?/\\", "汇总_1______"),
        ("'引号'", "引号"),
        ("", "Sheet"),
        (
            "海南省车联网（智能网联汽车）产业发展三年行动计划（2023-2025年）",
            "海南省车联网（智能网联汽车）产业发展三年行动计划（2023-2",  # 31 characters
        ),
    ],
)
def test_sheet_names_are_valid(title: str, expected: str) -> None:
    assert sheet_name(title, set()) == expected
    assert len(sheet_name(title, set())) <= 31


def test_sheet_names_are_unique_ignoring_case() -> None:
    taken: set[str] = set()
    long = "很长的文件标题" * 6
    names = [sheet_name(t, taken) for t in ("Unit", "unit", long, long, long)]
    assert names[:2] == ["Unit", "unit(2)"]
    assert len(set(names)) == 5 and all(len(n) <= 31 for n in names)
    assert names[3].endswith("(2)") and names[4].endswith("(3)")


def test_xlsx_has_headers_frozen_panes_widths_dates_and_text_not_formulas() -> None:
    target = io.BytesIO()
    columns = [
        *OVERDUE_COLUMNS[:2],
        Column("deadline", "办理时限", 12, "yyyy-mm-dd"),
        Column("last_progress_note", "最近进展", 60),
        Column("rate", "按时办结率", 11, "0.0%"),
    ]
    rows = [{**ROWS[0], "rate": 0.5}, {**ROWS[1], "last_progress_note": "含\x0b控制符"}]
    write_xlsx(target, [Sheet("市交通运输局", columns, rows), Sheet("空表", columns, [])])
    book = load_workbook(io.BytesIO(target.getvalue()))
    assert book.sheetnames == ["市交通运输局", "空表"]
    sheet = book["市交通运输局"]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == 40
    assert [c.value for c in sheet[1]] == ["事项编号", "文件", "办理时限", "最近进展", "按时办结率"]
    assert sheet[1][0].font.bold
    values = [c.value for c in sheet[2]]
    assert values == [1, "某市行动方案", datetime(2025, 12, 31), NOTE, 0.5]
    assert sheet["C2"].is_date and sheet["C2"].number_format == "yyyy-mm-dd"
    assert sheet["D2"].data_type == "s" and sheet["D2"].quotePrefix
    assert sheet["E2"].number_format == "0.0%"
    assert sheet["D3"].value == "含控制符"
    assert book["空表"].max_row == 1


def test_an_empty_workbook_still_opens() -> None:
    target = io.BytesIO()
    write_xlsx(target, [])
    assert load_workbook(io.BytesIO(target.getvalue())).sheetnames == ["空"]


def test_text_lines_for_a_terminal() -> None:
    card = {
        "units": [
            {
                "name": "市财政局",
                **{role: {"due": 2, "on_time_rate": 0.5} for role in ("lead", "co", "all")},
            }
        ]
    }
    lines = list(text_lines(scorecard_columns(), scorecard_rows(card)))
    assert lines[0].split("\t")[:3] == ["责任单位", "牵头/配合", "应办结"]
    assert lines[1].split("\t")[:3] == ["市财政局", "牵头", "2"]
    assert lines[3].split("\t")[1] == "合计" and lines[3].endswith("50.0%")
    note = list(text_lines([Column("note", "进展")], [{"note": "两行\n说明"}]))
    assert note == ["进展", "两行 说明"]


def test_summary_columns_name_the_grouping() -> None:
    assert summary_columns("unit")[0].header == "责任单位"
    assert summary_columns("document")[0].header == "文件"
