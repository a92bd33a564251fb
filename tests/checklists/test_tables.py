"""Task-decomposition tables read from Word rows."""

from __future__ import annotations

from checklists.tables import header, split_tables


def test_header_needs_a_task_column_and_a_unit_column() -> None:
    assert header(["序号", "重点任务", "牵头单位", "配合单位", "完成时限"]) == {
        "ref": 0, "task": 1, "lead": 2, "co": 3, "deadline": 4}
    assert header(["序号", "工作任务", "责任单位"]) == {"ref": 0, "task": 1, "units": 2}
    assert header(["姓名", "职务", "电话"]) is None
    assert header(["序号", "重点任务", "完成时限"]) is None


def test_rows_become_annotated_measure_texts() -> None:
    prose, rows = split_tables([
        "一、总体要求", "序号\t重点任务\t牵头单位\t配合单位\t完成时限",
        "1\t建设平台\t市工信局\t市财政局\t2024年底前", "2\t培育企业\t市科技局\t\t",
        "附件说明很长很长的一段文字，不属于表格，而是正文的一部分内容，需要保留下来。",
    ])
    assert prose[0] == "一、总体要求" and prose[1].startswith("附件说明")
    assert len(prose) == 2
    assert [(r.ref, r.text) for r in rows] == [
        ("1", "建设平台（牵头单位：市工信局；配合单位：市财政局）\n完成时限：2024年底前"),
        ("2", "培育企业（牵头单位：市科技局）"),
    ]


def test_a_second_table_prefixes_its_refs() -> None:
    head = "序号\t工作任务\t责任单位"
    _, rows = split_tables([head, "1\t甲任务\t市工信局", "附表二", head, "1\t乙任务\t市商务局"])
    assert [r.ref for r in rows] == ["1", "表2-1"]


def test_tab_lines_without_a_task_header_are_prose() -> None:
    prose, rows = split_tables(["姓名\t电话", "张三\t123"])
    assert (prose, rows) == (["姓名 电话", "张三 123"], [])
