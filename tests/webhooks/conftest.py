"""Shared test material: events shaped like the service's, and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from webhooks import events as ev

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
BASE_URL = "https://duban.example.cn"


def make_event(
    number: int = 1,
    type: str = ev.ITEM_OVERDUE,
    *,
    title: str = "加快推进科技成果转化，培育壮大新质生产力",
    unit_id: int = 7,
    document_id: int = 3,
) -> dict[str, Any]:
    """An item event as the service builds it."""
    data = ev.item_data(
        item_id=number,
        title=f"{title}（第{number}项）",
        unit_id=unit_id,
        unit_name="省科学技术厅",
        role="lead",
        document_id=document_id,
        document_title="关于加快推动科技成果转化的若干措施",
        measure_ref="（三）2",
        deadline=date(2025, 6, 30),
        actor_id=11,
        actor_name="张三",
        before={"status": "in_progress"},
        after={"status": "overdue"},
        note="已两次电话催办",
    )
    return ev.build_event(
        type, f"items/{number}", data, id=f"evt-{number}", time=NOW, source="/duban"
    )


@pytest.fixture
def event_factory() -> Callable[..., dict[str, Any]]:
    return make_event


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


Handler = Callable[[BaseHTTPRequestHandler], None]


def answer(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    """Write one complete response; `Retry_After="5"` becomes `Retry-After: 5`."""
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


@dataclass
class LocalServer:
    """A scripted receiver: `respond` answers every request; `received` records them."""

    url: str
    received: list[Received] = field(default_factory=list)
    respond: Handler = field(default=lambda h: answer(h, 200, b'{"errcode":0,"errmsg":"ok"}'))

    def reply(self, status: int, body: bytes, **headers: str) -> None:
        """Answer every following request with this response."""
        self.respond = lambda handler: answer(handler, status, body, **headers)


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    state = LocalServer(url="")

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is observable

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.received.append(
                Received(self.path, dict(self.headers), body, self.client_address[1])
            )
            state.respond(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
