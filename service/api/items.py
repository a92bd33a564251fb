"""Checklist items: list with filters and cursor pages, detail with ETag, transitions."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, jsonify, request
from marshmallow import Schema, fields, validate

from checklists.workflow import MAX_NOTE_LENGTH, Action, Payload
from service.api import ID_RANGE, Blueprint, InputSchema
from service.api.schemas import MeasureBaseSchema, TargetSchema
from service.auth import current_actor, requires
from service.extensions import services
from service.services import items as item_service

blp = Blueprint("items", __name__, url_prefix="/api/v1/items", description="Checklist items")

STATUSES = [
    "assigned",
    "acknowledged",
    "in_progress",
    "submitted",
    "approved",
    "rejected",
    "returned",
    "waived",
]


class ItemQuerySchema(InputSchema):
    unit = fields.Integer(validate=ID_RANGE)
    document = fields.Integer(validate=ID_RANGE)
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)))
    due_before = fields.Date()
    overdue = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class RefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String()
    ref = fields.String()
    is_group = fields.Boolean()
    recurrence = fields.String(allow_none=True)


class ItemSummarySchema(Schema):
    id = fields.Integer()
    measure_id = fields.Integer()
    unit_id = fields.Integer()
    role = fields.String(metadata={"description": "lead (牵头) or co (配合)"})
    implicit = fields.Boolean()
    period = fields.String()
    status = fields.String()
    deadline = fields.Date(allow_none=True)
    original_deadline = fields.Date(allow_none=True)
    percent = fields.Float()
    target_values = fields.Dict(keys=fields.String(), values=fields.Float())
    extension_pending = fields.Boolean()
    requested_deadline = fields.Date(allow_none=True)
    last_progress_at = fields.DateTime(allow_none=True)
    last_progress_note = fields.String(allow_none=True)
    version = fields.Integer()
    etag = fields.String()
    colour = fields.String(metadata={"description": "red, yellow, green, done or waived"})
    days_overdue = fields.Integer()
    unit = fields.Nested(RefSchema)
    document = fields.Nested(RefSchema)
    measure = fields.Nested(RefSchema)


class ItemPageSchema(Schema):
    items = fields.List(fields.Nested(ItemSummarySchema))
    next_cursor = fields.String(allow_none=True)


class HistorySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    actor_role = fields.String()
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    details = fields.Dict()


class ItemTargetSchema(TargetSchema):
    reported = fields.Float(allow_none=True)


class SiblingSchema(Schema):
    unit = fields.String()
    role = fields.String()
    status = fields.String()


class MeasureDetailSchema(MeasureBaseSchema):
    complete = fields.Boolean()
    units = fields.List(fields.Nested(SiblingSchema))


class ItemDetailSchema(ItemSummarySchema):
    measure = fields.Nested(MeasureDetailSchema)
    targets = fields.List(fields.Nested(ItemTargetSchema))
    allowed_actions = fields.List(fields.String())
    history = fields.List(fields.Nested(HistorySchema))


class TransitionSchema(InputSchema):
    action = fields.String(required=True, validate=validate.OneOf([a.value for a in Action]))
    note = fields.String(validate=validate.Length(max=MAX_NOTE_LENGTH))
    evidence = fields.List(
        fields.String(validate=validate.Length(max=2000)), validate=validate.Length(max=50)
    )
    values = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^\d{1,12}$")),
        values=fields.Float(allow_nan=False),
    )
    percent = fields.Float(validate=validate.Range(min=0, max=100))
    deadline = fields.Date()
    unit_id = fields.Integer(validate=ID_RANGE)


def local_today() -> date:
    context = services()
    return context.config.local_date(context.clock.now())


# One instance for every response: building a schema (and its nested ones) costs more
# than dumping an item with it.
ITEM_DETAIL = ItemDetailSchema()


def with_etag(body: dict[str, Any]) -> Response:
    response = jsonify(ITEM_DETAIL.dump(body))
    response.headers["ETag"] = body["etag"]
    return response


@blp.route("", methods=["GET"])
@requires()
@blp.arguments(ItemQuerySchema, location="query")
@blp.response(200, ItemPageSchema)
def list_items(query: dict[str, Any]) -> dict[str, Any]:
    filters = item_service.ItemFilters(
        unit=query.get("unit"),
        document=query.get("document"),
        status=tuple(query.get("status", ())),
        due_before=query.get("due_before"),
        overdue=query.get("overdue"),
        q=query.get("q"),
    )
    return item_service.list_items(
        services().database,
        current_actor(),
        filters,
        cursor=query.get("cursor"),
        limit=query["limit"],
        today=local_today(),
    )


@blp.route("/<id:item_id>", methods=["GET"])
@requires()
@blp.response(200, ItemDetailSchema, description="The item; its version is in the ETag header")
def show_item(item_id: int) -> Response:
    body = item_service.item_detail(services().database, current_actor(), item_id, local_today())
    return with_etag(body)


@blp.route("/<id:item_id>/transitions", methods=["POST"])
@requires()
@blp.arguments(TransitionSchema)
@blp.response(200, ItemDetailSchema, description="The item after the action, with its new ETag")
@blp.doc(
    parameters=[
        {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": "the item's ETag",
        }
    ]
)
def transition(body: dict[str, Any], item_id: int) -> Response:
    context = services()
    now = context.clock.now()
    action = body.pop("action")
    payload = Payload(**{k: v for k, v in body.items()})
    result = item_service.transition(
        context.database,
        current_actor(),
        item_id,
        if_match=request.headers.get("If-Match"),
        action=action,
        payload=payload,
        now=now,
        today=context.config.local_date(now),
    )
    return with_etag(result)
