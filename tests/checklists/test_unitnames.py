"""Keys that let two spellings of one unit meet in the directory."""

from __future__ import annotations

import pytest

from checklists.unitnames import name_key, short_key


@pytest.mark.parametrize(("a", "b"), [
    ("各镇<街道>", "各镇（街道）"),
    ("各镇【街道】", "各镇(街道)"),
    ("省 科技厅", "省科技厅"),
    ("ＡＢＣ公司", "ABC公司"),
])
def test_name_key_normalises_width_space_and_brackets(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(("long", "short"), [
    ("省发展和改革委员会", "省发展改革委"),
    ("省市场监督管理局", "省市场监管局"),
    ("湖州市人民政府", "湖州市政府"),
    ("深汕特别合作区管理委员会", "深汕特别合作区管委会"),
    ("区住房和城乡建设局", "区住房城乡建设局"),
])
def test_short_key_matches_official_short_forms(long: str, short: str) -> None:
    assert short_key(long) == short_key(short)


def test_short_key_does_not_invent_character_abbreviations() -> None:
    assert short_key("省经信厅") != short_key("省工业和信息化厅")
