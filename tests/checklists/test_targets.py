"""Numeric targets as a table: text in, value/unit/comparator out."""

from __future__ import annotations

import pytest

from checklists.targets import targets


@pytest.mark.parametrize(("text", "expected"), [
    ("部署建设智慧路口不少于150个", [(150, "个", ">=")]),
    ("产业营业收入达到2000亿元", [(2000, "亿元", ">=")]),
    ("为超过5家企业提供服务", [(5, "家", ">")]),
    ("新建居住区固定车位100%建设充电设施", [(100, "%", "=")]),
    ("建成高速公路1000公里以上", [(1000, "公里", ">=")]),
    ("营业收入突破200亿元", [(200, "亿元", ">")]),
    ("PM2.5浓度控制在30微克以内，重污染天数不超过5天", []),
    ("重污染天数控制在5次以内", [(5, "次", "<=")]),
    ("能耗强度低于0.5吨", [(0.5, "吨", "<")]),
    ("用户接入不少于20万个", [(20, "万个", ">=")]),
    ("打造2-3个全球知名品牌", [(2, "个", ">=")]),
    ("培育营收超十亿元企业5家以上", [(5, "家", ">=")]),
    ("每个街道至少建成1个社区食堂", [(1, "个", ">=")]),
    ("产值增长15%左右", [(15, "%", "=")]),
    ("第1部分：总则，L2级辅助驾驶，5G网络", []),
    ("1个发展规划、1个行动计划", []),
    ("2025年完成", []),
])
def test_targets(text: str, expected: list[tuple[float, str, str]]) -> None:
    assert [(t.value, t.unit, t.comparator) for t in targets(text)] == expected


def test_target_text_is_its_clause_and_values_keep_their_type() -> None:
    found = targets("到2027年，升级支持5G基站3000个，部署建设智慧路口不少于150个。")
    assert [t.text for t in found] == ["升级支持5G基站3000个", "部署建设智慧路口不少于150个"]
    assert isinstance(found[0].value, int)
    assert isinstance(targets("里程820.3公里以上")[0].value, float)
