"""订阅推送: webhook endpoints and chat robots — create, test, enable or disable, delivery log.

A robot's access token sits in its URL, so pages show URLs only as the audit log does,
without the token; a generated signing secret is shown once, on the page that made it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from service.api.subscriptions import (
    DeliveryQuerySchema,
    SubscriptionCreateSchema,
    SubscriptionUpdateSchema,
)
from service.extensions import services
from service.pages.forms import FormState, load, shows_errors_on
from service.pages.signin import page_actor, signed_in
from service.services import delivery_log
from service.services import subscriptions as subscription_service
from service.services import units as unit_service
from service.services.subscriptions import SubscriptionRequest, shown_url
from webhooks.events import EVENT_LABELS, SUBSCRIPTION_PING
from webhooks.events import label as event_label

bp = Blueprint("subscriptions", __name__)

MANAGERS = ("supervisor", "admin")
FORMAT_NAMES = {
    "standard": "标准 Webhook（OA 等系统）",
    "dingtalk": "钉钉群机器人",
    "wecom": "企业微信群机器人",
    "feishu": "飞书群机器人",
    "slack": "Slack",
}
DELIVERY_STATUS_NAMES = {"pending": "待发送", "delivered": "已送达", "failed": "失败"}
ATTEMPT_OUTCOME_NAMES = {
    "delivered": "成功",
    "retry": "失败，将重试",
    "rate_limited": "限流，将重试",
    "permanent": "失败，不再重试",
}
PREFIX_CHOICES = {"item.*": "全部事项动态", "unit.*": "全部单位变动"}
EVENT_CHOICES = {
    **PREFIX_CHOICES,
    **{t: label for t, label in EVENT_LABELS.items() if t != SUBSCRIPTION_PING},
}
RECENT_ATTEMPTS = 20


def masked(subscription: dict[str, Any]) -> dict[str, Any]:
    """The subscription without the robot's access token in its URL."""
    return {**subscription, "url": shown_url(subscription["url"], subscription["format"])}


def labels() -> dict[str, Any]:
    return {
        "format_names": FORMAT_NAMES,
        "event_choices": EVENT_CHOICES,
        "event_label": event_label,
        "delivery_status_names": DELIVERY_STATUS_NAMES,
        "attempt_outcome_names": ATTEMPT_OUTCOME_NAMES,
    }


@bp.route("/subscriptions")
@signed_in(*MANAGERS)
def index() -> str:
    return render_index(FormState())


def render_index(form: FormState) -> str:
    database = services().database
    subscriptions = subscription_service.list_subscriptions(database)
    return render_template(
        "subscriptions.html",
        subscriptions=[masked(s) for s in subscriptions],
        units=unit_service.directory(database),
        form=form,
        **labels(),
    )


@bp.route("/subscriptions", methods=["POST"])
@signed_in(*MANAGERS)
@shows_errors_on(lambda state: render_index(state))
def create() -> Response | tuple[str, int]:
    body = load(SubscriptionCreateSchema(), creation_body(submitted_settings()))
    context = services()
    created = subscription_service.create_subscription(
        context.database,
        SubscriptionRequest(**body),
        actor=page_actor(),
        now=context.clock.now(),
        networks=context.config.allowed_networks,
    )
    if created["format"] == "standard" and "secret" not in body:
        # The secret the service generated: this response is the one place it is shown.
        return render_detail(created["id"], secret=created["secret"]), 201
    flash("已创建订阅：请点“发送测试消息”检查机器人能否收到", "success")
    return back_to(created["id"])


def submitted_settings() -> dict[str, Any]:
    """The create form as typed, to show again on an error; the secret is never echoed."""
    form = request.form
    values: dict[str, Any] = {k: form.get(k, "").strip() for k in ("description", "url", "format")}
    values.update(event_types=form.getlist("event_types"), units=form.getlist("units"))
    return values


def creation_body(values: dict[str, Any]) -> dict[str, Any]:
    """The API's create body: blank fields are "not given", as in the JSON API."""
    body = {k: v for k, v in values.items() if v}
    secret = request.form.get("secret", "").strip()
    return {**body, "secret": secret} if secret else body


@bp.route("/subscriptions/<id:subscription_id>")
@signed_in(*MANAGERS)
def detail(subscription_id: int) -> str:
    return render_detail(subscription_id)


def render_detail(
    subscription_id: int, *, form: FormState | None = None, secret: str | None = None
) -> str:
    query = delivery_query()
    database = services().database
    subscription = subscription_service.subscription_detail(database, subscription_id)
    page = delivery_log.delivery_page(
        database,
        subscription_id,
        status=query.get("status"),
        limit=query["limit"],
        cursor=query.get("cursor"),
    )
    attempts = delivery_log.attempt_page(
        database, subscription_id, limit=RECENT_ATTEMPTS, cursor=None
    )
    return render_template(
        "subscription.html",
        subscription=masked(subscription),
        unit_names={u["id"]: u["name"] for u in unit_service.directory(database)},
        deliveries=page["deliveries"],
        next_cursor=page["next_cursor"],
        status=query.get("status", ""),
        attempts=attempts["attempts"],
        form=form or FormState(),
        secret=secret,
        **labels(),
    )


def delivery_query() -> dict[str, Any]:
    """The delivery log's filter and page from the query string."""
    return load(DeliveryQuerySchema(), {k: v for k, v in request.args.items() if v})


def back_to(subscription_id: int) -> Response:
    target = url_for("pages.subscriptions.detail", subscription_id=subscription_id)
    return redirect(target)  # type: ignore[return-value]


@bp.route("/subscriptions/<id:subscription_id>/test", methods=["POST"])
@signed_in(*MANAGERS)
@shows_errors_on(lambda state, subscription_id: render_detail(subscription_id, form=state))
def send_test(subscription_id: int) -> Response:
    context = services()
    delivery = delivery_log.send_test(
        context.database, subscription_id, actor=page_actor(), now=context.clock.now()
    )
    flash(f"测试消息已排入发送队列（投递 #{delivery['id']}），稍后刷新查看结果", "success")
    return back_to(subscription_id)


@bp.route("/subscriptions/<id:subscription_id>/active", methods=["POST"])
@signed_in(*MANAGERS)
@shows_errors_on(lambda state, subscription_id: render_detail(subscription_id, form=state))
def set_active(subscription_id: int) -> Response:
    body = load(SubscriptionUpdateSchema(), {"active": request.form.get("active", "")})
    context = services()
    subscription_service.update_subscription(
        context.database,
        subscription_id,
        body,
        actor=page_actor(),
        now=context.clock.now(),
        networks=context.config.allowed_networks,
    )
    flash("已启用推送" if body["active"] else "已停用推送：不再发送新消息", "success")
    return back_to(subscription_id)


@bp.route(
    "/subscriptions/<id:subscription_id>/deliveries/<id:delivery_id>/retry", methods=["POST"]
)
@signed_in(*MANAGERS)
@shows_errors_on(
    lambda state, subscription_id, delivery_id: render_detail(subscription_id, form=state)
)
def retry(subscription_id: int, delivery_id: int) -> Response:
    context = services()
    delivery = delivery_log.retry_delivery(
        context.database, delivery_id, actor=page_actor(), now=context.clock.now()
    )
    flash(f"投递 #{delivery_id} 已重新排入发送队列", "success")
    return back_to(delivery["subscription_id"])
