"""Fixtures for service tests: tokens for each role and a small synthetic policy document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from service.clock import FixedClock
from service.db import Database
from service.services.audit import CLI_ACTOR
from service.services.documents import ImportReport, ImportRequest, import_document
from service.services.tokens import create_token
from service.services.units import DirectoryEntry, load_directory

PLAN = """某市推进智能网联汽车示范区建设行动方案（2024-2026年）

一、加快基础设施建设
（一）建设智慧路口。到2025年底前部署智慧路口不少于150个。（责任单位：市交通运输局、市公安局）
（二）完善通信网络。每年新增5G基站不少于100个。（责任单位：市工信局）
二、强化保障措施
（一）加强宣传引导。营造良好氛围。（市委宣传部牵头，各相关单位按职责分工负责）
（二）做好资金保障。统筹安排专项资金。（责任单位：市财政局、市发展改革委）
"""


@dataclass(frozen=True)
class Tokens:
    admin: str
    supervisor: str
    staff_a: str
    staff_b: str
    unit_a: str = "市交通运输局"
    unit_b: str = "市财政局"

    def header(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, who)}"}


@pytest.fixture
def tokens(database: Database, clock: FixedClock) -> Tokens:
    return make_tokens(database, clock)


def make_tokens(database: Database, clock: FixedClock) -> Tokens:
    """Two units from a directory file, and a token for each role."""
    now = clock.now()
    with database.transaction() as session:
        load_directory(
            session,
            [DirectoryEntry("市交通运输局", ("市交通局",)), DirectoryEntry("市财政局")],
            actor=CLI_ACTOR,
            now=now,
        )
        made = {
            name: create_token(session, role=role, unit_name=unit, label=name,
                               expires_at=None, now=now)[1]
            for name, role, unit in [
                ("admin", "admin", None),
                ("supervisor", "supervisor", None),
                ("staff_a", "staff", "市交通运输局"),
                ("staff_b", "staff", "市财政局"),
            ]
        }
    return Tokens(**made)


def import_plan(
    database: Database, clock: FixedClock, filename: str = "plan.txt", **options: Any
) -> ImportReport:
    """PLAN imported by the command line's actor, as of the clock's day."""
    now = clock.now()
    return import_document(
        database,
        ImportRequest(PLAN.encode(), filename, **options),
        actor=CLI_ACTOR,
        now=now,
        today=now.date(),
        max_bytes=10_000_000,
    )
