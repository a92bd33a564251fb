"""单位: the unit directory — aliases, units new from imports to confirm, and merging duplicates."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from marshmallow import fields

from service.api import ID_RANGE
from service.api.units import AliasSchema, MergeSchema, UnitQuerySchema
from service.extensions import services
from service.pages.forms import FormState, load, shows_errors_on
from service.pages.signin import page_actor, signed_in
from service.services import units as unit_service

bp = Blueprint("directory", __name__)


class MergeFormSchema(MergeSchema):
    """The API's merge body, with the unit to fold in chosen on the form, not in the path."""

    unit = fields.Integer(required=True, validate=ID_RANGE)


@bp.route("/units")
@signed_in("supervisor", "admin")
def index() -> str:
    return render_units()


def listing() -> dict[str, str]:
    """The directory's filter from the query string, kept across a form's round trip."""
    query = load(UnitQuerySchema(), {k: v for k, v in request.args.items() if v})
    return {"unconfirmed": "1"} if query.get("unconfirmed") else {}


def render_units(
    *,
    alias_form: FormState | None = None,
    alias_unit: int | None = None,
    merge_form: FormState | None = None,
    message: FormState | None = None,
) -> str:
    """The directory page; a failed form is shown again where it was filled in."""
    filters = listing()
    everyone = unit_service.directory(services().database)
    return render_template(
        "units.html",
        units=[u for u in everyone if not filters or not u["confirmed"]],
        everyone=everyone,
        filters=filters,
        alias_form=alias_form or FormState(),
        alias_unit=alias_unit,
        merge_form=merge_form or FormState(),
        message=message or FormState(),
        blank=FormState(),
    )


def back_to_units(unit_id: int | None = None) -> Response:
    target = url_for("pages.directory.index", **listing())
    return redirect(f"{target}#unit-{unit_id}" if unit_id else target)  # type: ignore[return-value]


@bp.route("/units/<id:unit_id>/aliases", methods=["POST"])
@signed_in("supervisor", "admin")
@shows_errors_on(lambda state, unit_id: render_units(alias_form=state, alias_unit=unit_id))
def add_alias(unit_id: int) -> Response:
    body = load(AliasSchema(), {"alias": request.form.get("alias", "").strip()})
    context = services()
    unit = unit_service.alias_unit(
        context.database, unit_id, body["alias"], actor=page_actor(), now=context.clock.now()
    )
    flash(f"已为“{unit['name']}”添加别名“{body['alias']}”", "success")
    return back_to_units(unit_id)


@bp.route("/units/<id:unit_id>/confirm", methods=["POST"])
@signed_in("supervisor", "admin")
@shows_errors_on(lambda state, unit_id: render_units(message=state))
def confirm(unit_id: int) -> Response:
    context = services()
    unit = unit_service.confirm(
        context.database, unit_id, actor=page_actor(), now=context.clock.now()
    )
    flash(f"已确认单位“{unit['name']}”", "success")
    return back_to_units(unit_id)


@bp.route("/units/merge", methods=["POST"])
@signed_in("supervisor", "admin")
@shows_errors_on(lambda state: render_units(merge_form=state))
def merge() -> Response:
    values = {k: request.form.get(k, "") for k in ("unit", "into")}
    body = load(MergeFormSchema(), {k: v for k, v in values.items() if v})
    context = services()
    unit = unit_service.merge(
        context.database, body["unit"], body["into"], actor=page_actor(), now=context.clock.now()
    )
    flash(
        f"已合并到“{unit['name']}”：移交事项 {unit['items_moved']} 项，原名称已作为别名保留",
        "success",
    )
    return back_to_units(unit["id"])
