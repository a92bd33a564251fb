"""Import speed: the five seed documents and a generated plan of 5 000 measures.

Each document goes into a fresh database (SQLite file; PostgreSQL with `--postgres URL`,
in a schema of its own that is dropped afterwards) the way `checklist import` stores it:
read, extract, resolve units, then measures, targets, items, audit records and events in
one transaction. The extraction alone is timed too, so that the database's share shows.

    python -m bench.imports [--measures 5000] [--seeds DIR] [--postgres URL]

Prints the figures and writes them to bench/results/imports.json.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import run_sizes, timed
from service.config import Config
from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.documents import (
    ImportReport,
    ImportRequest,
    import_document,
    read_and_extract,
)

RESULTS = Path(__file__).resolve().parent / "results" / "imports.json"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SECTIONS_PER_CHAPTER, MEASURES_PER_SECTION = 25, 10
CONFIG = Config()

UNITS = (
    "市发展改革委", "市教育局", "市科技局", "市工业和信息化局", "市公安局", "市民政局",
    "市司法局", "市财政局", "市人力资源社会保障局", "市自然资源和规划局", "市生态环境局",
    "市住房城乡建设局", "市交通运输局", "市水务局", "市农业农村局", "市商务局",
    "市文化广电旅游局", "市卫生健康委", "市应急管理局", "市市场监管局", "市统计局",
    "市医保局", "市数据局", "市城管局", "市税务局", "市委宣传部", "市委网信办", "各区政府",
)  # fmt: skip
ACTIONS = ("建设", "推进", "完善", "实施", "加快", "深化", "健全", "培育", "开展", "强化")
SUBJECTS = (
    "智慧路口", "算力中心", "充电设施", "5G基站", "数据中心", "创新平台", "示范项目",
    "应用场景", "产业园区", "公共服务平台", "人才培训基地", "检验检测中心", "标准体系",
)  # fmt: skip
THEMES = ("夯实基础设施", "提升创新能力", "壮大产业集群", "拓展应用场景", "优化发展环境")
DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Source:
    """One document to import: a name for the tables, its bytes and its file name."""

    name: str
    data: bytes
    filename: str


def chinese(n: int) -> str:
    """1 → 一, 10 → 十, 25 → 二十五 (up to 99), as outline markers write them."""
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else "十" if tens == 1 else DIGITS[tens] + "十") + (
        DIGITS[ones] if ones or not tens else ""
    )


def responsibility(n: int) -> str:
    """The unit annotation in the forms the documents use: lead and co-units, a list, joint."""
    lead, co, other = (UNITS[(n + step) % len(UNITS)] for step in (0, 1 + n % 5, 7 + n % 11))
    forms = (
        f"（{lead}牵头，{co}、{other}配合）",
        f"（责任单位：{lead}、{co}）",
        f"（{lead}牵头，各相关单位按职责分工负责）",
        f"（责任单位：{lead}）",
    )
    return forms[n % len(forms)]


def measure_paragraph(n: int, number: int) -> str:
    subject = SUBJECTS[n % len(SUBJECTS)]
    title = f"{ACTIONS[n % len(ACTIONS)]}{subject}"
    deadline = ("", f"到{2025 + n % 3}年底前，", f"{2025 + n % 2}年{n % 12 + 1}月底前")[n % 3]
    target = f"新增{subject}不少于{10 + n % 90}个" if n % 2 else f"完成第{n + 1}批{subject}建设任务"
    body = f"{deadline}{target}，建立健全工作机制，定期通报进展情况。"
    return f"{number}.{title}。{body}{responsibility(n)}"


def generated_plan(measures: int) -> str:
    """A plan in the outline the extractor reads: 一、 chapters, （一） sections, 1. measures."""
    lines = ["某市推进智能网联汽车产业高质量发展行动方案（2025-2027年）", ""]
    lines.append("为加快推进产业高质量发展，结合本市实际，制定本方案。")
    per_chapter = SECTIONS_PER_CHAPTER * MEASURES_PER_SECTION
    for n in range(measures):
        chapter, rest = divmod(n, per_chapter)
        section, number = divmod(rest, MEASURES_PER_SECTION)
        if rest == 0:
            lines.append(f"{chinese(chapter + 1)}、{THEMES[chapter % len(THEMES)]}")
        if number == 0:
            lines.append(f"（{chinese(section + 1)}）{SUBJECTS[section % len(SUBJECTS)]}工作")
        lines.append(measure_paragraph(n, number + 1))
    return "\n".join(lines) + "\n"


def sources(seeds: Path, measures: int) -> Iterator[Source]:
    for path in sorted(seeds.glob("*.txt")):
        yield Source(path.stem, path.read_bytes(), path.name)
    plan = generated_plan(measures).encode("utf-8")
    yield Source(f"generated {measures}", plan, f"generated-{measures}.txt")


def import_source(database: Database, source: Source) -> ImportReport:
    """Store a document as `checklist import` does."""
    now = datetime.now(UTC)
    return import_document(
        database,
        ImportRequest(source.data, source.filename),
        actor=CLI_ACTOR,
        now=now,
        today=CONFIG.local_date(now),
        max_bytes=CONFIG.max_upload_bytes,
    )


def measure(database: Database, source: Source) -> dict[str, Any]:
    request = ImportRequest(source.data, source.filename)
    extract_s, _ = timed(lambda: read_and_extract(request, max_bytes=CONFIG.max_upload_bytes))
    import_s, report = timed(lambda: import_source(database, source))
    return {
        "document": source.name,
        "kb": round(len(source.data) / 1024),
        "measures": report.measures,
        "items": report.items,
        "extract_s": extract_s,
        "import_s": import_s,
        "measures_per_s": round(report.measures / import_s),
        "items_per_s": round(report.items / import_s),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=5000, help="in the generated plan")
    parser.add_argument("--seeds", type=Path, default=SEEDS, help="folder of .txt documents")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"python": platform.python_version()}
    run_sizes(sources(args.seeds, args.measures), args.postgres, measure, result, RESULTS)
    return result


if __name__ == "__main__":
    main()
