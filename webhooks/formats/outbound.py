"""What a formatter produces: the exact request to send, and the formatter record itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

Event = Mapping[str, Any]


@dataclass(frozen=True)
class OutboundRequest:
    """One POST: body bytes (signed as they are), headers, and query parameters to append.

    `event_ids` lists every event the request accounts for, including those a digest
    folded into "另有 N 项…", so the worker can mark them all delivered.
    """

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    event_ids: tuple[str, ...] = ()

    def url(self, endpoint: str) -> str:
        """The endpoint URL with `query` appended after any query it already has."""
        if not self.query:
            return endpoint
        parts = urlsplit(endpoint)
        extra = urlencode(self.query)
        query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit(parts._replace(query=query))


class Render(Protocol):
    """Turns one event or a digest (several events) into the request for one endpoint.

    `secrets` lists the endpoint's valid secrets, newest first (more than one only
    during a rotation); `now` is the moment of sending, which signatures embed, so a
    retry renders again; `msg_id` identifies the message across its retries.
    """

    def __call__(
        self,
        events: Sequence[Event],
        *,
        base_url: str,
        secrets: Sequence[str],
        now: datetime,
        msg_id: str,
    ) -> OutboundRequest: ...


@dataclass(frozen=True)
class Formatter:
    """A chat or webhook format: how to render, and the receiver's size limit.

    `measure` returns the quantity the receiver limits (body bytes, content bytes or
    characters, as the receiver documents it; body bytes by default); `size_limit` is
    None when unlimited.
    """

    name: str
    render: Render
    size_limit: int | None
    measure: Callable[[OutboundRequest], int] = field(default=lambda r: len(r.body))

    def fits(self, request: OutboundRequest) -> bool:
        """Whether a rendered request is within the receiver's limit."""
        return self.size_limit is None or self.measure(request) <= self.size_limit
