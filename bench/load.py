"""The load generator of bench/api.py: concurrent clients on keep-alive connections.

It runs as a process of its own (`python -m bench.load`, a plan as JSON on stdin, figures
as JSON on stdout), patched by gevent before anything opens a socket, so that its clients
are greenlets: one process, no lock between clients, no share of the server's processes.
Each client sends its requests one after another on one HTTP/1.1 connection.

The scenarios of a plan take turns, in rounds: each gets a slice of every round (a warm-up,
then its share of the measured time), so that a machine whose load drifts during the run
weighs on all of them alike. A request counts if it starts inside a measured slice;
throughput is those requests over the measured time. The process's CPU time per request is
its own cost; the inverse is its ceiling, with a core to itself.

A plan is `{"host", "rounds", "warmup_s", "duration_s", "scenarios": {name: {"port",
"clients"}}}`. A client is `{"kind": "request", "method", "paths", "headers", "body"}`
(the paths in turn), or `{"kind": "tick", "token", "items", "body"}`: transitions on its
items in turn, each with the ETag the item's previous answer carried (fetched at the start).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    """What one scenario's measured slices saw."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu: float = 0.0


@dataclass(frozen=True)
class Slice:
    """One measured stretch of time of one scenario."""

    start: float
    end: float
    tally: Tally

    def record(self, started: float, ended: float, status: int) -> None:
        if self.start <= started < self.end:
            self.tally.latencies.append(ended - started)
            self.tally.statuses[str(status)] = self.tally.statuses.get(str(status), 0) + 1


class Client:
    """One connection and the requests one client sends on it."""

    def __init__(self, host: str, port: int, spec: dict[str, Any]) -> None:
        from http.client import HTTPConnection  # here: only once gevent has patched sockets

        self.connection = HTTPConnection(host, port, timeout=60)
        self.spec, self.turn = spec, 0
        self.headers = {"Content-Type": "application/json", **spec.get("headers", {})}
        if spec["kind"] == "tick":
            self.headers["Authorization"] = f"Bearer {spec['token']}"
        self.body = json.dumps(spec.get("body"), ensure_ascii=False).encode()
        self.etags: dict[int, str] = {}

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        """One request and its whole answer; again on a new connection if the server had
        closed this one (gunicorn closes keep-alive connections idle for 2 s)."""
        try:
            return self.exchange(method, path, headers, body)
        except ConnectionError:
            self.connection.close()
            return self.exchange(method, path, headers, body)

    def exchange(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Any:
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        response.read()
        return response

    def refresh(self, item: int) -> None:
        """The item's current ETag, from its detail."""
        response = self.send("GET", f"/api/v1/items/{item}", self.headers, None)
        self.etags[item] = response.getheader("ETag", "")

    def prepare(self) -> None:
        for item in self.spec.get("items", []):
            self.refresh(item)

    def step(self, measured: Slice) -> None:
        """One request, timed; a tick keeps the ETag of its answer (or fetches it anew)."""
        spec, self.turn = self.spec, self.turn + 1
        if spec["kind"] == "tick":
            item = spec["items"][self.turn % len(spec["items"])]
            method, path = "POST", f"/api/v1/items/{item}/transitions"
            headers = {**self.headers, "If-Match": self.etags[item]}
        else:
            method, path = spec["method"], spec["paths"][self.turn % len(spec["paths"])]
            headers = self.headers
        started = time.monotonic()
        response = self.send(method, path, headers, self.body if method == "POST" else None)
        measured.record(started, time.monotonic(), response.status)
        if spec["kind"] == "tick":
            if response.status == 200:
                self.etags[item] = response.getheader("ETag", "")
            else:
                self.refresh(item)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_slice(clients: list[Client], tally: Tally, warmup: float, seconds: float) -> None:
    """Every client busy for `warmup` and then `seconds`, those measured into `tally`."""
    import gevent

    begun = time.monotonic()
    measured = Slice(begun + warmup, begun + warmup + seconds, tally)

    def run(client: Client) -> None:
        while time.monotonic() < measured.end:
            client.step(measured)

    def meter() -> None:
        gevent.sleep(max(0.0, measured.start - time.monotonic()))
        before = cpu_seconds()
        gevent.sleep(max(0.0, measured.end - time.monotonic()))
        tally.cpu += cpu_seconds() - before

    greenlets = [gevent.spawn(meter), *(gevent.spawn(run, client) for client in clients)]
    gevent.joinall(greenlets, raise_error=True)
    tally.seconds += seconds


def drive(plan: dict[str, Any]) -> dict[str, Any]:
    """Every scenario of `plan` in turn, round after round; each one's figures."""
    import gevent

    scenarios = {
        name: [Client(plan["host"], scenario["port"], spec) for spec in scenario["clients"]]
        for name, scenario in plan["scenarios"].items()
    }
    everyone = [client for clients in scenarios.values() for client in clients]
    gevent.joinall([gevent.spawn(client.prepare) for client in everyone], raise_error=True)
    tallies = {name: Tally() for name in scenarios}
    share = plan["duration_s"] / plan["rounds"]
    for _round in range(plan["rounds"]):
        for name, clients in scenarios.items():
            run_slice(clients, tallies[name], plan["warmup_s"], share)
    return {name: summary(tally) for name, tally in tallies.items()}


def summary(tally: Tally) -> dict[str, Any]:
    """Successful requests per second, latency percentiles (ms), statuses, the client's cost."""
    from bench.harness import percentiles  # after gevent's patching: it imports requests

    count = len(tally.latencies)
    ok = sum(n for status, n in tally.statuses.items() if status.startswith("2"))
    return {
        "requests": count,
        "rps": round(ok / tally.seconds, 1),
        **percentiles(tally.latencies if count > 1 else tally.latencies * 2 or [0.0, 0.0]),
        "statuses": tally.statuses,
        "client_cpu_us_per_request": round(tally.cpu / max(count, 1) * 1e6),
        "client_ceiling_rps": round(count / tally.cpu) if tally.cpu else None,
    }


def main() -> None:
    print(json.dumps(drive(json.load(sys.stdin))))


if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()
    main()
