"""Health of the database as the service sees it."""

from __future__ import annotations

from dataclasses import dataclass

from service import schema
from service.db import Database, DatabaseUnavailable


@dataclass(frozen=True)
class DatabaseHealth:
    reachable: bool
    revision: str | None
    head: str | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reachable and self.revision == self.head

    def as_dict(self) -> dict[str, object]:
        return {"reachable": self.reachable, "revision": self.revision, "head": self.head}


def database_health(database: Database) -> DatabaseHealth:
    head = schema.head_revision()
    try:
        database.check()
        with database.reading() as session:
            revision = schema.current_revision(session.connection())
    except DatabaseUnavailable as error:
        return DatabaseHealth(False, None, head, str(error))
    detail = "" if revision == head else f"数据库结构版本 {revision} 不是最新的 {head}"
    return DatabaseHealth(True, revision, head, detail)
