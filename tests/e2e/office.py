"""A small office on a running service, and a client working in it over HTTP.

Shared by the fault tests: the plan and tokens are set up in-process (each `checklist`
command would cost seconds of start-up), the work is done through the API.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import requests
from sqlmodel import func, select

from service import schema
from service.config import Config
from service.db import Database
from service.models import Delivery
from service.services.audit import CLI_ACTOR
from service.services.documents import ImportRequest, import_document
from service.services.tokens import issue_token
from tests.receivers import Receiver

UNIT = "市住建局"
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Office:
    """A migrated database holding one plan for one unit, and a token for each side."""

    supervisor: str
    staff: str


def open_office(database: Database, deadlines: list[date]) -> Office:
    """What a clerk does first: migrate, import the plan, hand out a token to each side."""
    schema.upgrade(database)
    now = datetime.now(UTC)
    plan = ImportRequest(plan_text(deadlines).encode(), "plan.txt")
    config = Config()
    import_document(
        database, plan, actor=CLI_ACTOR, now=now, today=config.local_date(now), max_bytes=1 << 20
    )
    supervisor, staff = (
        issue_token(database, role=role, unit_name=unit, label=role, expires_at=None, now=now)
        for role, unit in (("supervisor", None), ("staff", UNIT))
    )
    return Office(supervisor, staff)


def local_today() -> date:
    return Config().local_date(datetime.now(UTC))


def plan_text(deadlines: list[date]) -> str:
    numbers = "一二三四五六七八九十"
    measures = [
        f"（{numbers[n]}）改造第{n + 1}批老旧小区。{d.year}年{d.month}月{d.day}日前完成。"
        f"（责任单位：{UNIT}）"
        for n, d in enumerate(deadlines)
    ]
    return "某市推进老旧小区改造行动方案\n\n一、加快改造进度\n" + "\n".join(measures) + "\n"


def api(base: str, token: str) -> Callable[..., requests.Response]:
    """`call(method, path, ...)` against the API with the token's bearer header."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return session.request(method, f"{base}{path}", timeout=TIMEOUT_S, **kwargs)

    return call


def subscribe_over_http(base: str, token: str, url: str, types: list[str]) -> None:
    body = {"url": url, "format": "standard", "digest": False, "event_types": types}
    created = api(base, token)("POST", "/api/v1/subscriptions", json=body)
    assert created.status_code == 201, created.text


def acknowledge_all(base: str, token: str) -> list[int]:
    """签收: the unit acknowledges each of its items, so that it may report progress."""
    call = api(base, token)
    items = [row["id"] for row in call("GET", "/api/v1/items").json()["items"]]
    for item in items:
        etag = call("GET", f"/api/v1/items/{item}").headers["ETag"]
        done = call("POST", f"/api/v1/items/{item}/transitions",
                    json={"action": "acknowledge"}, headers={"If-Match": etag})
        assert done.status_code == 200, done.text
    return items


class Answer(NamedTuple):
    phase: str
    status: int | str  # the HTTP status, or the exception's name when none came
    content_type: str
    started: float  # monotonic
    seconds: float


@dataclass
class Ticker:
    """Staff clients reporting progress on their items in turn, each item's ETag in hand."""

    base: str
    token: str
    phase: str = "up"
    committed: list[tuple[int, str, str]] = field(default_factory=list)  # item, note, phase
    answers: list[Answer] = field(default_factory=list)
    ticks: Iterator[int] = field(default_factory=itertools.count)  # shared: notes are unique

    def run(self, items: list[int], stop: threading.Event, pause_s: float = 0.0) -> None:
        call = api(self.base, self.token)
        etags: dict[int, str] = {}
        while not stop.wait(pause_s):
            tick = next(self.ticks)
            item, note = items[tick % len(items)], f"第{tick}次报送进展"
            phase, started = self.phase, time.monotonic()
            try:
                answer, posted = self.tick(call, etags, item, note)
            except requests.RequestException as error:
                etags.pop(item, None)
                took = time.monotonic() - started
                self.answers.append(Answer(phase, type(error).__name__, "", started, took))
                stop.wait(0.05)  # the web process is down: try again shortly
                continue
            kind = answer.headers.get("Content-Type", "")
            took = time.monotonic() - started
            self.answers.append(Answer(phase, answer.status_code, kind, started, took))
            if posted and answer.ok:
                self.committed.append((item, note, phase))

    def tick(
        self, call: Callable[..., requests.Response], etags: dict[int, str], item: int, note: str
    ) -> tuple[requests.Response, bool]:
        """Report progress with the item's ETag, or fetch the ETag first; True if it posted."""
        if item not in etags:
            answer = call("GET", f"/api/v1/items/{item}")
            if answer.ok:
                etags[item] = answer.headers["ETag"]
            return answer, False
        answer = call(
            "POST",
            f"/api/v1/items/{item}/transitions",
            json={"action": "report_progress", "note": note},
            headers={"If-Match": etags.pop(item)},
        )
        if answer.ok:
            etags[item] = answer.headers["ETag"]
        return answer, True


def received_ids(receiver: Receiver) -> set[str]:
    return {request.json()["id"] for request in receiver.received}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


def pending(database: Database) -> int:
    with database.reading() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
        return session.exec(query).one()


def rows(database: Database, query: Any) -> list[Any]:
    """The query's rows, detached with their values loaded (the session ends in a rollback)."""
    with database.reading() as session:
        found = list(session.exec(query).all())
        session.expunge_all()
        return found


def healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False
