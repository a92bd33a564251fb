"""Deadline phrases, plan periods and recurrence, as tables."""

from __future__ import annotations

from datetime import date

import pytest

from checklists.deadlines import (
    DEFAULT,
    DOCUMENT_PERIOD,
    MEASURE_TEXT,
    dates_in,
    document_year,
    measure_deadline,
    plan_period,
    recurrence,
)


@pytest.mark.parametrize(("text", "year", "expected"), [
    ("到2025年，建成示范区", None, [date(2025, 12, 31)]),
    ("力争到2027年形成规模", None, [date(2027, 12, 31)]),
    ("2025年6月底前完成", None, [date(2025, 6, 30)]),
    ("2024年2月底前出台", None, [date(2024, 2, 29)]),
    ("于2024年10月15日前报送", None, [date(2024, 10, 15)]),
    ("2024年底前完成验收", None, [date(2024, 12, 31)]),
    ("2025年前基本建成", None, [date(2025, 12, 31)]),
    ("2024年内完成", None, [date(2024, 12, 31)]),
    ("2025年上半年完成", None, []),
    ("到2025年上半年完成", None, [date(2025, 6, 30)]),
    ("2025年第一季度前完成", None, [date(2025, 3, 31)]),
    ("到2026年三季度", None, [date(2026, 9, 30)]),
    ("2024年启动，年底前完成", None, [date(2024, 12, 31)]),
    ("年底前完成", 2023, [date(2023, 12, 31)]),
    ("年底前完成", None, []),
    ("9月底前完成", 2024, [date(2024, 9, 30)]),
    ("自2024年3月1日起施行", None, []),
    ("将于2025年5月1日起施行", None, []),
    ("截至2023年底，已建成100个", None, []),
    ("2021年，我市产业收入1066亿元", None, []),
    ("《行动计划（2023-2025年）》", None, []),
    ("完成时限：2024年", None, [date(2024, 12, 31)]),
    ("完成时限：2023-2025年", None, [date(2025, 12, 31)]),
    ("2024年6月底前完成试点，到2025年全面推广", None, [date(2024, 6, 30), date(2025, 12, 31)]),
])
def test_dates_in(text: str, year: int | None, expected: list[date]) -> None:
    assert dates_in(text, year=year) == expected


@pytest.mark.parametrize(("title", "expected"), [
    ("某省三年行动计划（2023-2025年）", (2023, 2025)),
    ("某市行动方案(2025—2027年)", (2025, 2027)),
    ("某市规划（2021年—2025年）", (2021, 2025)),
    ("某市规划2024至2026年", (2024, 2026)),
    ("关于支持某区高质量发展的若干意见", None),
    ("某市2024年数字政府建设工作要点", (2024, 2024)),
    ("2024年度某县重点任务清单", (2024, 2024)),
    ("", None),
])
def test_plan_period(title: str, expected: tuple[int, int] | None) -> None:
    assert plan_period(title) == expected


def test_measure_deadline_prefers_the_text_then_the_period_then_the_default() -> None:
    period, default = (2023, 2025), date(2024, 6, 30)
    stated = measure_deadline("2024年9月底前完成", period=period, default=default)
    assert stated is not None and (stated.date, stated.source) == (date(2024, 9, 30), MEASURE_TEXT)
    planned = measure_deadline("推进建设", period=period, default=default)
    assert planned is not None and (planned.date, planned.source) == (date(2025, 12, 31),
                                                                      DOCUMENT_PERIOD)
    fallback = measure_deadline("推进建设", default=default)
    assert fallback is not None and (fallback.date, fallback.source) == (default, DEFAULT)
    assert measure_deadline("推进建设") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("每年举办专业类活动不少于3场", "yearly"),
    ("年均接待人次不少于10000人", "yearly"),
    ("每半年开展一次评估", "half-yearly"),
    ("每季度通报一次进展", "quarterly"),
    ("按季度报送", "quarterly"),
    ("按月报送统计数据", "monthly"),
    ("每周调度", "weekly"),
    ("每年举办论坛，每季度报送进展", "quarterly"),
    ("按年度明确重点工作", None),
    ("逐年提高覆盖率", None),
])
def test_recurrence(text: str, expected: str | None) -> None:
    assert recurrence(text) == expected


def test_document_year_reads_the_date_line_or_metadata() -> None:
    assert document_year(["正文。", "某市人民政府", "2024年1月13日"]) == 2024
    assert document_year(["来源：某市发展改革委发布时间：2022-06-06"]) == 2022
    assert document_year(["正文。"]) is None
