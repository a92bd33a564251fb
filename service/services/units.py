"""The unit directory: resolving names, aliases, merging duplicates, loading a directory file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import func
from sqlmodel import Session, col, select

from checklists.unitnames import display_name, short_key
from service.db import Database
from service.errors import Conflict, InvalidInput, NotFound
from service.models import Item, Subscription, Unit, UnitAlias
from service.services.audit import Actor, record_audit
from service.services.events import record_event
from webhooks import events


@dataclass
class UnitResolver:
    """Finds or creates units by name within one transaction, remembering what it created."""

    session: Session
    now: datetime
    created: list[Unit] = field(default_factory=list)
    _cache: dict[str, Unit] = field(default_factory=dict)

    def resolve(self, name: str, *, is_group: bool = False) -> Unit:
        key = short_key(name)
        if not key:
            raise InvalidInput("单位名称不能为空", {"name": ["单位名称不能为空"]})
        if key not in self._cache:
            self._cache[key] = find_unit(self.session, name) or self._create(name, is_group)
        return self._cache[key]

    def _create(self, name: str, is_group: bool) -> Unit:
        unit = Unit(
            name=display_name(name),
            name_key=short_key(name),
            is_group=is_group,
            confirmed=False,
            created_at=self.now,
        )
        self.session.add(unit)
        self.session.flush()
        self.created.append(unit)
        return unit


def find_unit(session: Session, name: str) -> Unit | None:
    """The unit a name (or alias) denotes, following merges to the surviving unit."""
    key = short_key(name)
    unit = session.exec(select(Unit).where(Unit.name_key == key)).first()
    if unit is None:
        alias = session.exec(select(UnitAlias).where(UnitAlias.name_key == key)).first()
        unit = session.get(Unit, alias.unit_id) if alias else None
    while unit is not None and unit.merged_into_id is not None:
        unit = session.get(Unit, unit.merged_into_id)
    return unit


def unknown_names(session: Session, names: Iterable[str]) -> dict[str, str]:
    """The names no unit or alias denotes yet, by short key: what an import would create."""
    unknown: dict[str, str] = {}
    seen: set[str] = set()
    for name in names:
        key = short_key(name)
        if key and key not in seen:
            seen.add(key)
            if find_unit(session, name) is None:
                unknown[key] = display_name(name)
    return unknown


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"单位 {unit_id} 不存在")
    return unit


def unit_by_name(session: Session, name: str) -> Unit:
    unit = find_unit(session, name)
    if unit is None:
        raise NotFound(f"单位目录中没有“{name}”", {"unit": [f"未知单位：{name}"]})
    return unit


def add_alias(session: Session, unit: Unit, alias: str, *, actor: Actor, now: datetime) -> None:
    """Record another name of `unit`; refused when the name already denotes another unit."""
    key = short_key(alias)
    if not key:
        raise InvalidInput("别名不能为空", {"alias": ["别名不能为空"]})
    existing = find_unit(session, alias)
    if existing is not None and existing.id != unit.id:
        raise Conflict(
            f"“{alias}”已是单位“{existing.name}”的名称，请先合并这两个单位",
            {"alias": [f"已属于单位 {existing.id}"]},
        )
    # A long form the key already folds (发展和改革委员会 → 发展改革委) is still listed,
    # so that people see which spellings the directory knows.
    listed = session.exec(select(UnitAlias).where(UnitAlias.name_key == key)).first()
    if listed is None and display_name(alias) != unit.name:
        session.add(UnitAlias(unit_id=unit.id, name=display_name(alias), name_key=key))
        record_audit(session, actor, "unit", unit.id, "add_alias", now=now, note=alias)
        unit_changed(session, unit, {"alias_added": display_name(alias)}, now)


def follow_merge_in_subscriptions(session: Session, source: Unit, target: Unit) -> None:
    """A robot that followed the old unit now follows the unit it was folded into."""
    for subscription in session.exec(select(Subscription)).all():
        if source.id in subscription.units:
            kept = [u for u in subscription.units if u != source.id]
            subscription.units = kept if target.id in kept else [*kept, target.id]
            session.add(subscription)


def merge_units(
    session: Session, source: Unit, target: Unit, *, actor: Actor, now: datetime
) -> int:
    """Fold `source` into `target`: its items, names and aliases move; the row stays as history.

    Returns the number of items moved. An item the target already has for the same measure
    and period is not duplicated: the source's copy is withdrawn, its history kept.
    """
    if source.id == target.id:
        raise InvalidInput("不能把单位合并到它自己", {"into": ["与源单位相同"]})
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise Conflict("已合并的单位不能再次合并", {"into": ["单位已被合并"]})
    moved = 0
    for item in session.exec(select(Item).where(Item.unit_id == source.id)).all():
        twin = session.exec(
            select(Item).where(
                Item.measure_id == item.measure_id,
                Item.unit_id == target.id,
                Item.period == item.period,
            )
        ).first()
        if twin is None:
            item.unit_id = target.id
            moved += 1
        else:
            item.withdrawn = True
        item.version += 1
        item.updated_at = now
        session.add(item)
    for alias in session.exec(select(UnitAlias).where(UnitAlias.unit_id == source.id)).all():
        alias.unit_id = target.id
        session.add(alias)
    session.add(UnitAlias(unit_id=target.id, name=source.name, name_key=source.name_key))
    follow_merge_in_subscriptions(session, source, target)
    source.merged_into_id = target.id
    source.name_key = f"merged:{source.id}:{source.name_key}"
    target.confirmed = target.confirmed or source.confirmed
    session.add_all([source, target])
    session.flush()
    data = {
        "source": {"id": source.id, "name": source.name},
        "into": {"id": target.id, "name": target.name},
        "items_moved": moved,
    }
    record_audit(session, actor, "unit", source.id, "merge", now=now, details=data)
    record_event(
        session, events.UNIT_MERGED, f"units/{target.id}", data, now=now, unit_id=target.id
    )
    return moved


def confirm_unit(session: Session, unit: Unit, *, actor: Actor, now: datetime) -> None:
    if not unit.confirmed:
        unit.confirmed = True
        session.add(unit)
        record_audit(session, actor, "unit", unit.id, "confirm", now=now)
        unit_changed(session, unit, {"confirmed": True}, now)


def unit_changed(session: Session, unit: Unit, change: dict[str, Any], now: datetime) -> None:
    data = {"unit": {"id": str(unit.id), "name": unit.name}, **change}
    record_event(session, events.UNIT_UPDATED, f"units/{unit.id}", data, now=now, unit_id=unit.id)


def list_units(session: Session, *, unconfirmed: bool | None = None) -> list[tuple[Unit, int]]:
    """Surviving units with their open item counts, by name."""
    open_items = (
        select(func.count(Item.id))
        .where(
            Item.unit_id == Unit.id,
            col(Item.withdrawn).is_(False),
            col(Item.status).not_in(["approved", "waived"]),
        )
        .scalar_subquery()
    )
    query = select(Unit, open_items).where(col(Unit.merged_into_id).is_(None))
    if unconfirmed is not None:
        query = query.where(Unit.confirmed == (not unconfirmed))
    return [(unit, count) for unit, count in session.exec(query.order_by(Unit.name)).all()]


def aliases_of(session: Session, unit_id: int) -> list[str]:
    rows = session.exec(select(UnitAlias.name).where(UnitAlias.unit_id == unit_id))
    return sorted(rows.all())


@dataclass(frozen=True)
class DirectoryEntry:
    name: str
    aliases: tuple[str, ...] = ()
    is_group: bool = False


def parse_directory(data: bytes, filename: str) -> list[DirectoryEntry]:
    """Read a unit directory: CSV (`name,aliases,group`; aliases split by `;` or `、`) or YAML."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("单位目录文件须为 UTF-8 编码", {"file": ["编码错误"]}) from None
    if filename.lower().endswith((".yaml", ".yml")):
        return entries_from_yaml(text)
    if filename.lower().endswith(".csv"):
        return entries_from_csv(text)
    raise InvalidInput("单位目录文件须为 .csv 或 .yaml", {"file": ["不支持的文件类型"]})


def entries_from_csv(text: str) -> list[DirectoryEntry]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "name" not in reader.fieldnames:
        raise InvalidInput("CSV 第一行须有 name 列", {"file": ["缺少 name 列"]})
    return [
        entry(row.get("name"), split_aliases(row.get("aliases") or ""), row.get("group"))
        for row in reader
    ]


def entries_from_yaml(text: str) -> list[DirectoryEntry]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidInput(f"YAML 无法解析：{error}", {"file": ["YAML 格式错误"]}) from None
    rows = loaded.get("units") if isinstance(loaded, dict) else loaded
    if not isinstance(rows, list):
        raise InvalidInput("YAML 须为单位列表（或 units: 列表）", {"file": ["格式错误"]})
    result = []
    for row in rows:
        if isinstance(row, str):
            result.append(entry(row, (), None))
        elif isinstance(row, dict):
            aliases = row.get("aliases") or []
            if isinstance(aliases, str):
                aliases = split_aliases(aliases)
            result.append(entry(row.get("name"), tuple(map(str, aliases)), row.get("group")))
        else:
            raise InvalidInput("YAML 单位条目须为名称或对象", {"file": [repr(row)[:80]]})
    return result


def entry(name: object, aliases: Iterable[str], group: object) -> DirectoryEntry:
    if not isinstance(name, str) or not short_key(name):
        raise InvalidInput("每个单位都须有名称", {"file": ["缺少单位名称"]})
    flag = str(group).strip().lower() in ("1", "true", "yes", "是") if group is not None else False
    return DirectoryEntry(name, tuple(a for a in aliases if short_key(a)), flag)


def split_aliases(text: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in text.replace("、", ";").split(";") if a.strip())


def load_directory(
    session: Session, entries: list[DirectoryEntry], *, actor: Actor, now: datetime
) -> tuple[int, int]:
    """Create or confirm each unit and add its aliases; returns (units created, aliases added)."""
    created = aliases = 0
    for row in entries:
        unit = find_unit(session, row.name)
        if unit is None:
            unit = Unit(
                name=display_name(row.name),
                name_key=short_key(row.name),
                is_group=row.is_group,
                confirmed=True,
                created_at=now,
            )
            session.add(unit)
            session.flush()
            created += 1
        confirm_unit(session, unit, actor=actor, now=now)
        for alias in row.aliases:
            if find_unit(session, alias) is None:
                aliases += 1
            add_alias(session, unit, alias, actor=actor, now=now)
    return created, aliases


# Use cases for the API and CLI: each owns its transaction and returns plain data.


def unit_view(session: Session, unit: Unit, open_items: int = 0) -> dict[str, Any]:
    return {**unit.model_dump(), "aliases": aliases_of(session, unit.id), "open_items": open_items}


def directory(database: Database, *, unconfirmed: bool | None = None) -> list[dict[str, Any]]:
    """Every surviving unit with its aliases and open item count (two queries in all)."""
    with database.reading() as session:
        aliases: dict[int, list[str]] = {}
        for unit_id, name in session.exec(select(UnitAlias.unit_id, UnitAlias.name)).all():
            aliases.setdefault(unit_id, []).append(name)
        return [
            {**unit.model_dump(), "aliases": sorted(aliases.get(unit.id, [])), "open_items": count}
            for unit, count in list_units(session, unconfirmed=unconfirmed)
        ]


def register_units(
    database: Database, entries: list[DirectoryEntry], *, actor: Actor, now: datetime
) -> tuple[int, int]:
    with database.transaction() as session:
        return load_directory(session, entries, actor=actor, now=now)


def create_unit(
    database: Database, entry: DirectoryEntry, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    with database.transaction() as session:
        load_directory(session, [entry], actor=actor, now=now)
        return unit_view(session, unit_by_name(session, entry.name))


def alias_unit(
    database: Database, unit_ref: int | str, alias: str, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    with database.transaction() as session:
        unit = lookup(session, unit_ref)
        add_alias(session, unit, alias, actor=actor, now=now)
        return unit_view(session, unit)


def confirm(
    database: Database, unit_ref: int | str, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    with database.transaction() as session:
        unit = lookup(session, unit_ref)
        confirm_unit(session, unit, actor=actor, now=now)
        return unit_view(session, unit)


def merge(
    database: Database,
    source_ref: int | str,
    into_ref: int | str,
    *,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    with database.transaction() as session:
        source, target = lookup(session, source_ref), lookup(session, into_ref)
        moved = merge_units(session, source, target, actor=actor, now=now)
        return {**unit_view(session, target), "items_moved": moved}


def lookup(session: Session, unit_ref: int | str) -> Unit:
    """A unit by id (API) or by name or alias (CLI)."""
    return (
        get_unit(session, unit_ref)
        if isinstance(unit_ref, int)
        else unit_by_name(session, unit_ref)
    )
