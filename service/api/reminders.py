"""Reminders: what the next sweep would send, and each document's reminder policy."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from service.api import Blueprint, InputSchema
from service.auth import current_actor, requires
from service.extensions import services
from service.services import reminders as reminder_service

blp = Blueprint(
    "reminders", __name__, url_prefix="/api/v1", description="Deadline reminders and policies"
)


class Moment(fields.Field):
    """A local date (YYYY-MM-DD: that day at REMINDER_TIME) or date and time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return reminder_service.parse_moment(str(value))
        except ValueError:
            raise ValidationError("须为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM") from None


class PreviewQuerySchema(InputSchema):
    as_of = Moment(
        metadata={
            "description": "local date (then at REMINDER_TIME) or date-time; default now",
            "type": "string",
            "example": "2025-10-09T09:00",
        }
    )


class PreviewReminderSchema(Schema):
    item_id = fields.Integer()
    title = fields.String()
    unit_id = fields.Integer()
    unit_name = fields.String()
    document_id = fields.Integer()
    document_title = fields.String()
    measure_ref = fields.String()
    kind = fields.String(
        metadata={
            "description": "due_soon, overdue, escalated, progress_requested or progress_missed"
        }
    )
    step = fields.String(
        metadata={"description": "working days left, notice number, days overdue or period"}
    )
    deadline = fields.Date()
    due_at = fields.DateTime()
    message = fields.String()


class PreviewSchema(Schema):
    now = fields.DateTime(data_key="as_of")
    sent = fields.List(fields.Nested(PreviewReminderSchema), data_key="reminders")
    superseded = fields.Integer(metadata={"description": "older steps that would not be sent"})
    skipped = fields.Integer(metadata={"description": "items the holiday calendar cannot plan"})
    uncovered_years = fields.List(fields.Integer())
    items_read = fields.Integer()


@blp.route("/reminders/preview", methods=["GET"])
@requires("supervisor", "admin")
@blp.arguments(PreviewQuerySchema, location="query")
@blp.response(200, PreviewSchema)
@blp.doc(summary="The reminders a sweep at `as_of` would send (nothing is sent)")
def preview(query: dict[str, Any]) -> dict[str, Any]:
    context = services()
    moment = query.get("as_of") or context.clock.now()
    as_of = reminder_service.sweep_moment(context.config, moment)
    return reminder_service.preview(context.database, context.config, as_of).as_dict()


class ProgressSchema(InputSchema):
    every = fields.String(
        required=True,
        validate=validate.OneOf(["month", "quarter"]),
        metadata={"description": "month, or quarter (the first month of each quarter)"},
    )
    day = fields.Integer(strict=True, required=True, metadata={"description": "1–28"})
    remind_before = fields.Integer(
        strict=True, metadata={"description": "working days before the day, 1–10 (default 3)"}
    )


class PolicyInputSchema(InputSchema):
    """Overrides of the global defaults; a key left out keeps its default."""

    due_soon_offsets = fields.List(
        fields.Integer(strict=True),
        metadata={"description": "working days before the deadline, e.g. [10, 3, 1]"},
    )
    overdue_every = fields.Integer(
        strict=True, metadata={"description": "an overdue notice every N working days"}
    )
    escalate_after = fields.Integer(
        strict=True, metadata={"description": "escalate after M working days overdue"}
    )
    progress = fields.Nested(
        ProgressSchema, allow_none=True, metadata={"description": "null: no progress reports"}
    )


class ProgressOutSchema(Schema):
    every = fields.String()
    day = fields.Integer()
    remind_before = fields.Integer()


class PolicyOutSchema(Schema):
    due_soon_offsets = fields.List(fields.Integer())
    overdue_every = fields.Integer()
    escalate_after = fields.Integer()
    progress = fields.Nested(ProgressOutSchema, allow_none=True)


class DocumentPolicySchema(Schema):
    document_id = fields.Integer()
    overrides = fields.Nested(
        PolicyOutSchema, allow_none=True, metadata={"description": "as stored; null: defaults"}
    )
    effective = fields.Nested(PolicyOutSchema)


@blp.route("/documents/<id:document_id>/reminder-policy", methods=["GET"])
@requires("supervisor", "admin")
@blp.response(200, DocumentPolicySchema)
@blp.doc(summary="A document's reminder overrides and the policy in effect")
def show_policy(document_id: int) -> dict[str, Any]:
    context = services()
    return reminder_service.reminder_policy(context.database, context.config, document_id)


@blp.route("/documents/<id:document_id>/reminder-policy", methods=["PUT"])
@requires("supervisor", "admin")
@blp.arguments(PolicyInputSchema)
@blp.response(200, DocumentPolicySchema)
@blp.doc(summary="Replace a document's reminder overrides; its open items are rescheduled")
def replace_policy(body: dict[str, Any], document_id: int) -> dict[str, Any]:
    context = services()
    return reminder_service.set_reminder_policy(
        context.database,
        context.config,
        document_id,
        body,
        actor=current_actor(),
        now=context.clock.now(),
    )
