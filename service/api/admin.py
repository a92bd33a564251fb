"""Supervisor and admin endpoints: the audit log and API tokens."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.api import ID_RANGE, Blueprint, InputSchema, Instant
from service.auth import current_actor, requires
from service.extensions import services
from service.services import tokens as token_service
from service.services.audit_log import audit_page

blp = Blueprint("admin", __name__, url_prefix="/api/v1", description="Audit log and tokens")


class AuditQuerySchema(InputSchema):
    item = fields.Integer(validate=ID_RANGE)
    entity = fields.String(
        validate=validate.OneOf(["item", "document", "unit", "token", "subscription"])
    )
    since = Instant()
    before = fields.Integer(validate=ID_RANGE, metadata={"description": "cursor"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditRecordSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    actor_role = fields.String()
    entity = fields.String()
    entity_id = fields.Integer()
    item_id = fields.Integer(allow_none=True)
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    details = fields.Dict()


class AuditPageSchema(Schema):
    records = fields.List(fields.Nested(AuditRecordSchema))
    next_before = fields.Integer(allow_none=True)


@blp.route("/audit", methods=["GET"])
@requires("supervisor", "admin")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def audit(query: dict[str, Any]) -> dict[str, Any]:
    return audit_page(
        services().database,
        item_id=query.get("item"),
        entity=query.get("entity"),
        since=query.get("since"),
        before_id=query.get("before"),
        limit=query["limit"],
    )


class TokenSchema(Schema):
    id = fields.Integer()
    label = fields.String()
    role = fields.String()
    unit_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreateSchema(InputSchema):
    role = fields.String(required=True, validate=validate.OneOf(token_service.ROLES))
    unit = fields.String(validate=validate.Length(min=1, max=200))
    label = fields.String(load_default="", validate=validate.Length(max=200))
    expires_at = Instant()


class NewTokenSchema(Schema):
    token = fields.String(metadata={"description": "shown once; only its hash is stored"})


@blp.route("/tokens", methods=["GET"])
@requires("admin")
@blp.response(200, TokenSchema(many=True))
def list_tokens() -> list[dict[str, Any]]:
    return token_service.token_rows(services().database)


@blp.route("/tokens", methods=["POST"])
@requires("admin")
@blp.arguments(TokenCreateSchema)
@blp.response(201, NewTokenSchema)
def create_token(body: dict[str, Any]) -> dict[str, str]:
    context = services()
    plaintext = token_service.issue_token(
        context.database,
        role=body["role"],
        unit_name=body.get("unit"),
        label=body["label"],
        expires_at=body.get("expires_at"),
        now=context.clock.now(),
    )
    return {"token": plaintext}


@blp.route("/tokens/<id:token_id>", methods=["DELETE"])
@requires("admin")
@blp.response(204)
def revoke_token(token_id: int) -> None:
    context = services()
    token_service.revoke(context.database, token_id, actor=current_actor(), now=context.clock.now())
