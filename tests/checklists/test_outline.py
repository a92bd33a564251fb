"""Outline markers, nesting, refs, titles and the document title."""

from __future__ import annotations

import pytest

from checklists.outline import cn_number, document_title, match_marker, parse, title_of


@pytest.mark.parametrize(("text", "expected"), [
    ("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("九十九", 99), ("一百零一", 101),
    ("两千", 2000), ("12", 12), ("甲", None),
])
def test_cn_number(text: str, expected: int | None) -> None:
    assert cn_number(text) == expected


@pytest.mark.parametrize(("paragraph", "kind", "label", "rest"), [
    ("一、总体要求", "cn_dun", "一、", "总体要求"),
    ("十二、其他", "cn_dun", "十二、", "其他"),
    ("（三）加强保障", "cn_paren", "（三）", "加强保障"),
    ("(二) 产业发展路径", "cn_paren", "（二）", "产业发展路径"),
    ("㈣推进", "cn_paren", "（四）", "推进"),
    ("7.大力建设", "arabic_dot", "7.", "大力建设"),
    ("1．建立", "arabic_dot", "1.", "建立"),
    ("3、推动", "arabic_dot", "3.", "推动"),
    ("⒉推动", "arabic_dot", "2.", "推动"),
    ("（1）选取", "arabic_paren", "（1）", "选取"),
    ("⑵评估", "arabic_paren", "（2）", "评估"),
    ("1）开展", "arabic_half", "1）", "开展"),
    ("①培育", "circled", "①", "培育"),
    ("第三条 支持", "article", "第三条", "支持"),
    ("第二章 总则", "chapter", "第二章", "总则"),
])
def test_match_marker(paragraph: str, kind: str, label: str, rest: str) -> None:
    marker = match_marker(paragraph)
    assert marker is not None and (marker.kind, marker.label, marker.rest) == (kind, label, rest)


@pytest.mark.parametrize(
    "paragraph", ["3.5亿元投入", "2025年完成", "一是加强", "十分重要", "（以下简称）"])
def test_not_a_marker(paragraph: str) -> None:
    assert match_marker(paragraph) is None


def test_parse_nests_by_order_of_appearance_and_rejects_out_of_sequence_numbers() -> None:
    preamble, nodes = parse(
        ["前言。", "一、甲", "（一）乙", "1.丙", "5.不是标题", "2.丁", "二、戊"])
    assert preamble == ["前言。"]
    assert [n.ref for n in nodes] == ["一、", "一、（一）", "一、（一）1.", "一、（一）2.", "二、"]
    assert nodes[2].paragraphs == ["丙", "5.不是标题"]
    assert nodes[1].children == [2, 3]


def test_sign_off_is_not_part_of_the_last_measure() -> None:
    _, nodes = parse(["一、甲。", "某省人民政府办公厅", "2024年1月13日", "抄送：省委各部门。"])
    assert nodes[0].paragraphs == ["甲。"]


@pytest.mark.parametrize(("text", "expected"), [
    ("建设高能级创新载体。支持实验室建设。", "建设高能级创新载体"),
    ("吸引车端企业集聚\n培育智能网联汽车产业。", "吸引车端企业集聚"),
    ("推进建设", "推进建设"),
])
def test_title_of(text: str, expected: str) -> None:
    assert title_of(text) == expected


@pytest.mark.parametrize(("paragraphs", "expected"), [
    (["附件", "某省行动计划（2023-2025年）", "（征求意见稿）", "为推动发展，制定本计划。"],
     ("某省行动计划（2023-2025年）（征求意见稿）", 3)),
    (["某省人民政府关于", "推进某项工作的意见", "各市人民政府："],
     ("某省人民政府关于推进某项工作的意见", 2)),
    (["某市关于印发《某市行动计划（2024—2026年）》的通知", "来源：某市发改委", "各区："],
     ("某市行动计划（2024—2026年）", 1)),
    (["一、总体要求"], ("", 0)),
])
def test_document_title(paragraphs: list[str], expected: tuple[str, int]) -> None:
    assert document_title(paragraphs) == expected
