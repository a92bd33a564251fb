"""我的任务: a unit's items grouped by colour, and the item page with its actions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from marshmallow import fields, validate

from checklists.workflow import RULES, Action, Payload
from service.api import ID_RANGE, InputSchema
from service.api.items import STATUSES, TransitionSchema
from service.extensions import services
from service.pages.forms import FormState, load, shows_errors_on
from service.pages.labels import action_label
from service.pages.signin import page_actor, signed_in
from service.services import documents as document_service
from service.services import items as item_service
from service.services import units as unit_service

bp = Blueprint("tasks", __name__)

COLOUR_ORDER = ("red", "yellow", "green", "done", "waived")
OPEN_STATUSES = tuple(s for s in STATUSES if s not in ("approved", "waived"))
# More than a unit ever owes at once; past it the page asks for a filter.
MAX_LISTED = 1000


class TaskFilterSchema(InputSchema):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    document = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    unit = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    status = fields.String(load_default="", validate=validate.OneOf(["", "open", *STATUSES]))
    colour = fields.String(load_default="", validate=validate.OneOf(["", *COLOUR_ORDER]))


def today() -> date:
    context = services()
    return context.config.local_date(context.clock.now())


@bp.route("/tasks")
@signed_in()
def index() -> str:
    raw = {k: v for k, v in request.args.items() if v != ""}
    query = load(TaskFilterSchema(), raw)
    actor = page_actor()
    status = OPEN_STATUSES if query["status"] in ("", "open") else (query["status"],)
    filters = item_service.ItemFilters(
        unit=query["unit"], document=query["document"], status=status, q=query["q"] or None
    )
    page = item_service.list_items(
        services().database, actor, filters, cursor=None, limit=MAX_LISTED, today=today()
    )
    groups = group_by_colour(page["items"], query["colour"])
    return render_template(
        "tasks.html",
        groups=groups,
        total=sum(len(items) for _c, items in groups),
        truncated=page["next_cursor"] is not None,
        query=query,
        documents=document_service.list_documents(services().database),
        units=unit_service.directory(services().database) if actor.role != "staff" else [],
        statuses=STATUSES,
        today=today(),
    )


def group_by_colour(items: list[dict[str, Any]], only: str) -> list[tuple[str, list[Any]]]:
    """Red first, then yellow and green; within a colour, the nearest deadline first."""
    groups: dict[str, list[dict[str, Any]]] = {colour: [] for colour in COLOUR_ORDER}
    for item in items:
        groups[item["colour"]].append(item)
    for members in groups.values():
        members.sort(key=lambda i: (i["deadline"] or date.max, i["id"]))
    return [(c, groups[c]) for c in COLOUR_ORDER if groups[c] and only in ("", c)]


@bp.route("/items/<id:item_id>")
@signed_in()
def item(item_id: int) -> str:
    return render_item(item_id, open_action=None, form=FormState())


def render_item(item_id: int, *, open_action: str | None, form: FormState) -> str:
    actor = page_actor()
    detail = item_service.item_detail(services().database, actor, item_id, today())
    actions = [action_form(a) for a in detail["allowed_actions"]]
    units = unit_service.directory(services().database) if "reassign" in detail[
        "allowed_actions"
    ] else []
    return render_template(
        "item.html",
        item=detail,
        actions=actions,
        open_action=open_action,
        form=form,
        blank=FormState(),
        units=units,
        today=today(),
    )


def action_form(action: str) -> dict[str, Any]:
    """The fields an action's form shows: what the workflow table requires or accepts."""
    rule = RULES[Action(action)]
    return {
        "action": action,
        "fields": [*rule.requires, *(f for f in rule.accepts if f not in rule.requires)],
        "requires": rule.requires,
    }


class ActionFormSchema(InputSchema):
    action = fields.String(required=True, validate=validate.OneOf([a.value for a in Action]))
    etag = fields.String(required=True, validate=validate.Length(min=1, max=100))


@bp.route("/items/<id:item_id>/actions", methods=["POST"])
@signed_in()
@shows_errors_on(
    lambda state, item_id: render_item(item_id, open_action=state.values.get("action"), form=state)
)
def act(item_id: int) -> Response:
    values = request.form.to_dict()
    head = load(ActionFormSchema(), {k: values.get(k) for k in ("action", "etag")})
    body = load(TransitionSchema(), transition_body(head["action"], values))
    body.pop("action")
    context = services()
    now = context.clock.now()
    item_service.transition(
        context.database,
        page_actor(),
        item_id,
        if_match=head["etag"],
        action=head["action"],
        payload=Payload(**body),
        now=now,
        today=context.config.local_date(now),
    )
    flash(f"{action_label(head['action'])}：已完成", "success")
    return redirect(url_for("pages.tasks.item", item_id=item_id))  # type: ignore[return-value]


def transition_body(action: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The API's transition body from form fields; blank fields are "not given"."""
    body: dict[str, Any] = {"action": action}
    for name in ("note", "percent", "deadline", "unit_id"):
        text = str(values.get(name) or "").strip()
        if text:
            body[name] = text
    links = [line.strip() for line in str(values.get("evidence") or "").splitlines()]
    if any(links):
        body["evidence"] = [link for link in links if link]
    targets = {
        key.removeprefix("value_"): str(value).strip()
        for key, value in values.items()
        if key.startswith("value_") and str(value).strip()
    }
    if targets:
        body["values"] = targets
    return body
