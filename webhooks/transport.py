"""The one outbound HTTP seam: guarded destinations, hard deadlines, no redirects.

A destination is checked after DNS resolution and again at connect time, on the
address actually dialled, so a name that re-resolves to an internal address between
the two checks (DNS rebinding) is still refused. A watchdog shuts the socket when
the total deadline passes, however slowly the peer trickles bytes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util import parse_url

from webhooks.formats.outbound import OutboundRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 15.0
EXCERPT_BYTES = 2048
USER_AGENT = "duban-checklists-webhooks/0.1"
# How urllib3 names the request it gave up on (as it sent it, percent-encoded).
URL_IN_ERROR = re.compile(r"(with url: )\S+")

# Cloud metadata services are refused even inside an allowed network.
METADATA_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("169.254.169.254/32"),  # AWS, GCP, Azure, Huawei, OpenStack
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS over IPv6
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(ValueError):
    """A webhook URL this service will not call; the message says why, in Chinese."""


class ErrorKind(StrEnum):
    """Why an attempt got no HTTP status."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    REFUSED = "refused"


@dataclass(frozen=True)
class Attempt:
    """What one POST came back with: status, headers, the first bytes of the body, latency."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    excerpt: bytes = b""
    latency_s: float = 0.0
    error_kind: ErrorKind | None = None
    error: str = ""


def _embedded_ipv4(address: IPAddress) -> list[IPAddress]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, address.teredo and address.teredo[1]]
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a]


def refusal(address: IPAddress, allowed_networks: Sequence[IPNetwork]) -> str | None:
    """Why an address may not be called, or None when it may.

    Loopback, private, link-local, shared, reserved, unspecified and multicast
    addresses (and IPv6 forms that embed one) are refused unless an allowed network
    contains them; metadata addresses always are.
    """
    # An IPv6 form that carries an IPv4 address (mapped, 6to4, Teredo, NAT64) is
    # judged by that IPv4 address, which is where the packets end up.
    candidates = _embedded_ipv4(address) or [address]
    if any(c in net for c in candidates for net in METADATA_NETWORKS):
        return f"{address} 是云服务器元数据地址"
    for candidate in candidates:
        # Reserved counts on its own: Python deems the deprecated IPv4-compatible form
        # ::127.0.0.1 (inside ::/8, reserved) global.
        internal = not candidate.is_global or candidate.is_multicast or candidate.is_reserved
        if internal and not any(candidate in net for net in allowed_networks):
            return f"{address} 是内网、回环或保留地址（可在 WEBHOOK_ALLOWED_NETWORKS 中放行）"
    return None


def _resolve(host: str, port: int, resolve: Resolver) -> list[tuple[int, IPAddress]]:
    """(family, address) pairs for a host, in resolver order, without duplicates."""
    found: list[tuple[int, IPAddress]] = []
    for family, _type, _proto, _name, sockaddr in resolve(host, port, type=socket.SOCK_STREAM):
        entry = (family, ipaddress.ip_address(sockaddr[0]))
        if entry not in found:
            found.append(entry)
    return found


def _checked(
    host: str, port: int, allowed: Sequence[IPNetwork], resolve: Resolver
) -> list[tuple[int, IPAddress]]:
    addresses = _resolve(host, port, resolve)
    for _family, address in addresses:
        reason = refusal(address, allowed)
        if reason:
            raise UrlRefused(reason)
    return addresses


def validate_url(
    url: str,
    allowed_networks: Sequence[IPNetwork] = (),
    resolve: Resolver = socket.getaddrinfo,
) -> list[IPAddress]:
    """The addresses `url` resolves to, or UrlRefused when it is not a safe target.

    Every resolved address must pass, so one internal record among public ones refuses.
    The URL is read by urllib3, as `post` will read it: parsers disagree on some URLs
    (`http://127.0.0.1\\@example.com/` is example.com to urlsplit, 127.0.0.1 to urllib3).
    """
    try:
        parts = parse_url(url)
    except LocationParseError as exc:  # e.g. an unclosed IPv6 bracket, port 99999
        raise UrlRefused("地址格式无效") from exc
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("只支持 http 或 https 地址")
    host = (parts.host or "").strip("[]")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not host:
        raise UrlRefused("地址缺少主机名")
    try:
        return [address for _, address in _checked(host, port, allowed_networks, resolve)]
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"无法解析主机名 {host}") from exc


class _Call:
    """One POST in flight: its destination policy and what the watchdog must shut."""

    def __init__(self, allowed: Sequence[IPNetwork], resolve: Resolver) -> None:
        self.allowed = allowed
        self.resolve = resolve
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._connections: list[HTTPConnection] = []

    def watch(self, sock: socket.socket | None = None, conn: HTTPConnection | None = None) -> None:
        with self._lock:
            if sock is not None:
                self._sockets.append(sock)
            if conn is not None:
                self._connections.append(conn)
            if self.expired:
                self._shut_all()

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_all()

    def _shut_all(self) -> None:
        targets = self._sockets + [c.sock for c in self._connections if c.sock is not None]
        for sock in targets:
            # Already closed, or detached into a TLS socket that is watched as well.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


def _call() -> _Call:
    # A session used outside Transport.post gets the strictest policy.
    return getattr(_current, "call", None) or _Call((), socket.getaddrinfo)


class _GuardedConnection(HTTPConnection):
    """Dials only addresses that pass `refusal`, and lets the watchdog see its socket."""

    def _new_conn(self) -> socket.socket:
        call = _call()
        try:
            addresses = _checked(self._dns_host, self.port, call.allowed, call.resolve)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        last_error: OSError | None = None
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            call.watch(sock=sock)
            if isinstance(self.timeout, int | float):
                sock.settimeout(self.timeout)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.connect((str(address), self.port))
                return sock
            except TimeoutError as exc:
                sock.close()
                raise ConnectTimeoutError(self, f"连接 {self.host} 超时") from exc
            except OSError as exc:
                sock.close()
                last_error = exc
        raise NewConnectionError(self, f"无法连接 {self.host}：{last_error}")

    def request(self, *args: Any, **kwargs: Any) -> None:
        _call().watch(conn=self)
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


class Transport:
    """Posts rendered requests over one pooled `requests.Session`.

    `monotonic` (e.g. `time.monotonic`) measures latency; the deadline watchdog runs
    on a timer thread. Environment proxies and `.netrc` are ignored.
    """

    def __init__(
        self,
        *,
        monotonic: Callable[[], float],
        allowed_networks: Sequence[IPNetwork] = (),
        resolve: Resolver = socket.getaddrinfo,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        total_timeout_s: float = TOTAL_TIMEOUT_S,
        excerpt_bytes: int = EXCERPT_BYTES,
    ) -> None:
        self.monotonic = monotonic
        self.allowed_networks = tuple(allowed_networks)
        self.resolve = resolve
        self.connect_timeout_s = connect_timeout_s
        self.total_timeout_s = total_timeout_s
        self.excerpt_bytes = excerpt_bytes
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = _GuardedAdapter(max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def post(self, url: str, request: OutboundRequest) -> Attempt:
        """POST once; never raises for network trouble, which the Attempt reports instead."""
        call = _Call(self.allowed_networks, self.resolve)
        watchdog = threading.Timer(self.total_timeout_s, call.expire)
        watchdog.daemon = True
        _current.call = call
        started = self.monotonic()
        watchdog.start()
        try:
            return self._post(url, request, call, started)
        finally:
            watchdog.cancel()
            _current.call = None

    def _post(self, url: str, request: OutboundRequest, call: _Call, started: float) -> Attempt:
        def failed(kind: ErrorKind, error: str) -> Attempt:
            if call.expired:
                kind, error = ErrorKind.TIMEOUT, f"超过总时限 {self.total_timeout_s:g} 秒"
            error = without_target(error, request.url(url))
            return Attempt(None, latency_s=self.monotonic() - started, error_kind=kind, error=error)

        try:
            response = self.session.post(
                request.url(url),
                data=request.body,
                headers=dict(request.headers),
                timeout=(self.connect_timeout_s, self.total_timeout_s),
                allow_redirects=False,
                stream=True,
            )
            with response:
                excerpt = self._excerpt(response)
        except UrlRefused as exc:
            return failed(ErrorKind.REFUSED, str(exc))
        except requests.Timeout as exc:
            return failed(ErrorKind.TIMEOUT, _describe(exc))
        except requests.RequestException as exc:
            return failed(ErrorKind.CONNECTION, _describe(exc))
        if call.expired:
            return failed(ErrorKind.TIMEOUT, "")
        return Attempt(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            excerpt=excerpt,
            latency_s=self.monotonic() - started,
        )

    def _excerpt(self, response: requests.Response) -> bytes:
        """The body's first bytes; a longer body is dropped with its connection."""
        kept = b""
        for chunk in response.iter_content(chunk_size=1024):
            kept += chunk
            if len(kept) > self.excerpt_bytes:
                break
        return kept[: self.excerpt_bytes]

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def without_target(error: str, url: str) -> str:
    """`error` without the URL's path and query: robots carry their access token there.

    urllib3 names the URL it failed on, and the error is kept in the delivery log, the
    log file and the `subscription.disabled` event that other subscribers receive.
    """
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(target) > 1:
        error = error.replace(target, "/…")
    return URL_IN_ERROR.sub(r"\1/…", error)[:500]
