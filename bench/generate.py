"""Realistic volumes for benchmarks: a unit directory, documents, measures, items, histories.

`populate` fills a migrated, empty database by batched bulk inserts, deterministically from
a seed: 2 000 units named as a province's agencies, cities and counties are (some far busier
than others, a few groups such as 各设区市政府), 1 000 documents of uneven length imported
over three years, their measures (text with 责任单位 and 完成时限, numeric targets, a few
yearly ones) with one lead unit (牵头) and co-units (配合) each, and every item's history
up to `now`: the audit records and events of each workflow action it went through, to a
state drawn by how close its deadline is (see bench/histories.py).

    python -m bench.generate --items 100000 [--documents 1000] [--units 2000] [--seed 7]
                             [--database-url URL]

Without `--database-url` it fills var/bench.db; the database must have no items yet.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import Table, func, select, text

from bench.harness import bulk_insert, timed
from bench.histories import SUPERVISOR, Assignment, MeasureFacts, Recorder, live, local_date
from checklists.unitnames import name_key, short_key
from service import schema
from service.config import normalise_database_url
from service.db import Database
from service.models import AuditRecord, Document, Event, Item, Measure, Target, Unit
from webhooks import events


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SEED = 7
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, a Friday
GROUPS = ("各设区市政府", "各县（市、区）政府", "省级有关单位")
PROVINCE = words(
    "发展改革委 教育厅 科技厅 经济和信息化厅 公安厅 民政厅 司法厅 财政厅 人力社保厅 自然资源厅"
    " 生态环境厅 建设厅 交通运输厅 水利厅 农业农村厅 商务厅 文化和旅游厅 卫生健康委 应急管理厅"
    " 退役军人事务厅 审计厅 国资委 市场监管局 广电局 体育局 统计局 医保局 机关事务管理局 数据局"
    " 林业局 能源局 税务局"
)
LOCAL = words(
    "发展改革局 教育局 科技局 经济和信息化局 公安局 民政局 司法局 财政局 人力社保局 生态环境局"
    " 自然资源和规划局 住房城乡建设局 交通运输局 水利局 农业农村局 商务局 文化广电旅游局 医保局"
    " 卫生健康局 应急管理局 审计局 市场监管局 统计局 数据资源局 综合行政执法局 人民政府"
    " 人民政府办公室"
)
CITIES = words("杭州市 宁波市 温州市 嘉兴市 湖州市 绍兴市 金华市 衢州市 舟山市 台州市 丽水市")
COUNTIES = words(
    "上城区 拱墅区 西湖区 滨江区 萧山区 余杭区 临平区 钱塘区 富阳区 临安区 桐庐县 淳安县 建德市"
    " 海曙区 江北区 北仑区 镇海区 鄞州区 奉化区 余姚市 慈溪市 宁海县 象山县 鹿城区 龙湾区 瓯海区"
    " 洞头区 瑞安市 乐清市 龙港市 永嘉县 平阳县 苍南县 文成县 泰顺县 南湖区 秀洲区 海宁市 平湖市"
    " 桐乡市 嘉善县 海盐县 吴兴区 南浔区 德清县 长兴县 安吉县 越城区 柯桥区 上虞区 诸暨市 嵊州市"
    " 新昌县 婺城区 金东区 兰溪市 义乌市 东阳市 永康市 武义县 浦江县 磐安县 柯城区 衢江区 江山市"
    " 常山县 开化县 龙游县 定海区 普陀区 岱山县 嵊泗县 椒江区 黄岩区 路桥区 临海市 温岭市 玉环市"
    " 三门县 天台县 仙居县 莲都区 龙泉市 青田县 缙云县 遂昌县 松阳县 云和县"
)
# How often a unit is named: province agencies lead most measures, groups are co-units.
WEIGHTS = {"group": 10.0, "province": 30.0, "city": 4.0, "county": 1.0}
TOPICS = words(
    "推动制造业高质量发展 优化营商环境 加快数字经济发展 促进民营经济发展壮大 全面推进乡村振兴"
    " 推进文化和旅游深度融合 深入打好污染防治攻坚战 稳定和扩大就业 提升城市治理现代化水平"
    " 加快建设现代综合交通运输体系 推进科技创新 加强安全生产 促进消费扩容提质 深化国有企业改革"
)
KINDS = words("若干意见 行动计划 实施方案 三年行动方案 工作要点 若干政策措施")
VERBS = words("加快 推进 深化 健全 完善 强化 实施 支持 优化 打造 培育 提升")
OBJECTS = words(
    "产业链协同创新 重大项目建设 数字化改革 要素保障 人才引育 金融支持 公共服务供给 城乡融合发展"
    " 科技成果转化 企业梯度培育 开放平台建设 安全生产监管 生态保护修复 基础设施补短板"
    " 专精特新企业 高标准农田建设 养老服务体系 社区嵌入式服务设施"
)
COUNTED = words("个 家 项 亿元 万人 公里")
# Units named per measure: mostly one to four, sometimes a long list.
UNIT_COUNTS = (1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6, 8)
TABLES = [m.__table__ for m in (Unit, Document, Measure, Target, Item, AuditRecord, Event)]


def unit_directory(count: int) -> list[tuple[str, str]]:
    """`count` (name, kind) pairs: groups, the province's agencies, cities', counties'."""
    names = [(n, "group") for n in GROUPS] + [(f"省{a}", "province") for a in PROVINCE]
    names += [(f"{c}{a}", "city") for c in CITIES for a in LOCAL]
    names += [(f"{c}{a}", "county") for c in COUNTIES for a in LOCAL]
    names += [(f"{CITIES[n % len(CITIES)]}专班{n}", "county") for n in range(count - len(names))]
    return names[:count]


class Loader:
    """Rows buffered per table and written parents first (foreign keys hold), to each database."""

    def __init__(self, databases: Sequence[Database], batch: int = 20_000) -> None:
        self.databases, self.batch = databases, batch
        self.pending: dict[Table, list[dict[str, Any]]] = {table: [] for table in TABLES}

    def add(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        self.pending[table].extend(rows)
        if len(self.pending[table]) >= self.batch:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.pending.items():
            for database in self.databases:
                bulk_insert(database, table, rows, self.batch)
            rows.clear()


class Generator:
    """Documents one after another, each with its measures, targets, items and histories."""

    def __init__(self, rng: random.Random, units: int, now: datetime) -> None:
        self.rng, self.now, self.recorder = rng, now, Recorder(rng)
        directory = unit_directory(units)
        self.names = [name for name, _kind in directory]
        self.cumulative = list(accumulate(WEIGHTS[kind] for _name, kind in directory))
        created = now - timedelta(days=1200)
        self.staged: dict[Table, list[dict[str, Any]]] = {t: [] for t in TABLES}
        self.staged[Unit.__table__] = [
            unit_row(n, name, kind, created) for n, (name, kind) in enumerate(directory, start=1)
        ]

    def take(self) -> Iterable[tuple[Table, list[dict[str, Any]]]]:
        """The rows generated since the last call, parents first."""
        audit, events_ = self.recorder.drain()
        self.staged[AuditRecord.__table__], self.staged[Event.__table__] = audit, events_
        taken, self.staged = self.staged, {t: [] for t in TABLES}
        return taken.items()

    def document(self, number: int, of: int, quota: int) -> None:
        """Document `number` of `of`, imported in turn over three years, with `quota` items."""
        rng = self.rng
        created = self.now - timedelta(days=1100 - 1090 * number / of, hours=rng.uniform(0, 8))
        start = local_date(created).year
        end = start + rng.choice((1, 2, 2, 3))
        title = f"关于{rng.choice(TOPICS)}的{rng.choice(KINDS)}（{start}—{end}年）"
        head = {"id": number, "title": title, "created_at": created, "plan_end": date(end, 12, 31)}
        texts, position = [title], 0
        while quota:
            position += 1
            count = min(quota, rng.choice(UNIT_COUNTS))
            texts.append(self.measure(head, position, count))
            quota -= count
        self.staged[Document.__table__].append(document_row(head, (start, end), texts, rng))
        self.recorder.record(created, SUPERVISOR, "import", number, entity="document", note=title)
        data = {"document": {"id": str(number), "title": title}, "outcome": "created"}
        self.recorder.emit(
            events.DOCUMENT_IMPORTED,
            f"documents/{number}",
            created,
            {**data, "revision": 1, "measures": position},
            document_id=number,
        )

    def measure(self, head: dict[str, Any], position: int, count: int) -> str:
        """One measure with `count` units, their items and histories; the measure's text."""
        rng, measure_id = self.rng, self.recorder.next_id("measure")
        title = f"{rng.choice(VERBS)}{rng.choice(OBJECTS)}"
        deadline, source = self.deadline(head)
        recurrence = "yearly" if deadline and rng.random() < 0.05 else None
        targets = self.targets(measure_id, title)
        units = self.units(count)
        joint = count > 2 and rng.random() < 0.05  # 按职责分工负责: no lead unit
        body = "；".join(t["text"] for t in targets) or "形成一批可复制可推广的经验做法"
        due = f"{deadline.year}年{deadline.month}月底前" if deadline else "长期坚持"
        names = "、".join(self.names[u - 1] for u in units)
        text_ = f"{position}. {title}。{body}。（责任单位：{names}；完成时限：{due}）"
        row = {"id": measure_id, "document_id": head["id"], "position": position}
        row |= {"ref": f"{position}.", "title": title, "text": text_, "deadline": deadline}
        row |= {"deadline_source": source, "recurrence": recurrence, "joint": joint}
        self.staged[Measure.__table__].append({**row, "withdrawn": False})
        self.staged[Target.__table__] += targets
        pairs = tuple((t["id"], t["value"]) for t in targets)
        facts = MeasureFacts(measure_id, head["id"], head["title"], row["ref"], title, pairs)
        period = ""
        if recurrence and deadline:  # this year's item, due by the year's end
            year = local_date(head["created_at"]).year
            period, deadline = str(year), min(deadline, date(year, 12, 31))
        for index, unit_id in enumerate(units):
            role = "lead" if index == 0 and not joint else "co"
            self.assign(facts, unit_id, role, period, deadline, head["created_at"])
        return text_

    def assign(
        self, facts: MeasureFacts, unit_id: int, role: str, period: str, deadline: date | None,
        at: datetime,
    ) -> None:  # fmt: skip
        """One item and its history up to now."""
        job = Assignment(
            self.recorder.next_id("item"), facts, unit_id, self.names[unit_id - 1], role,
            period, deadline, at, withdrawn=self.rng.random() < 0.003,
        )  # fmt: skip
        self.staged[Item.__table__].append(live(job, self.now, self.recorder))

    def deadline(self, head: dict[str, Any]) -> tuple[date | None, str | None]:
        """A quarter's end within the plan (80%), the plan's end (18%) or none."""
        draw = self.rng.random()
        if draw < 0.02:
            return None, None
        if draw < 0.2:
            return head["plan_end"], "period"
        first = local_date(head["created_at"]) + timedelta(days=45)
        ends = [
            date(year, month, 30 if month in (6, 9) else 31)
            for year in range(first.year, head["plan_end"].year + 1)
            for month in (3, 6, 9, 12)
        ]
        return self.rng.choice([d for d in ends if d >= first] or [head["plan_end"]]), "measure"

    def targets(self, measure_id: int, title: str) -> list[dict[str, Any]]:
        """No numeric target for most measures, one or two ("不少于150个") for some."""
        rows = []
        for position in range(self.rng.choices((0, 1, 2), (70, 25, 5))[0]):
            value = float(self.rng.choice((5, 10, 20, 50, 100, 150, 300, 1000)))
            unit = self.rng.choice(COUNTED)
            rows.append(
                {
                    "id": self.recorder.next_id("target"),
                    "measure_id": measure_id,
                    "position": position,
                    "text": f"新增{title[2:]}不少于{value:g}{unit}",
                    "value": value,
                    "unit": unit,
                    "comparator": ">=",
                }
            )
        return rows

    def units(self, count: int) -> list[int]:
        """`count` different unit ids, the busier units more often."""
        chosen: dict[int, None] = {}
        population = range(1, len(self.names) + 1)
        while len(chosen) < min(count, len(self.names)):
            chosen.setdefault(self.rng.choices(population, cum_weights=self.cumulative)[0])
        return list(chosen)


def unit_row(number: int, name: str, kind: str, created: datetime) -> dict[str, Any]:
    return {
        "id": number,
        "name": name,
        "name_key": short_key(name),
        "is_group": kind == "group",
        "confirmed": True,
        "merged_into_id": None,
        "created_at": created,
    }


def document_row(
    head: dict[str, Any], period: tuple[int, int], texts: list[str], rng: random.Random
) -> dict[str, Any]:
    return {
        "id": head["id"],
        "title": head["title"],
        "title_key": name_key(head["title"]),
        "filename": f"{head['title'][:40]}.docx",
        "content_hash": f"{rng.getrandbits(256):064x}",
        "text": "\n".join(texts),
        "period_start": period[0],
        "period_end": period[1],
        "revision": 1,
        "reminder_policy": None,
        "created_at": head["created_at"],
        "updated_at": head["created_at"],
    }


def quotas(rng: random.Random, documents: int, items: int) -> list[int]:
    """Items per document: uneven, as plans are, adding up to `items`."""
    weights = [rng.lognormvariate(0, 0.6) for _ in range(documents)]
    counts = [int(w * items / sum(weights)) for w in weights]
    for n in range(items - sum(counts)):
        counts[n % documents] += 1
    return counts


def advance_sequences(database: Database) -> None:
    """Rows came with explicit ids: PostgreSQL's sequences must continue after them."""
    if database.backend != "postgresql":
        return  # SQLite takes the next id from the table itself
    with database.engine.begin() as connection:
        for table in TABLES:
            last = connection.scalar(select(func.max(table.c.id))) or 0
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :next, false)"),
                {"table": table.name, "next": last + 1},
            )


def populate(
    database: Database | Sequence[Database],
    documents: int = 1000,
    items: int = 100_000,
    units: int = 2000,
    *,
    seed: int = SEED,
    now: datetime = NOW,
) -> dict[str, int]:
    """Fill a migrated, empty database as of `now` (or several with the same rows); the rows
    written per table."""
    databases = [database] if isinstance(database, Database) else list(database)
    rng = random.Random(seed)
    generator = Generator(rng, units, now)
    loader = Loader(databases)
    counts = dict.fromkeys((t.name for t in TABLES), 0)
    for number, quota in enumerate(quotas(rng, documents, items), start=1):
        generator.document(number, documents, quota)
        for table, rows in generator.take():
            counts[table.name] += len(rows)
            loader.add(table, rows)
    loader.flush()
    for each in databases:
        advance_sequences(each)
    return counts


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--database-url", default="sqlite:///var/bench.db")
    args = parser.parse_args(argv)
    database = Database(normalise_database_url(args.database_url))
    try:
        schema.upgrade(database)
        with database.reading() as session:
            if session.scalar(select(func.count()).select_from(Item.__table__)):
                raise SystemExit(f"{args.database_url} already has items: give an empty database")
        seconds, rows = timed(
            lambda: populate(database, args.documents, args.items, args.units, seed=args.seed)
        )
    finally:
        database.dispose()
    figures = {"seconds": seconds, "rows": rows}
    print(json.dumps(figures, ensure_ascii=False))
    return figures


if __name__ == "__main__":
    main()
