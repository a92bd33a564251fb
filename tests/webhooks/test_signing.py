"""Golden vectors for the three signing schemes, and cross-checks with independent verifiers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from webhooks import signing

# The Standard Webhooks reference library's own test vector.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(b"\x01" * 32).decode()


def test_standard_signature_matches_the_spec_vector():
    assert signing.standard_signature(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY) == (
        SPEC_SIGNATURE
    )


def test_standard_headers_verify_with_the_standardwebhooks_package():
    now = int(datetime.now(UTC).timestamp())
    body = '{"type":"item.overdue","data":{"title":"督办"}}'.encode()
    headers = signing.standard_headers([SPEC_SECRET], "msg_1", now, body)
    assert Webhook(SPEC_SECRET).verify(body, headers) == {
        "type": "item.overdue",
        "data": {"title": "督办"},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(SPEC_SECRET).verify(body + b" ", headers)


def test_rotation_sends_one_signature_per_secret_and_either_verifies():
    now = int(datetime.now(UTC).timestamp())
    headers = signing.standard_headers([OTHER_SECRET, SPEC_SECRET], "msg_2", now, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (OTHER_SECRET, SPEC_SECRET):
        Webhook(secret).verify(b"{}", headers)
        assert signing.verify_standard([secret], headers, b"{}", now=now)


def test_verify_standard_refuses_tampering_and_stale_timestamps():
    headers = signing.standard_headers([SPEC_SECRET], "msg_3", 1_700_000_000, b"{}")
    assert signing.verify_standard([SPEC_SECRET], headers, b"{}", now=1_700_000_100)
    assert not signing.verify_standard([SPEC_SECRET], headers, b"{ }", now=1_700_000_100)
    assert not signing.verify_standard([OTHER_SECRET], headers, b"{}", now=1_700_000_100)
    assert not signing.verify_standard([SPEC_SECRET], headers, b"{}", now=1_700_000_301)
    assert not signing.verify_standard([SPEC_SECRET], {}, b"{}", now=1_700_000_000)


def test_unsigned_when_there_is_no_secret():
    assert "webhook-signature" not in signing.standard_headers([], "m", 1, b"{}")


def test_new_secret_round_trips_and_refuses_bad_input():
    secret = signing.new_standard_secret(bytes(range(32)))
    assert secret.startswith("whsec_")
    assert signing.standard_key(secret) == bytes(range(32))
    with pytest.raises(signing.InvalidSecret):
        signing.new_standard_secret(b"short")
    with pytest.raises(signing.InvalidSecret):
        signing.standard_key("whsec_not*base64")


def test_dingtalk_sign_golden_vector():
    # From openssl, not Python:
    # printf '%s\n%s' TS SECRET | openssl dgst -sha256 -hmac SECRET -binary | base64
    assert signing.dingtalk_sign("SEC0123456789abcdef", 1700000000000) == (
        "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="
    )


def test_dingtalk_sign_matches_the_documented_algorithm():
    secret, timestamp = "SECabc", 1735689600123
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    assert signing.dingtalk_query(secret, timestamp) == {
        "timestamp": "1735689600123",
        "sign": base64.b64encode(digest).decode(),
    }


@pytest.mark.parametrize(
    ("secret", "timestamp", "expected"),
    [
        # openssl dgst -sha256 -mac HMAC -macopt hexkey:<hex of "TS\nSECRET"> over empty input.
        ("fs-secret", 1700000000, "ognpFOmraex6LA29Ao14dsiNmmjE3YO4x5e/SX8n9Bw="),
        # A vector published by another project's Feishu client, computed with node:crypto.
        ("orbit-test-secret", 1756800000, "sN+9ZKa5w6BQmKyxCaxNA1DWEgtEnZaOcfEOCqZ26fg="),
    ],
)
def test_feishu_sign_golden_vectors(secret, timestamp, expected):
    assert signing.feishu_sign(secret, timestamp) == expected


def test_feishu_is_not_dingtalk_with_seconds():
    assert signing.feishu_sign("s", 1700000000) != signing.dingtalk_sign("s", 1700000000)
