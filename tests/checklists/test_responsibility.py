"""Annotations, lead rules and implicit units."""

from __future__ import annotations

import pytest

from checklists.responsibility import (
    find_annotations,
    implicit_statements,
    lead_rule,
    parse_annotation,
)


@pytest.mark.parametrize(("text", "rule"), [
    ("列第一位的为牵头单位，下同", "first-listed"),
    ("排在第一位的为牵头单位", "first-listed"),
    ("牵头单位列第一位", "first-listed"),
    ("各项任务中，第一个逗号前为牵头单位", "before-first-comma"),
    ("注：带★的为牵头单位。", "marked:★"),
    ("标*号的为牵头单位", "marked:*"),
    ("各单位按职责分工负责", None),
])
def test_lead_rule(text: str, rule: str | None) -> None:
    assert lead_rule(text) == rule


def _units(text: str, rule: str | None = None) -> list[tuple[str, str]]:
    (annotation,) = find_annotations(text)
    return [(u.name, u.role) for u in parse_annotation(annotation, rule).units]


@pytest.mark.parametrize(("text", "units"), [
    ("建设。（责任单位：省科技厅、省经信厅）", [("省科技厅", "lead"), ("省经信厅", "co")]),
    ("建设。(责任部门：省工信厅、省公安厅）", [("省工信厅", "lead"), ("省公安厅", "co")]),
    ("建设。(市发展改革委、工业和信息化局按职责分工负责)",
     [("市发展改革委", "co"), ("市工业和信息化局", "co")]),
    ("建设。（市发展改革委牵头，各相关单位按职责分工负责）",
     [("市发展改革委", "lead"), ("各相关单位", "co")]),
    ("建设。（省发展改革委牵头，省财政厅、省自然资源厅等按职责分工负责）",
     [("省发展改革委", "lead"), ("省财政厅", "co"), ("省自然资源厅", "co")]),
    ("建设。（牵头单位：市工信局；配合单位：市财政局、市科技局）",
     [("市工信局", "lead"), ("市财政局", "co"), ("市科技局", "co")]),
    ("建设。（主办单位：县市场监管局，协办单位：县税务局）",
     [("县市场监管局", "lead"), ("县税务局", "co")]),
    ("建设。（牵头单位：市工信局；责任单位：市财政局）",
     [("市工信局", "lead"), ("市财政局", "co")]),
    ("建设。（责任单位：市发改委（牵头）、市财政局）", [("市发改委", "lead"), ("市财政局", "co")]),
    ("建设。\n牵头单位：市工信局\n配合单位：市财政局", [("市工信局", "lead"), ("市财政局", "co")]),
    ("建设。市民政局牵头负责，市财政局配合。", [("市民政局", "lead"), ("市财政局", "co")]),
    ("建设。（市教育局负责）", [("市教育局", "lead")]),
    ("建设。（市教育局、市人社局负责）", [("市教育局", "co"), ("市人社局", "co")]),
    ("建设。【责任单位：市水利局】", [("市水利局", "lead")]),
    ("建设。（责任单位：市城管局；完成时限：2024年底前）", [("市城管局", "lead")]),
])
def test_annotation_forms(text: str, units: list[tuple[str, str]]) -> None:
    assert _units(text) == units


@pytest.mark.parametrize(("text", "rule", "units"), [
    ("（责任单位：市工信局、市大数据局，市财政局）", "before-first-comma",
     [("市工信局", "lead"), ("市大数据局", "lead"), ("市财政局", "co")]),
    ("（责任单位：市文旅局、市农业农村局★）", "marked:★",
     [("市文旅局", "co"), ("市农业农村局", "lead")]),
    ("（市民政厅、市商务厅按职责分工负责）", "first-listed",
     [("市民政厅", "lead"), ("市商务厅", "co")]),
])
def test_document_rules_decide_the_lead(text: str, rule: str, units: list[tuple[str, str]]) -> None:
    assert _units(text, rule) == units


def test_joint_lists_have_no_lead() -> None:
    (annotation,) = find_annotations("（市交通运输局、公安局按职责分工负责）")
    responsibility = parse_annotation(annotation, None)
    assert responsibility.joint and all(u.role == "co" for u in responsibility.units)


@pytest.mark.parametrize("text", [
    "支持先导区（浙江德清）内企业牵头组建创新联合体。",
    "发布《条例》(以下简称《方案》)。(京讯)",
    "活动由省商务厅指导，省汽车行业协会联合主办。",
    "各地区各部门要按职责分工负责，抓好落实。",
    "编制招商图谱（含省级开发区），推进招商。",
])
def test_prose_is_not_an_annotation(text: str) -> None:
    assert find_annotations(text) == []


def test_adjacent_annotations_form_one() -> None:
    (annotation,) = find_annotations("建设。（牵头单位：市工信局）（配合单位：市财政局）")
    assert annotation.contents == ("牵头单位：市工信局", "配合单位：市财政局")


@pytest.mark.parametrize(("text", "names"), [
    ("以下工作均需湖州市和德清县政府推进落实，不再列出。", ["湖州市政府", "德清县政府"]),
    ("以下各项任务均由各区政府负责落实，不再一一列出。", ["各区政府"]),
    ("各县（市、区）政府为各项任务的共同责任单位，不再列出。", ["各县（市、区）政府"]),
    ("以下内容不再列出。", []),
])
def test_implicit_statements(text: str, names: list[str]) -> None:
    found = [u.name for _, units in implicit_statements(text) for u in units]
    assert found == names
