"""The HTTP seam against a real server on 127.0.0.1, and destination checks."""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from webhooks.formats.outbound import OutboundRequest
from webhooks.transport import ErrorKind, Transport, UrlRefused, refusal, validate_url

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
REQUEST = OutboundRequest(
    body='{"msgtype":"text","text":{"content":"督办"}}'.encode(),
    headers={"content-type": "application/json; charset=utf-8", "webhook-id": "msg_1"},
    query={"timestamp": "1700000000000", "sign": "a+b/c="},
)


@pytest.fixture
def transport():
    client = Transport(monotonic=time.monotonic, allowed_networks=LOOPBACK, total_timeout_s=1.0)
    yield client
    client.close()


def test_posts_the_exact_bytes_headers_and_query(transport, local_server):
    attempt = transport.post(local_server.url + "/robot/send?access_token=t", REQUEST)
    assert attempt.status == 200
    assert attempt.excerpt == b'{"errcode":0,"errmsg":"ok"}'
    assert attempt.error_kind is None and attempt.latency_s > 0
    [received] = local_server.received
    assert received.body == REQUEST.body
    assert received.path == "/robot/send?access_token=t&timestamp=1700000000000&sign=a%2Bb%2Fc%3D"
    assert received.headers["webhook-id"] == "msg_1"
    assert received.headers["User-Agent"].startswith("duban-checklists-webhooks")


def test_redirects_are_not_followed(transport, local_server):
    local_server.reply(302, b"", Location=local_server.url + "/elsewhere")
    attempt = transport.post(local_server.url + "/hook", REQUEST)
    assert attempt.status == 302
    assert attempt.headers["location"].endswith("/elsewhere")
    assert [r.path.split("?")[0] for r in local_server.received] == ["/hook"]


def test_connections_are_reused(transport, local_server):
    for _ in range(3):
        assert transport.post(local_server.url, REQUEST).status == 200
    assert len({r.client_port for r in local_server.received}) == 1


def test_a_slow_answer_times_out(transport, local_server):
    local_server.respond = lambda handler: time.sleep(2)
    started = time.monotonic()
    attempt = transport.post(local_server.url, REQUEST)
    assert attempt.status is None and attempt.error_kind is ErrorKind.TIMEOUT
    assert time.monotonic() - started < 1.8


def test_a_trickling_answer_hits_the_total_deadline(transport, local_server):
    def trickle(handler):
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 40:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.05)  # every gap is far below the read timeout

    local_server.respond = trickle
    started = time.monotonic()
    attempt = transport.post(local_server.url, REQUEST)
    assert attempt.error_kind is ErrorKind.TIMEOUT
    assert 0.9 < time.monotonic() - started < 1.8


def test_a_long_body_is_cut_to_the_excerpt(transport, local_server):
    local_server.reply(200, b"x" * 100_000)
    attempt = transport.post(local_server.url, REQUEST)
    assert attempt.status == 200 and attempt.excerpt == b"x" * 2048
    assert transport.post(local_server.url, REQUEST).status == 200  # the pool recovers


def test_a_closed_port_is_a_connection_error(transport):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempt = transport.post(f"http://127.0.0.1:{port}/", REQUEST)
    assert attempt.error_kind is ErrorKind.CONNECTION


def test_an_error_never_repeats_the_token_in_the_url(transport):
    """Errors go to the delivery log and the `subscription.disabled` event: no secrets."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for path in ("/cgi-bin/webhook/send?key=SECRETKEY", "/open-apis/bot/v2/hook/SECRETKEY"):
        attempt = transport.post(f"http://127.0.0.1:{port}{path}", REQUEST)
        assert attempt.error_kind is ErrorKind.CONNECTION
        assert "SECRETKEY" not in attempt.error and "1700000000000" not in attempt.error


def test_loopback_is_refused_unless_allowed(local_server):
    strict = Transport(monotonic=time.monotonic)
    attempt = strict.post(local_server.url, REQUEST)
    assert attempt.error_kind is ErrorKind.REFUSED
    assert local_server.received == []


def fake_resolver(table):
    def resolve(host, port, type=0):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port))
            for a in table[host]
        ]

    return resolve


def test_connect_time_check_uses_the_address_actually_dialled(local_server):
    port = local_server.url.rsplit(":", 1)[1]
    pinned = Transport(
        monotonic=time.monotonic,
        allowed_networks=LOOPBACK,
        resolve=fake_resolver({"hook.test": ["127.0.0.1"], "rebind.test": ["10.0.0.8"]}),
    )
    assert pinned.post(f"http://hook.test:{port}/", REQUEST).status == 200
    assert local_server.received[0].headers["Host"] == f"hook.test:{port}"
    refused = pinned.post(f"http://rebind.test:{port}/", REQUEST)
    assert refused.error_kind is ErrorKind.REFUSED
    assert "10.0.0.8" in refused.error


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "http:///nohost",
        "http://127.0.0.1/",
        "http://localhost.test/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.10/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://224.0.0.1/",
        "http://mixed.test/",
        "http://unknown.test/",
        "http://example.com:99999/",
        "http://[::1",
    ],
)
def test_unsafe_urls_are_refused(url):
    resolve = fake_resolver(
        {"localhost.test": ["127.0.0.1"], "mixed.test": ["93.184.216.34", "10.0.0.1"]}
    )
    with pytest.raises(UrlRefused):
        validate_url(url, resolve=_literal_or(resolve))


def _literal_or(resolve):
    def combined(host, port, type=0):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return resolve(host, port, type=type)
        return socket.getaddrinfo(host, port, type=type)

    return combined


def test_public_and_allowed_urls_pass():
    resolve = _literal_or(fake_resolver({"oapi.dingtalk.test": ["203.119.129.1"]}))
    assert validate_url("https://oapi.dingtalk.test/robot/send", resolve=resolve) == [
        ipaddress.ip_address("203.119.129.1")
    ]
    assert validate_url("http://127.0.0.1:8080/", LOOPBACK, resolve=resolve)
    assert validate_url("http://[::ffff:127.0.0.1]/", LOOPBACK, resolve=resolve)
    oa = [ipaddress.ip_network("10.20.0.0/16")]
    assert validate_url("http://10.20.3.4/oa/hook", oa, resolve=resolve)


def test_metadata_is_refused_even_inside_an_allowed_network():
    link_local = [ipaddress.ip_network("169.254.0.0/16")]
    assert refusal(ipaddress.ip_address("169.254.10.10"), link_local) is None
    assert "元数据" in refusal(ipaddress.ip_address("169.254.169.254"), link_local)
