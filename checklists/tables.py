"""Task-decomposition tables (任务分解表): one task per row, units in their own columns.

Word tables arrive one row per line with cells separated by tabs. A table is read when a
header row names a task column and at least one unit column; each row below it becomes
the text of one measure, with its units written as a labelled annotation, so that rows
and prose go through the same parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COLUMNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ref", re.compile(r"^(?:序号|编号|序)$")),
    ("lead", re.compile(r"牵头|主办|主责")),
    ("co", re.compile(r"配合|协办|协助|参与")),
    ("units", re.compile(r"责任单位|责任部门|责任主体|实施单位|落实单位")),
    ("deadline", re.compile(r"时限|完成时间|时间节点|完成期限|进度安排|时间安排")),
    ("task", re.compile(r"任务|措施|内容|事项|工作|目标")),
)
_LABELS = {"lead": "牵头单位", "co": "配合单位", "units": "责任单位"}


@dataclass(frozen=True)
class Row:
    """One task row: its ref and the measure text built from its cells."""

    ref: str
    text: str


def is_row(paragraph: str) -> bool:
    """True for a table row as the reader writes it: cells separated by tabs."""
    return "\t" in paragraph


def header(cells: list[str]) -> dict[str, int] | None:
    """Column index of each role, when the cells are a task table's header."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = re.sub(r"\s", "", cell)
        for role, pattern in _COLUMNS:
            if role not in columns and pattern.search(name) and len(name) <= 12:
                columns[role] = index
                break
    has_units = any(role in columns for role in _LABELS)
    return columns if "task" in columns and has_units else None


def _cell(cells: list[str], columns: dict[str, int], role: str) -> str:
    index = columns.get(role)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _row_text(cells: list[str], columns: dict[str, int]) -> str:
    labels = "；".join(f"{_LABELS[role]}：{value}" for role in ("lead", "co", "units")
                      if (value := _cell(cells, columns, role)))
    text = _cell(cells, columns, "task") + (f"（{labels}）" if labels else "")
    deadline = _cell(cells, columns, "deadline")
    return text + (f"\n完成时限：{deadline}" if deadline else "")


def split_tables(paragraphs: list[str]) -> tuple[list[str], list[Row]]:
    """Prose paragraphs, and the rows of every task table in the document.

    Refs are the table's own numbers; from the second table on they are prefixed with
    the table's number ("表2-3") so that they stay unique.
    """
    prose: list[str] = []
    rows: list[Row] = []
    columns: dict[str, int] | None = None
    tables = 0
    for i, paragraph in enumerate(paragraphs):
        if not is_row(paragraph):
            following = paragraphs[i + 1] if i + 1 < len(paragraphs) else ""
            if columns is not None and is_row(following) and len(paragraph) <= 40:
                continue  # a merged section row between task rows: not prose
            columns = None
            prose.append(paragraph)
            continue
        cells = paragraph.split("\t")
        if (found := header(cells)) is not None:
            columns, tables = found, tables + 1
        elif columns is not None and _cell(cells, columns, "task"):
            ref = _cell(cells, columns, "ref") or str(len(rows) + 1)
            rows.append(Row(ref if tables == 1 else f"表{tables}-{ref}", _row_text(cells, columns)))
        else:
            prose.append(" ".join(cell.strip() for cell in cells if cell.strip()))
    return prose, rows
