"""The event feed: cursor pages of CloudEvents, and the same events as Server-Sent Events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request, stream_with_context
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from service.api import ID_RANGE, Blueprint, InputSchema
from service.auth import actor_from_header, current_actor, requires
from service.errors import ServiceError
from service.extensions import services
from service.services import feed
from service.stream import broadcaster, open_stream
from webhooks.events import is_valid_pattern

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Event feed")


class CursorField(fields.String):
    """A feed cursor (`<txid>-<id>`, opaque to clients), loaded as a `feed.Cursor`."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": feed.CURSOR_FORMAT.pattern, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return feed.parse_cursor(text)
        except ValueError:
            raise ValidationError("无效的游标，请使用上一页的 next_cursor 或事件的 id") from None


class TypePatterns(fields.List):
    """Event type patterns, repeated (`type=a&type=b`) or comma-separated (`type=a,b`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.String(validate=validate.Length(min=1, max=400)), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        given = super()._deserialize(value, attr, data, **kwargs)
        patterns = [part.strip() for text in given for part in text.split(",")]
        unknown = [p for p in patterns if not is_valid_pattern(p)]
        if unknown:
            raise ValidationError(f"未知的事件类型：{'、'.join(unknown)}（可用 item.* 或 *）")
        return tuple(patterns)


class FilterSchema(InputSchema):
    type = TypePatterns(
        metadata={"description": "event type, `item.*` or `*`; repeat or comma-separate"}
    )
    unit = fields.Integer(
        validate=ID_RANGE, metadata={"description": "only this unit's events (staff: own unit)"}
    )


class FeedQuerySchema(FilterSchema):
    after = CursorField(metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class StreamQuerySchema(FilterSchema):
    after = CursorField(metadata={"description": "resume after this cursor (Last-Event-ID wins)"})


class StreamHeadersSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    last_event_id = CursorField(
        data_key="Last-Event-ID",
        metadata={"description": "set by EventSource on reconnect: resume after this event"},
    )


class FeedEventSchema(Schema):
    """A CloudEvents 1.0 envelope, with its feed position as the `cursor` extension."""

    specversion = fields.String()
    id = fields.String()
    source = fields.String()
    type = fields.String()
    subject = fields.String()
    time = fields.String(metadata={"description": "RFC 3339, UTC"})
    datacontenttype = fields.String()
    data = fields.Dict()
    cursor = fields.String(metadata={"description": "resume the feed after this event"})


class FeedPageSchema(Schema):
    events = fields.List(fields.Nested(FeedEventSchema))
    next_cursor = fields.String(metadata={"description": "`after` for the next page"})


# One SSE event: `id` is the cursor, `event` the type, `data` the envelope as one JSON line.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "event": {"type": "string"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/FeedEvent"},
        },
    },
}


def wanted(query: dict[str, Any]) -> feed.FeedFilter:
    return feed.FeedFilter(types=query.get("type", ()), unit=query.get("unit"))


@blp.route("", methods=["GET"])
@requires()
@blp.arguments(FeedQuerySchema, location="query")
@blp.response(200, FeedPageSchema)
def list_events(query: dict[str, Any]) -> dict[str, Any]:
    return feed.feed_page(
        services().database,
        current_actor(),
        wanted(query),
        after=query.get("after", feed.START),
        limit=query["limit"],
    )


@blp.route("/stream", methods=["GET"])
@requires()
@blp.arguments(StreamQuerySchema, location="query")
@blp.arguments(StreamHeadersSchema, location="headers")
@blp.response(
    200,
    SSE_EVENT,
    content_type="text/event-stream",
    description="Server-Sent Events: new events as they commit, `: keepalive` when idle",
)
def stream_events(query: dict[str, Any], headers: dict[str, Any]) -> Response:
    frames = open_stream(
        broadcaster(),
        current_actor(),
        wanted(query),
        after=headers.get("last_event_id", query.get("after")),
        heartbeat_seconds=services().config.sse_heartbeat_seconds,
        still_allowed=token_still_valid(request.headers.get("Authorization", "")),
    )
    response = Response(stream_with_context(frames), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def token_still_valid(header: str) -> Callable[[], bool]:
    """A check the stream runs now and then: is the token still valid (not revoked, expired)?"""

    def check() -> bool:
        try:
            actor_from_header(header)
        except ServiceError:
            return False
        return True

    return check
