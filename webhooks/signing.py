"""Request signatures: Standard Webhooks, DingTalk custom robots, Feishu custom bots.

All three are HMAC-SHA256 with base64 output; they differ in what is signed and
where the result travels. Callers sign the exact bytes they send.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
# Standard Webhooks receivers reject timestamps more than five minutes off.
TIMESTAMP_TOLERANCE_S = 5 * 60


class InvalidSecret(ValueError):
    """A Standard Webhooks secret that is not `whsec_` + base64 of 24–64 bytes."""


def new_standard_secret(random_bytes: bytes) -> str:
    """A `whsec_` secret from caller-supplied random bytes (the spec asks for 24 to 64)."""
    if not 24 <= len(random_bytes) <= 64:
        raise InvalidSecret("a secret needs 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode("ascii")


def standard_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise InvalidSecret("secret is not base64") from exc
    if not key:
        raise InvalidSecret("secret is empty")
    return key


def _hmac_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return f"{SIGNATURE_VERSION},{_hmac_b64(standard_key(secret), signed)}"


def standard_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per secret during a rotation."""
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secrets:
        headers["webhook-signature"] = " ".join(
            standard_signature(secret, msg_id, timestamp, body) for secret in secrets
        )
    return headers


def verify_standard(
    secrets: Sequence[str], headers: Mapping[str, str], body: bytes, *, now: int
) -> bool:
    """Whether any `v1` signature matches any secret and the timestamp is recent.

    The receiving side of `standard_headers`; used by tests and by receivers built on
    this package.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    if not (msg_id and timestamp.isdigit()):
        return False
    if abs(now - int(timestamp)) > TIMESTAMP_TOLERANCE_S:
        return False
    offered = [
        signature
        for version, _, signature in (
            entry.partition(",") for entry in lowered.get("webhook-signature", "").split()
        )
        if version == SIGNATURE_VERSION
    ]
    expected = [
        standard_signature(secret, msg_id, int(timestamp), body).partition(",")[2]
        for secret in secrets
    ]
    return any(hmac.compare_digest(o, e) for o in offered for e in expected)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64 HMAC-SHA256, keyed by the secret, of "{timestamp_ms}\\n{secret}"."""
    return _hmac_b64(secret.encode(), f"{timestamp_ms}\n{secret}".encode())


def dingtalk_query(secret: str, timestamp_ms: int) -> dict[str, str]:
    """The `timestamp` and `sign` query parameters DingTalk expects (unencoded values)."""
    return {"timestamp": str(timestamp_ms), "sign": dingtalk_sign(secret, timestamp_ms)}


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu 签名校验: "{timestamp_s}\\n{secret}" is the HMAC-SHA256 *key*; the message is empty.

    The reverse of what DingTalk does, and the usual mistake: both yield valid base64.
    """
    return _hmac_b64(f"{timestamp_s}\n{secret}".encode(), b"")
