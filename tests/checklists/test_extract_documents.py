"""Reading and extraction together: a Word file with a numbered outline and a task table."""

from __future__ import annotations

import io

import docx

from checklists.extract import extract
from checklists.reading import read_document


def _word_file() -> bytes:
    document = docx.Document()
    document.add_paragraph("某市2024年数字政府建设工作要点")
    document.add_paragraph("一、夯实数字底座")
    document.add_paragraph("（一）建设政务云。扩容政务云资源。（责任单位：市大数据局、市财政局）")
    table = document.add_table(rows=3, cols=5)
    rows = [
        ("序号", "重点任务", "牵头单位", "配合单位", "完成时限"),
        ("1", "上线“一网通办”新版", "市政务服务中心", "市大数据局", "2024年6月底前"),
        ("2", "建设数据共享平台", "市大数据局", "各区政府", "2024年"),
    ]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_a_word_file_with_a_task_table() -> None:
    result = extract(read_document(_word_file(), "要点.docx"))
    assert result.title == "某市2024年数字政府建设工作要点"
    summary = [(m.ref, m.title, [(u.name, u.role) for u in m.units],
                m.deadline and m.deadline.isoformat()) for m in result.measures]
    assert result.period == (2024, 2024)
    assert summary == [
        ("一、（一）", "建设政务云", [("市大数据局", "lead"), ("市财政局", "co")], "2024-12-31"),
        ("1", "上线“一网通办”新版", [("市政务服务中心", "lead"), ("市大数据局", "co")],
         "2024-06-30"),
        ("2", "建设数据共享平台", [("市大数据局", "lead"), ("各区政府", "co")], "2024-12-31"),
    ]
