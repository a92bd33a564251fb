"""The extraction as a whole: its JSON shape and its public names."""

from __future__ import annotations

import json
from datetime import date

from checklists.extract import Extraction, Measure, ResponsibleUnit, Target, extract

DOCUMENT = """某市数字经济三年行动计划（2023-2025年）

一、建设算力中心。到2024年底建成算力中心不少于2个。（责任单位：市发展改革委、市工信局）

二、强化宣传。加强政策宣传解读。
"""


def test_to_dict_has_exactly_the_published_shape() -> None:
    result = extract(DOCUMENT)
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert set(data) == {"title", "period", "measures"}
    assert data["period"] == [2023, 2025]
    first, second = data["measures"]
    assert set(first) == {"ref", "title", "text", "units", "deadline", "deadline_source",
                          "recurrence", "targets"}
    assert first["units"][0] == {"name": "市发展改革委", "canonical": None, "role": "lead",
                                 "group": False, "implicit": False}
    assert (first["deadline"], first["deadline_source"]) == ("2024-12-31", "measure text")
    assert first["targets"] == [
        {"text": "到2024年底建成算力中心不少于2个", "value": 2, "unit": "个", "comparator": ">="}]
    assert second["units"] == []  # unassigned: no unit is invented
    assert (second["deadline"], second["deadline_source"]) == ("2025-12-31", "document period")


def test_public_types() -> None:
    result = extract(DOCUMENT, default_deadline=date(2030, 1, 1))
    assert isinstance(result, Extraction)
    measure = result.measures[0]
    assert isinstance(measure, Measure) and isinstance(measure.units[0], ResponsibleUnit)
    assert isinstance(measure.targets[0], Target)


def test_empty_text_has_no_measures() -> None:
    result = extract("")
    assert (result.title, result.period, result.measures) == ("", None, [])
