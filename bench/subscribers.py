"""Thousands of idle event-stream subscribers in one asyncio process, driven over a pipe.

The stream benchmark runs this in a child process of its own, so that the subscribers'
sockets and reads share neither the server's process nor the loop that times requests.
Each command on the pipe gets one reply:

- `("open", total)`: open streams until `total` are streaming → opened, failed, seconds,
  and how many streams the server has ended so far (dropped)
- `("await", n, timeout)`: wait until every stream has had event `n` → when the first and
  the last got it (`time.monotonic`, the same clock in every process), and how many
- `("close",)`: close every stream and end

The benchmark's events carry "<marker>第<n>项" in their text; other events (the embedded
clock's reminder sweep records some) are ignored. A stream counts as open once the server
has sent its first frame (the starting `id:`).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from bench.harness import raise_open_files_limit

OPENING_AT_ONCE = 64  # below the server's listen backlog: no SYN is dropped and retried
OPEN_TIMEOUT_S = 30.0  # from a stream's turn to its first frame


@dataclass
class Arrival:
    """When the first and the last stream received one event, and how many have it."""

    first: float
    last: float
    streams: int = 1


@dataclass
class Crowd:
    """Every stream's connection and task, and when each numbered event reached them."""

    host: str
    port: int
    request: bytes
    numbered: re.Pattern[bytes]
    arrivals: dict[int, Arrival] = field(default_factory=dict)
    streaming: int = 0
    dropped: int = 0  # streams the server ended
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def received(self, frames: bytes, now: float) -> None:
        for n in map(int, self.numbered.findall(frames)):
            arrival = self.arrivals.get(n)
            if arrival is None:
                self.arrivals[n] = Arrival(now, now)
            else:
                arrival.last, arrival.streams = now, arrival.streams + 1


def stream_request(host: str, port: int, token: str) -> bytes:
    return (
        f"GET /api/v1/events/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()


async def subscribe(crowd: Crowd, gate: asyncio.Semaphore) -> None:
    """Open one stream (the time limit counts from its turn) and keep reading it."""
    async with gate:
        reader, writer, first = await asyncio.wait_for(connect(crowd), OPEN_TIMEOUT_S)
    crowd.writers.append(writer)
    crowd.streaming += 1
    task = asyncio.create_task(listen(crowd, reader, first))
    crowd.tasks.add(task)


async def connect(crowd: Crowd) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """A stream's connection, once the server has answered 200 and sent the first frame."""
    reader, writer = await asyncio.open_connection(crowd.host, crowd.port)
    writer.write(crowd.request)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        writer.close()
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    return reader, writer, await reader.read(65536)


async def listen(crowd: Crowd, reader: asyncio.StreamReader, data: bytes) -> None:
    carry = b""  # a frame not yet complete (frames end with a blank line)
    try:
        while data:
            frames, end, carry = (carry + data).rpartition(b"\n\n")
            if end:
                crowd.received(frames, time.monotonic())
            data = await reader.read(65536)
        crowd.dropped += 1
    except ConnectionError:
        crowd.dropped += 1
    except asyncio.CancelledError:
        pass
    finally:
        crowd.streaming -= 1


async def open_streams(crowd: Crowd, total: int) -> dict[str, Any]:
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    started = time.monotonic()
    wanted = max(total - crowd.streaming, 0)
    outcomes = await asyncio.gather(
        *(subscribe(crowd, gate) for _ in range(wanted)), return_exceptions=True
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    return {
        "opened": crowd.streaming,
        "failed": len(failures),
        "dropped": crowd.dropped,
        "errors": sorted({repr(failure) for failure in failures})[:5],
        "seconds": round(time.monotonic() - started, 2),
    }


async def await_event(crowd: Crowd, n: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        arrival = crowd.arrivals.get(n)
        if arrival is not None and arrival.streams >= crowd.streaming:
            break
        await asyncio.sleep(0.001)
    arrival = crowd.arrivals.get(n)
    if arrival is None:
        return {"first": None, "last": None, "streams": 0, "streaming": crowd.streaming}
    return {**vars(arrival), "streaming": crowd.streaming}


async def close(crowd: Crowd) -> dict[str, Any]:
    for writer in crowd.writers:
        writer.close()
    for task in crowd.tasks:
        task.cancel()
    await asyncio.gather(*crowd.tasks, return_exceptions=True)
    return {}


async def obey(connection: Connection, crowd: Crowd) -> None:
    while True:
        command, *args = await asyncio.to_thread(connection.recv)
        if command == "open":
            connection.send(await open_streams(crowd, *args))
        elif command == "await":
            connection.send(await await_event(crowd, *args))
        else:
            connection.send(await close(crowd))
            return


def run(connection: Connection, host: str, port: int, token: str, marker: str) -> None:
    """The child process: a crowd of streams on `host:port`, obeying `connection`."""
    raise_open_files_limit()
    numbered = re.compile(re.escape(f"{marker}第".encode()) + rb"(\d+)")
    crowd = Crowd(host, port, stream_request(host, port, token), numbered)
    asyncio.run(obey(connection, crowd))
