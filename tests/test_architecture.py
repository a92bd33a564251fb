"""The core stays plain Python: no Flask, no service, no clock reads."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ["checklists", "webhooks"]
FORBIDDEN_MODULES = ("flask", "service", "werkzeug", "sqlmodel", "sqlalchemy")
FORBIDDEN_CALLS = (
    "datetime.now(",
    "datetime.utcnow(",
    "date.today(",
    "time.time(",
    "uuid.uuid4(",
    "os.environ",
    "random.random(",
    "random.uniform(",
    "random.randint(",
)


def core_files() -> list[Path]:
    return sorted(p for package in CORE for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_imports_no_framework(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path}: imports {name}"


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_reads_no_clock(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    for call in FORBIDDEN_CALLS:
        assert call not in source, f"{path}: {call}"
