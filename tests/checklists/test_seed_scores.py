"""The extractor against the hand-checked gold decompositions of the seed documents.

Runs the project's scorer (shared/tools/score_extraction.py) in-process on the extractor's
output, and holds the bar the product promises: unit F1 ≥ 0.99, lead and deadline
accuracy ≥ 98 %, every recurrence found.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from checklists.extract import extract
from checklists.reading import read_document

SHARED = Path(__file__).resolve().parents[3] / "shared"
SCORER = SHARED / "tools" / "score_extraction.py"
pytestmark = pytest.mark.skipif(not SCORER.exists(), reason="shared/ not beside the repo")


def load_scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("score_extraction", SCORER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_extraction_meets_the_bar() -> None:
    scorer = load_scorer()
    totals = {"tp": 0, "fp": 0, "fn": 0, "lead": [0, 0], "deadline": [0, 0], "recurrence": [0, 0]}
    for doc in sorted((SHARED / "seeds").glob("*.txt")):
        gold = json.loads(Path(scorer.gold_path(str(doc))).read_text(encoding="utf-8"))
        text = read_document(doc.read_bytes(), doc.name)
        predicted = json.loads(json.dumps(extract(text).to_dict(), ensure_ascii=False))
        result = scorer.score(str(doc), gold, predicted, False)
        assert result["matched"] == result["gold_measures"], doc.name
        for key in ("tp", "fp", "fn"):
            totals[key] += result[key]
        for key in ("lead", "deadline", "recurrence"):
            totals[key][0] += result[key][0]
            totals[key][1] += result[key][1]
    precision = totals["tp"] / (totals["tp"] + totals["fp"])
    recall = totals["tp"] / (totals["tp"] + totals["fn"])
    assert 2 * precision * recall / (precision + recall) >= 0.99
    for key in ("lead", "deadline"):
        right, total = totals[key]
        assert right >= 0.98 * total, (key, right, total)
    assert totals["recurrence"][0] == totals["recurrence"][1]
