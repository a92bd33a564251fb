"""A real webhook receiver on 127.0.0.1: records every request, answers as the test scripts.

Used by the delivery tests, the end-to-end tests and the benchmark. Each request is
recorded on arrival, before it is answered, so a receiver that fails or is too slow
still shows what reached it (as a real receiver's access log would).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Reply:
    """One scripted answer; `delay_s` holds it back, as a slow receiver would."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


# What each kind of receiver answers when it accepts a message.
ACCEPTED = {
    "standard": Reply(204),
    "dingtalk": Reply(200, b'{"errcode":0,"errmsg":"ok"}'),
    "wecom": Reply(200, b'{"errcode":0,"errmsg":"ok"}'),
    "feishu": Reply(200, b'{"code":0,"msg":"success","data":{}}'),
    "slack": Reply(200, b"ok"),
}


def robot_error(code: int, message: str = "error", *, field: str = "errcode") -> Reply:
    """A robot's refusal on HTTP 200, e.g. `robot_error(130101, "send too fast")`."""
    message_field = "errmsg" if field == "errcode" else "msg"
    return Reply(200, json.dumps({field: code, message_field: message}).encode())


@dataclass(frozen=True)
class Received:
    """One request as it arrived: path, query, headers (lower-case names), body."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    arrived: float

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """The receiving end: `script` the next answers, `answer` the rest, read `received`."""

    def __init__(self, default: Reply) -> None:
        self.url = ""
        self.default = default
        self.received: list[Received] = []
        # Decides the answer from what has arrived so far; overrides script and default.
        self.responder: Callable[[Received, list[Received]], Reply] | None = None
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order, then with the default."""
        with self._lock:
            self._script.extend(replies)

    def answer(self, reply: Reply) -> None:
        """Answer every following (unscripted) request with this."""
        self.default = reply

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first `count` requests, once they have all arrived."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} requests arrived")
            time.sleep(0.01)
        return self.received[:count]

    def arrive(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            if self.responder is not None:
                return self.responder(request, list(self.received))
            return self._script.popleft() if self._script else self.default


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            parts = urlsplit(self.path)
            request = Received(
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                arrived=time.monotonic(),
            )
            reply = receiver.arrive(request)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving(default: Reply = ACCEPTED["standard"]) -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 for the duration of the block."""
    receiver = Receiver(default)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
