"""Generic JSON for OA systems: CloudEvents bodies signed per Standard Webhooks.

One event is sent as the envelope itself; a digest as a CloudEvents JSON batch (an
array of envelopes). Nothing is truncated: machines get every event whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from webhooks.formats.message import event_ids
from webhooks.formats.outbound import Event, Formatter, OutboundRequest
from webhooks.signing import standard_headers

SINGLE_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json; charset=utf-8"


def encode(payload: object) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def render(
    events: Sequence[Event],
    *,
    base_url: str,
    secrets: Sequence[str],
    now: datetime,
    msg_id: str,
) -> OutboundRequest:
    """The envelope (or batch) with `webhook-id`, `webhook-timestamp`, `webhook-signature`."""
    single = len(events) == 1
    body = encode(dict(events[0]) if single else [dict(e) for e in events])
    headers = {
        "content-type": SINGLE_CONTENT_TYPE if single else BATCH_CONTENT_TYPE,
        **standard_headers(secrets, msg_id, int(now.timestamp()), body),
    }
    return OutboundRequest(body=body, headers=headers, event_ids=event_ids(events))


FORMATTER = Formatter(name="standard", render=render, size_limit=None)
