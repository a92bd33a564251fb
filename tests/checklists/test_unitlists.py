"""Splitting written unit lists into names, as a table."""

from __future__ import annotations

import pytest

from checklists.unitlists import has_place, is_group, level_prefix, looks_like_unit, split_units


@pytest.mark.parametrize(("text", "names"), [
    ("省科技厅、省发展改革委，湖州市和德清县政府",
     ["省科技厅", "省发展改革委", "湖州市政府", "德清县政府"]),
    ("省工业和信息化厅、省住房和城乡建设厅", ["省工业和信息化厅", "省住房和城乡建设厅"]),
    ("市发展改革委、工业和信息化局、科技创新委",
     ["市发展改革委", "市工业和信息化局", "市科技创新委"]),
    ("市发展改革委、市场监管局、城市管理局", ["市发展改革委", "市市场监管局", "市城市管理局"]),
    ("市规划和自然资源局、国资委、南山区政府、深汕特别合作区管委会",
     ["市规划和自然资源局", "市国资委", "南山区政府", "深汕特别合作区管委会"]),
    ("区发展改革局、住房城乡建设局、乡村振兴局",
     ["区发展改革局", "区住房城乡建设局", "区乡村振兴局"]),
    ("区工信局、锡山交警大队、区城管局、锡山自然资源规划分局",
     ["区工信局", "锡山交警大队", "区城管局", "锡山自然资源规划分局"]),
    ("区电信分局、锡山移动公司", ["区电信分局", "锡山移动公司"]),
    ("省经信厅、省财政厅、国家金融监督管理总局浙江监管局",
     ["省经信厅", "省财政厅", "国家金融监督管理总局浙江监管局"]),
    ("省工信厅、省大数据局，海口、三亚、澄迈等市县政府",
     ["省工信厅", "省大数据局", "海口、三亚、澄迈等市县政府"]),
    ("省工信厅、海口、三亚等相关市县政府", ["省工信厅", "海口、三亚等相关市县政府"]),
    ("开发区、商务区、各镇<街道>", ["开发区", "商务区", "各镇<街道>"]),
    ("各镇（街道、园区），市直有关部门", ["各镇（街道、园区）", "市直有关部门"]),
    ("省科技厅、省经信厅等", ["省科技厅", "省经信厅"]),
    ("国家发展改革委、工业和信息化部、财政部等部门",
     ["国家发展改革委", "工业和信息化部", "财政部"]),
    ("【市发改委】、[市财政局]；〔市科技局〕", ["市发改委", "市财政局", "市科技局"]),
    ("市发改委,市财政局;市科技局", ["市发改委", "市财政局", "市科技局"]),
])
def test_split_units(text: str, names: list[str]) -> None:
    assert [u.name for u in split_units(text)] == names


def test_groups_segments_and_marks() -> None:
    units = split_units("市文旅局★、市商务局（牵头），各区政府", symbol="★")
    assert [(u.name, u.group, u.marked, u.segment) for u in units] == [
        ("市文旅局", False, True, 0), ("市商务局", False, True, 0), ("各区政府", True, False, 1)]


@pytest.mark.parametrize(("name", "group"), [
    ("各镇<街道>", True), ("相关市县政府", True), ("各相关单位", True), ("省直有关单位", True),
    ("〔各区〕水利部门", True), ("开发区", False), ("省科技厅", False), ("各电信运营商", True),
])
def test_is_group(name: str, group: bool) -> None:
    assert is_group(name) is group


def test_level_and_place_morphology() -> None:
    assert level_prefix("市市场监管局") == "市"
    assert level_prefix("市场监管局") is None
    assert has_place("南山区政府") and has_place("国家发展改革委")
    assert not has_place("工业和信息化局")


@pytest.mark.parametrize(("name", "unit"), [
    ("省科技厅", True), ("锡山交警大队", True), ("海南热带汽车试验有限公司", True),
    ("各相关单位", True), ("浙江德清", False), ("以下简称", False), ("京讯", False),
])
def test_looks_like_unit(name: str, unit: bool) -> None:
    assert looks_like_unit(name) is unit
