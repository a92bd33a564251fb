"""Webhook subscriptions over HTTP: endpoints, secrets, tests, replays and the delivery log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from service.api import ID_RANGE, Blueprint, InputSchema, Instant
from service.auth import current_actor, requires
from service.extensions import services
from service.services import delivery_log
from service.services import subscriptions as subscription_service
from service.services.delivery_log import REPLAY_LIMIT
from service.services.subscriptions import SubscriptionRequest
from webhooks.events import is_valid_pattern
from webhooks.formats import FORMATS

blp = Blueprint(
    "subscriptions", __name__, url_prefix="/api/v1", description="Webhook subscriptions"
)

MANAGERS = ("supervisor", "admin")
DELIVERY_STATUSES = ["pending", "delivered", "failed"]


def event_pattern(value: str) -> None:
    if not is_valid_pattern(value):
        raise ValidationError("未知的事件类型：可用 *、前缀加 .*（如 item.*）或具体类型")


class SettingsSchema(InputSchema):
    """What both creating and changing a subscription may set."""

    url = fields.String(validate=validate.Length(min=1, max=2000))
    description = fields.String(validate=validate.Length(max=200))
    event_types = fields.List(
        fields.String(validate=[validate.Length(min=1, max=64), event_pattern]),
        validate=validate.Length(max=50),
        metadata={"description": "patterns such as item.* or item.overdue; empty = all"},
    )
    units = fields.List(
        fields.Integer(validate=ID_RANGE),
        validate=validate.Length(max=200),
        metadata={"description": "unit ids; a merged unit stands for the unit it joined"},
    )
    documents = fields.List(fields.Integer(validate=ID_RANGE), validate=validate.Length(max=200))
    rate_limit_per_minute = fields.Integer(
        allow_none=True, validate=validate.Range(min=1, max=1000)
    )
    digest = fields.Boolean(
        allow_none=True,
        metadata={"description": "true: always merge waiting events; false: never; null: default"},
    )


class SubscriptionCreateSchema(SettingsSchema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    format = fields.String(required=True, validate=validate.OneOf(sorted(FORMATS)))
    secret = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "standard: a whsec_ secret, generated when omitted; "
            "dingtalk/feishu: the robot's 加签 secret; wecom/slack: none"
        },
    )


class SubscriptionUpdateSchema(SettingsSchema):
    active = fields.Boolean(metadata={"description": "true re-enables a disabled endpoint"})


class SubscriptionSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    format = fields.String()
    description = fields.String()
    event_types = fields.List(fields.String())
    units = fields.List(fields.Integer())
    documents = fields.List(fields.Integer())
    rate_limit_per_minute = fields.Integer(allow_none=True)
    digest = fields.Boolean(allow_none=True)
    active = fields.Boolean()
    disabled_at = fields.DateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    failing_since = fields.DateTime(allow_none=True)
    paused_until = fields.DateTime(allow_none=True)
    has_secret = fields.Boolean()
    old_secrets_expire_at = fields.List(
        fields.DateTime(), metadata={"description": "previous secrets still valid until then"}
    )
    pending_deliveries = fields.Integer()
    failed_deliveries = fields.Integer()
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class NewSecretSchema(SubscriptionSchema):
    secret = fields.String(allow_none=True, metadata={"description": "shown this once only"})


class RotateSchema(InputSchema):
    grace_hours = fields.Integer(
        load_default=24,
        validate=validate.Range(min=0, max=168),
        metadata={"description": "how long the previous secret stays valid"},
    )
    secret = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "dingtalk/feishu: the robot's new secret (required)"},
    )


class EventRefSchema(Schema):
    id = fields.String()
    type = fields.String()
    subject = fields.String()
    time = fields.DateTime()


class DeliverySchema(Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    msg_id = fields.String()
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    event = fields.Nested(EventRefSchema)


class DeliveryQuerySchema(InputSchema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    cursor = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DeliveryPageSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema))
    next_cursor = fields.String(allow_none=True)


class AttemptQuerySchema(InputSchema):
    cursor = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class AttemptSchema(Schema):
    id = fields.Integer()
    attempted_at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer()
    outcome = fields.String()
    reason = fields.String()
    response_excerpt = fields.String()
    msg_id = fields.String()
    event_count = fields.Integer()


class AttemptPageSchema(Schema):
    attempts = fields.List(fields.Nested(AttemptSchema))
    next_cursor = fields.String(allow_none=True)


class ReplaySchema(InputSchema):
    since = Instant(required=True, metadata={"description": "RFC 3339"})


class ReplayResultSchema(Schema):
    queued = fields.Integer()
    already_waiting = fields.Integer(metadata={"description": "events already pending here"})
    limit = fields.Integer(metadata={"description": f"at most {REPLAY_LIMIT} per call"})
    truncated = fields.Boolean()
    next_since = fields.DateTime(
        allow_none=True, metadata={"description": "when truncated: call again from here"}
    )


@blp.route("/subscriptions", methods=["GET"])
@requires(*MANAGERS)
@blp.response(200, SubscriptionSchema(many=True))
def list_subscriptions() -> list[dict[str, Any]]:
    return subscription_service.list_subscriptions(services().database)


@blp.route("/subscriptions", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(SubscriptionCreateSchema)
@blp.response(201, NewSecretSchema, description="created; the secret is shown this once")
def create_subscription(body: dict[str, Any]) -> dict[str, Any]:
    context = services()
    return subscription_service.create_subscription(
        context.database,
        SubscriptionRequest(**body),
        actor=current_actor(),
        now=context.clock.now(),
        networks=context.config.allowed_networks,
    )


@blp.route("/subscriptions/<id:subscription_id>", methods=["GET"])
@requires(*MANAGERS)
@blp.response(200, SubscriptionSchema)
def show_subscription(subscription_id: int) -> dict[str, Any]:
    return subscription_service.subscription_detail(services().database, subscription_id)


@blp.route("/subscriptions/<id:subscription_id>", methods=["PATCH"])
@requires(*MANAGERS)
@blp.arguments(SubscriptionUpdateSchema)
@blp.response(200, SubscriptionSchema)
def update_subscription(body: dict[str, Any], subscription_id: int) -> dict[str, Any]:
    context = services()
    return subscription_service.update_subscription(
        context.database,
        subscription_id,
        body,
        actor=current_actor(),
        now=context.clock.now(),
        networks=context.config.allowed_networks,
    )


@blp.route("/subscriptions/<id:subscription_id>", methods=["DELETE"])
@requires(*MANAGERS)
@blp.response(204)
def delete_subscription(subscription_id: int) -> None:
    context = services()
    subscription_service.delete_subscription(
        context.database, subscription_id, actor=current_actor(), now=context.clock.now()
    )


@blp.route("/subscriptions/<id:subscription_id>/rotate-secret", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(RotateSchema)
@blp.response(200, NewSecretSchema, description="the new secret, shown this once")
def rotate_secret(body: dict[str, Any], subscription_id: int) -> dict[str, Any]:
    context = services()
    return subscription_service.rotate_secret(
        context.database,
        subscription_id,
        grace=timedelta(hours=body["grace_hours"]),
        secret=body.get("secret"),
        actor=current_actor(),
        now=context.clock.now(),
    )


@blp.route("/subscriptions/<id:subscription_id>/test", methods=["POST"])
@requires(*MANAGERS)
@blp.response(202, DeliverySchema, description="a subscription.ping queued for this endpoint")
def send_test(subscription_id: int) -> dict[str, Any]:
    context = services()
    return delivery_log.send_test(
        context.database, subscription_id, actor=current_actor(), now=context.clock.now()
    )


@blp.route("/subscriptions/<id:subscription_id>/deliveries", methods=["GET"])
@requires(*MANAGERS)
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliveryPageSchema)
def list_deliveries(query: dict[str, Any], subscription_id: int) -> dict[str, Any]:
    return delivery_log.delivery_page(
        services().database,
        subscription_id,
        status=query.get("status"),
        limit=query["limit"],
        cursor=query.get("cursor"),
    )


@blp.route("/subscriptions/<id:subscription_id>/attempts", methods=["GET"])
@requires(*MANAGERS)
@blp.arguments(AttemptQuerySchema, location="query")
@blp.response(200, AttemptPageSchema)
def list_attempts(query: dict[str, Any], subscription_id: int) -> dict[str, Any]:
    return delivery_log.attempt_page(
        services().database, subscription_id, limit=query["limit"], cursor=query.get("cursor")
    )


@blp.route("/subscriptions/<id:subscription_id>/replay", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(ReplaySchema)
@blp.response(202, ReplayResultSchema)
def replay(body: dict[str, Any], subscription_id: int) -> dict[str, Any]:
    context = services()
    return delivery_log.replay(
        context.database,
        subscription_id,
        since=body["since"],
        actor=current_actor(),
        now=context.clock.now(),
    )


@blp.route("/deliveries/<id:delivery_id>/retry", methods=["POST"])
@requires(*MANAGERS)
@blp.response(202, DeliverySchema, description="pending again, due now")
def retry_delivery(delivery_id: int) -> dict[str, Any]:
    context = services()
    return delivery_log.retry_delivery(
        context.database, delivery_id, actor=current_actor(), now=context.clock.now()
    )
