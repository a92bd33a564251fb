"""Repairing extracted text: widths, residue, page furniture, wrapped lines."""

from __future__ import annotations

import pytest

from checklists.text import clean_line, fold_width, normalize, paragraphs


@pytest.mark.parametrize(("raw", "expected"), [
    ("２０２４年", "2024年"),
    ("ＡＢＣ－１２", "ABC-12"),
    ("（责任单位：省科技厅，省经信厅；）", "（责任单位：省科技厅，省经信厅；）"),
    ("①②⑴⒈㈠", "①②⑴⒈㈠"),
    ("１．", "1."),
    ("\u3000\u3000正文", "  正文"),
])
def test_fold_width_keeps_chinese_punctuation_and_enclosed_numerals(raw: str,
                                                                     expected: str) -> None:
    assert fold_width(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("[bookmark: OLE_LINK9]——创新能力", "——创新能力"),
    ("提高 Ｃ － Ｖ２Ｘ 车端渗透率", "提高C-V2X车端渗透率"),
    ("２０２４ 年 １ 月 １３ 日", "2024年1月13日"),
    ("支持运营商扩大 5G 基站规模", "支持运营商扩大5G基站规模"),
    ("**本报讯** 近日", "本报讯近日"),
    ("1.\t吸引车端企业", "1.吸引车端企业"),
    ("序号\t任务\t牵头单位", "序号\t任务\t牵头单位"),
    ("责任单位：市发改委 市财政局  各区政府", "责任单位：市发改委、市财政局、各区政府"),
])
def test_clean_line(raw: str, expected: str) -> None:
    assert clean_line(raw) == expected


def test_page_numbers_and_running_heads_are_dropped() -> None:
    lines = ["某市文件", "一、第一项。", "- 2 -", "某市文件", "二、第二项。", "第 3 页",
             "某市文件", "3"]
    assert paragraphs("\n".join(lines)) == ["一、第一项。", "二、第二项。"]


def test_wrapped_lines_rejoin_but_headings_and_sentences_end_paragraphs() -> None:
    raw = "\n\n".join([
        "某省人民政府关于", "推进某项工作的意见", "各市人民政府：",
        "一、总体要求", "（一）加强组织领导。建立工作专班，统筹推进各项",
        "工作任务落实，定期研究解决重大问题，确保取",
        "得实效。（责", "任单位：省发展改革委）",
    ])
    assert paragraphs(raw) == [
        "某省人民政府关于", "推进某项工作的意见", "各市人民政府：", "一、总体要求",
        "（一）加强组织领导。建立工作专班，统筹推进各项工作任务落实，定期研究解决重大问题，确保取得实效。"
        "（责任单位：省发展改革委）",
    ]


def test_an_open_bracket_carries_into_the_next_line_even_after_a_short_line() -> None:
    assert paragraphs("建设平台。（责\n任单位：市工信局）") == ["建设平台。（责任单位：市工信局）"]


def test_label_lines_stay_paragraphs() -> None:
    raw = "1.建设平台。\n牵头单位：市工信局、市发展改革委、市财政局、市科技局\n完成时限：2024年底"
    assert paragraphs(raw)[1:] == [
        "牵头单位：市工信局、市发展改革委、市财政局、市科技局", "完成时限：2024年底"]


def test_normalize_gives_one_paragraph_per_line() -> None:
    assert normalize("一、甲。\r\n\r\n二、乙。") == "一、甲。\n二、乙。"
