"""Extraction cases: small synthetic documents in, expected measures out.

Each `cases/*.yaml` holds a `text` (and optionally a `title` and `default_deadline`) and
what `extract` must find. Only the keys a case lists are compared, except that the list
of measures must match in length and order. Units are written compactly as
"name role [group] [implicit]".
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from checklists.extract import Measure, extract

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def _unit(spec: str) -> dict[str, Any]:
    name, role, *flags = spec.split()
    return {"name": name, "role": role, "group": "group" in flags, "implicit": "implicit" in flags}


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _actual(measure: Measure, key: str) -> object:
    if key == "joint":
        return measure.joint
    value = measure.to_dict()[key]
    if key == "units":
        return [{k: u[k] for k in ("name", "role", "group", "implicit")} for u in value]
    return value


def _expected(key: str, value: object) -> object:
    if key == "units":
        return [_unit(spec) for spec in value]  # type: ignore[attr-defined]
    return _iso(value)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    result = extract(case["text"], title=case.get("title"),
                     default_deadline=case.get("default_deadline"))
    expect = case["expect"]
    for key in ("title", "lead_rule"):
        if key in expect:
            assert getattr(result, key) == expect[key], key
    if "period" in expect:
        assert result.to_dict()["period"] == expect["period"]
    assert [m.ref for m in result.measures] == [m["ref"] for m in expect["measures"]]
    for measure, wanted in zip(result.measures, expect["measures"], strict=True):
        for key, value in wanted.items():
            assert _actual(measure, key) == _expected(key, value), f"{measure.ref} {key}"
