"""Reports as files for Excel and WPS: CSV (UTF-8 with BOM) and XLSX, safe to open.

A cell that starts with `=`, `+`, `-` or `@` would be a formula to a spreadsheet, so a
note such as `=HYPERLINK(...)` could run on a supervisor's desk: CSV cells get a leading
apostrophe, XLSX cells are typed as text with Excel's quote prefix (the text stays exact).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = [
    "BOM",
    "OVERDUE_COLUMNS",
    "Column",
    "Sheet",
    "csv_chunks",
    "neutralise",
    "overdue_sheets",
    "scorecard_columns",
    "scorecard_rows",
    "scorecard_sheet",
    "sheet_name",
    "summary_columns",
    "summary_rows",
    "summary_sheets",
    "text_lines",
    "write_xlsx",
]

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column of a report file: the row key it shows, its header, width and format."""

    key: str
    header: str
    width: float = 12
    number_format: str | None = None


DATE = "yyyy-mm-dd"
PERCENT = "0.0%"

OVERDUE_COLUMNS: Sequence[Column] = (
    Column("item_id", "事项编号", 9),
    Column("document", "文件", 40),
    Column("measure_ref", "措施编号", 12),
    Column("measure_title", "措施", 40),
    Column("unit", "责任单位", 24),
    Column("role_label", "牵头/配合", 10),
    Column("period", "期次", 9),
    Column("deadline", "办理时限", 12, DATE),
    Column("days_overdue", "逾期天数", 10),
    Column("workdays_overdue", "逾期工作日", 11),
    Column("status_label", "办理状态", 10),
    Column("colour_label", "三色", 7),
    Column("last_progress_on", "最近进展日期", 13, DATE),
    Column("last_progress_note", "最近进展", 60),
)

_COUNTS = (
    Column("total", "事项数", 9),
    Column("red", "红", 7),
    Column("yellow", "黄", 7),
    Column("green", "绿", 7),
    Column("done", "已销号", 9),
    Column("waived", "免办", 7),
    Column("on_time", "按时办结", 10),
    Column("late", "逾期办结", 10),
    Column("on_time_rate", "按时办结率", 11, PERCENT),
)


def summary_columns(grouping: str) -> list[Column]:
    """Columns of a summary by unit or by document: its name, then the counts."""
    name = Column("name", "责任单位", 30) if grouping == "unit" else Column("name", "文件", 50)
    return [name, *_COUNTS]


SUMMARY_SHEETS = {"unit": "按单位", "document": "按文件"}


def summary_rows(summary: Mapping[str, Any], grouping: str) -> list[dict[str, Any]]:
    """A summary's groups, then a 合计 (total) line, for a sheet or a CSV file."""
    return [*summary[f"by_{grouping}"], {"name": "合计", **summary["totals"]}]


def overdue_sheets(
    summary: Mapping[str, Any], rows: Iterable[dict[str, Any]], grouping: str
) -> Iterator[Sheet]:
    """A 汇总 (summary) sheet, then one per unit or document with overdue rows, in order.

    `rows` come in group order and are read one group at a time.
    """
    yield Sheet("汇总", summary_columns(grouping), summary_rows(summary, grouping))
    for (_, name), members in itertools.groupby(rows, lambda r: (r["group_id"], r["group"])):
        yield Sheet(name, OVERDUE_COLUMNS, list(members))


def summary_sheets(summary: Mapping[str, Any]) -> list[Sheet]:
    """The summary as two sheets: by unit and by document."""
    return [
        Sheet(title, summary_columns(grouping), summary_rows(summary, grouping))
        for grouping, title in SUMMARY_SHEETS.items()
    ]


_ROLE_NAMES = {"lead": "牵头", "co": "配合", "all": "合计"}


def scorecard_columns() -> list[Column]:
    return [
        Column("name", "责任单位", 30),
        Column("role_label", "牵头/配合", 10),
        Column("due", "应办结", 9),
        Column("done_on_time", "按时办结", 10),
        Column("done_late", "逾期办结", 10),
        Column("overdue", "逾期未办结", 11),
        Column("open", "在办", 7),
        Column("waived", "免办", 7),
        Column("extensions_granted", "同意延期", 10),
        Column("average_days_late", "平均逾期天数", 13),
        Column("on_time_rate", "按时办结率", 11, PERCENT),
    ]


def scorecard_rows(card: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """A scorecard flattened for a sheet: per unit a lead, a co-unit and a total line."""
    for unit in card["units"]:
        for role, label in _ROLE_NAMES.items():
            yield {"name": unit["name"], "role": role, "role_label": label, **unit[role]}


def scorecard_sheet(card: Mapping[str, Any]) -> Sheet:
    """A scorecard as one sheet named after its period."""
    return Sheet(f"单位考核 {card['period']}", scorecard_columns(), list(scorecard_rows(card)))


def neutralise(value: Any) -> Any:
    """Text a spreadsheet would read as a formula, with a leading apostrophe (CSV only)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(value)


def csv_chunks(
    columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], *, chunk_rows: int = 500
) -> Iterator[str]:
    """The CSV text in pieces of `chunk_rows` lines, the BOM and header first.

    The BOM makes Excel read the file as UTF-8 rather than the local GBK code page.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header for column in columns])
    pending = 0
    yield BOM + _drain(buffer)
    for row in rows:
        writer.writerow([_csv_value(row.get(column.key)) for column in columns])
        pending += 1
        if pending == chunk_rows:
            yield _drain(buffer)
            pending = 0
    if pending:
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def text_lines(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Tab-separated lines for a terminal: the header, then rows; rates as percentages."""
    yield "\t".join(column.header for column in columns)
    for row in rows:
        yield "\t".join(_text(column, row.get(column.key)) for column in columns)


def _text(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.number_format == PERCENT:
        return f"{value:.1%}"
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())  # one line per row, whatever the note holds


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its title, columns, and rows (read once, in order)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Mapping[str, Any]]


# Excel refuses these in sheet names, and names longer than 31 characters.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_LIMIT = 31


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unused sheet name for `title` (Excel compares names case-insensitively)."""
    base = _SHEET_FORBIDDEN.sub("_", title).strip("'").strip() or "Sheet"
    name, number = base[:_SHEET_LIMIT], 1
    while name.casefold() in taken:
        number += 1
        suffix = f"({number})"
        name = base[: _SHEET_LIMIT - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def write_xlsx(target: IO[bytes], sheets: Iterable[Sheet]) -> None:
    """Write the sheets with openpyxl's write-only mode: rows go to disk as they come."""
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet_name(sheet.title, taken))
        _write_sheet(worksheet, sheet)
    if not taken:
        workbook.create_sheet("空")
    workbook.save(target)


def _write_sheet(worksheet: WriteOnlyWorksheet, sheet: Sheet) -> None:
    worksheet.freeze_panes = "A2"
    for index, column in enumerate(sheet.columns, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = column.width
    worksheet.append([_header_cell(worksheet, column.header) for column in sheet.columns])
    for row in sheet.rows:
        worksheet.append(
            [_cell(worksheet, column, row.get(column.key)) for column in sheet.columns]
        )


def _header_cell(worksheet: WriteOnlyWorksheet, header: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(worksheet, value=header)
    cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
    return cell


def _cell(worksheet: WriteOnlyWorksheet, column: Column, value: Any) -> Any:
    if isinstance(value, str):
        # Control characters are not allowed in the file format; a pasted note may hold one.
        cell = WriteOnlyCell(worksheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        # Text, never a formula, whatever it starts with.
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
        return cell
    if value is not None and column.number_format:
        cell = WriteOnlyCell(worksheet, value=value)
        cell.number_format = column.number_format
        return cell
    return value
