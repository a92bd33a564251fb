"""The unit directory over HTTP: list, create, aliases, confirm and merge."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.api import ID_RANGE, Blueprint, InputSchema
from service.auth import current_actor, requires
from service.extensions import services
from service.services import units as unit_service

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="Unit directory")

NAME = validate.Length(min=1, max=200)


class UnitSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    is_group = fields.Boolean()
    confirmed = fields.Boolean()
    aliases = fields.List(fields.String())
    open_items = fields.Integer()


class UnitQuerySchema(InputSchema):
    unconfirmed = fields.Boolean(metadata={"description": "only units an import created"})


class UnitCreateSchema(InputSchema):
    name = fields.String(required=True, validate=NAME)
    aliases = fields.List(fields.String(validate=NAME), load_default=list)
    is_group = fields.Boolean(load_default=False)


class AliasSchema(InputSchema):
    alias = fields.String(required=True, validate=NAME)


class MergeSchema(InputSchema):
    into = fields.Integer(
        required=True, validate=ID_RANGE, metadata={"description": "id of the unit that remains"}
    )


@blp.route("", methods=["GET"])
@requires()
@blp.arguments(UnitQuerySchema, location="query")
@blp.response(200, UnitSchema(many=True))
def list_units(query: dict[str, Any]) -> list[dict[str, Any]]:
    return unit_service.directory(services().database, unconfirmed=query.get("unconfirmed"))


@blp.route("", methods=["POST"])
@requires("supervisor", "admin")
@blp.arguments(UnitCreateSchema)
@blp.response(201, UnitSchema)
def create_unit(body: dict[str, Any]) -> dict[str, Any]:
    context = services()
    entry = unit_service.DirectoryEntry(body["name"], tuple(body["aliases"]), body["is_group"])
    return unit_service.create_unit(
        context.database, entry, actor=current_actor(), now=context.clock.now()
    )


@blp.route("/<id:unit_id>/aliases", methods=["POST"])
@requires("supervisor", "admin")
@blp.arguments(AliasSchema)
@blp.response(200, UnitSchema)
def add_alias(body: dict[str, Any], unit_id: int) -> dict[str, Any]:
    context = services()
    return unit_service.alias_unit(
        context.database, unit_id, body["alias"], actor=current_actor(), now=context.clock.now()
    )


@blp.route("/<id:unit_id>/confirm", methods=["POST"])
@requires("supervisor", "admin")
@blp.response(200, UnitSchema)
def confirm_unit(unit_id: int) -> dict[str, Any]:
    context = services()
    return unit_service.confirm(
        context.database, unit_id, actor=current_actor(), now=context.clock.now()
    )


@blp.route("/<id:unit_id>/merge", methods=["POST"])
@requires("supervisor", "admin")
@blp.arguments(MergeSchema)
@blp.response(200, UnitSchema)
def merge_unit(body: dict[str, Any], unit_id: int) -> dict[str, Any]:
    context = services()
    return unit_service.merge(
        context.database, unit_id, body["into"], actor=current_actor(), now=context.clock.now()
    )
