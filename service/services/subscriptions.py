"""Webhook subscriptions: create, list, change, delete, rotate secrets.

Secrets are shown once, when made; afterwards only `has_secret`. The URL is checked
(after DNS) before any transaction opens, so a slow resolver never holds a write lock.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from service.config import IPNetwork
from service.db import Database
from service.errors import Conflict, InvalidInput, NotFound
from service.models import Delivery, DeliveryAttempt, Document, Subscription, Unit
from service.services.audit import Actor, record_audit
from webhooks.signing import InvalidSecret, new_standard_secret, standard_key
from webhooks.transport import Resolver, UrlRefused, validate_url

# Formats whose receivers check a signature; WeCom and Slack robots have none.
SIGNED_FORMATS = ("standard", "dingtalk", "feishu")
# Robots whose webhook URL path is the secret (…/bot/v2/hook/<token>, …/services/T/B/<token>).
TOKEN_IN_PATH = ("feishu", "slack")
STANDARD_SECRET_BYTES = 32
# What a subscriber sets, at creation or later (format and secrets have their own rules).
SETTINGS = (
    "url",
    "description",
    "event_types",
    "units",
    "documents",
    "rate_limit_per_minute",
    "digest",
)


@dataclass(frozen=True)
class SubscriptionRequest:
    """What a new subscription asks for; empty filters mean "everything"."""

    url: str
    format: str
    secret: str | None = None
    description: str = ""
    event_types: Sequence[str] = ()
    units: Sequence[int] = ()
    documents: Sequence[int] = ()
    rate_limit_per_minute: int | None = None
    digest: bool | None = None


def url_problems(
    url: str, networks: tuple[IPNetwork, ...], resolve: Resolver
) -> dict[str, list[str]]:
    """The `url` field's errors: a scheme other than http(s), or an internal destination."""
    try:
        validate_url(url, networks, resolve)
    except UrlRefused as refused:
        return {"url": [str(refused)]}
    return {}


def secret_problem(format: str, secret: str | None) -> str | None:
    """Why a user-supplied secret does not suit the format, or None."""
    if secret is None:
        return None
    if format not in SIGNED_FORMATS:
        return "该格式的机器人不使用签名密钥，请不要填写"
    if not (secret.isascii() and secret.isprintable() and " " not in secret):
        return "密钥只能包含可见的 ASCII 字符"
    if format == "dingtalk" and not secret.startswith("SEC"):
        return "钉钉机器人的加签密钥以 SEC 开头"
    if format == "standard":
        try:
            size = len(standard_key(secret)) if secret.startswith("whsec_") else 0
        except InvalidSecret:
            size = 0
        if not 24 <= size <= 64:
            return "密钥须为 whsec_ 加 24 至 64 字节的 base64，或留空由系统生成"
    return None


def surviving_units(session: Session, unit_ids: tuple[int, ...]) -> tuple[list[int], list[str]]:
    """The units to filter on, a merged unit standing for the one it was merged into."""
    found, missing = [], []
    for unit_id in unit_ids:
        unit = session.get(Unit, unit_id)
        while unit is not None and unit.merged_into_id is not None:
            unit = session.get(Unit, unit.merged_into_id)
        if unit is None:
            missing.append(f"单位 {unit_id} 不存在")
        elif unit.id not in found:
            found.append(int(unit.id))
    return found, missing


def missing_documents(session: Session, document_ids: tuple[int, ...]) -> list[str]:
    known = set(session.exec(select(Document.id).where(col(Document.id).in_(document_ids))).all())
    return [f"文件 {d} 不存在" for d in document_ids if d not in known]


def checked_filters(
    session: Session, settings: Mapping[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    """`settings` with units resolved and lists de-duplicated; raises with every field's errors."""
    checked = dict(settings)
    if "units" in settings:
        checked["units"], unit_errors = surviving_units(session, tuple(settings["units"]))
        errors = {**errors, **({"units": unit_errors} if unit_errors else {})}
    if "documents" in settings:
        document_errors = missing_documents(session, tuple(settings["documents"]))
        errors = {**errors, **({"documents": document_errors} if document_errors else {})}
        checked["documents"] = list(dict.fromkeys(settings["documents"]))
    if "event_types" in settings:
        checked["event_types"] = list(dict.fromkeys(settings["event_types"]))
    if errors:
        raise InvalidInput("订阅设置有误", errors)
    return checked


def load_subscription(
    session: Session, subscription_id: int, *, lock: bool = False
) -> Subscription:
    """A subscription, optionally locked against the worker's and other admins' changes.

    The lock is FOR NO KEY UPDATE: transactions adding deliveries need only a key-share
    lock on the row, so a change of settings never holds up an item's transition.
    """
    query = select(Subscription).where(Subscription.id == subscription_id)
    subscription = session.exec(query.with_for_update(key_share=True) if lock else query).first()
    if subscription is None:
        raise NotFound(f"订阅 {subscription_id} 不存在")
    return subscription


def delivery_counts(session: Session, subscription_ids: list[int]) -> dict[tuple[int, str], int]:
    rows = session.exec(
        select(Delivery.subscription_id, Delivery.status, func.count(col(Delivery.id)))
        .where(col(Delivery.subscription_id).in_(subscription_ids))
        .where(col(Delivery.status).in_(("pending", "failed")))
        .group_by(col(Delivery.subscription_id), col(Delivery.status))
    ).all()
    return {(sub_id, status): count for sub_id, status, count in rows}


def subscription_view(
    subscription: Subscription, counts: Mapping[tuple[int, str], int]
) -> dict[str, Any]:
    """A subscription as the API shows it: never a secret, only whether it has one."""
    sub_id = int(subscription.id)
    return {
        **subscription.model_dump(exclude={"secrets", "lease_owner", "lease_until"}),
        "has_secret": bool(subscription.secrets),
        "old_secrets_expire_at": [
            datetime.fromisoformat(s["expires_at"])
            for s in subscription.secrets
            if s.get("expires_at")
        ],
        "pending_deliveries": counts.get((sub_id, "pending"), 0),
        "failed_deliveries": counts.get((sub_id, "failed"), 0),
    }


def view_of(session: Session, subscription: Subscription) -> dict[str, Any]:
    session.flush()
    return subscription_view(subscription, delivery_counts(session, [int(subscription.id)]))


def shown_url(url: str, format: str) -> str:
    """The URL for the audit log, without the robot's access token.

    DingTalk and WeCom carry it in the query string, Feishu and Slack in the path.
    """
    parts = urlsplit(url)
    if format in TOKEN_IN_PATH and parts.path not in ("", "/"):
        parts = parts._replace(path="/…")
    return parts._replace(query="…" if parts.query else "").geturl()


def audit(
    session: Session,
    actor: Actor,
    subscription: Subscription,
    action: str,
    now: datetime,
    **details: Any,
) -> None:
    shown = shown_url(subscription.url, subscription.format)
    details = {"url": shown, "format": subscription.format, **details}
    record_audit(session, actor, "subscription", subscription.id, action, now=now, details=details)


def create_subscription(
    database: Database,
    request: SubscriptionRequest,
    *,
    actor: Actor,
    now: datetime,
    networks: tuple[IPNetwork, ...],
    resolve: Resolver = socket.getaddrinfo,
) -> dict[str, Any]:
    """A new active subscription, with its secret shown this once."""
    errors = url_problems(request.url, networks, resolve)
    problem = secret_problem(request.format, request.secret)
    if problem:
        errors["secret"] = [problem]
    with database.transaction() as session:
        settings = checked_filters(session, {k: getattr(request, k) for k in SETTINGS}, errors)
        secret = request.secret
        if secret is None and request.format == "standard":
            secret = new_standard_secret(os.urandom(STANDARD_SECRET_BYTES))
        subscription = Subscription(
            **settings,
            format=request.format,
            secrets=[{"secret": secret, "expires_at": None}] if secret else [],
            created_by=actor.label,
            created_at=now,
            updated_at=now,
        )
        session.add(subscription)
        session.flush()
        audit(session, actor, subscription, "create", now, has_secret=bool(secret))
        return {**view_of(session, subscription), "secret": secret}


def list_subscriptions(database: Database) -> list[dict[str, Any]]:
    with database.reading() as session:
        rows = session.exec(select(Subscription).order_by(col(Subscription.id))).all()
        counts = delivery_counts(session, [int(s.id) for s in rows])
        return [subscription_view(s, counts) for s in rows]


def subscription_detail(database: Database, subscription_id: int) -> dict[str, Any]:
    with database.reading() as session:
        return view_of(session, load_subscription(session, subscription_id))


def update_subscription(
    database: Database,
    subscription_id: int,
    changes: Mapping[str, Any],
    *,
    actor: Actor,
    now: datetime,
    networks: tuple[IPNetwork, ...],
    resolve: Resolver = socket.getaddrinfo,
) -> dict[str, Any]:
    """Change settings; `active: true` re-enables a disabled endpoint with a clean slate."""
    errors = url_problems(changes["url"], networks, resolve) if "url" in changes else {}
    with database.transaction() as session:
        subscription = load_subscription(session, subscription_id, lock=True)
        settings = checked_filters(
            session, {k: changes[k] for k in SETTINGS if k in changes}, errors
        )
        changed = {k: v for k, v in settings.items() if getattr(subscription, k) != v}
        for name, value in changed.items():
            setattr(subscription, name, value)
        if "active" in changes and changes["active"] != subscription.active:
            set_active(subscription, changes["active"], now)
            changed["active"] = changes["active"]
        if changed:
            subscription.updated_at = now
            session.add(subscription)
            shown = {
                k: shown_url(v, subscription.format) if k == "url" else v
                for k, v in changed.items()
            }
            audit(session, actor, subscription, "update", now, changes=shown)
        return view_of(session, subscription)


def set_active(subscription: Subscription, active: bool, now: datetime) -> None:
    subscription.active = active
    subscription.failing_since = None
    subscription.disabled_at = None if active else now
    subscription.disabled_reason = None if active else "手动停用"


def delete_subscription(
    database: Database, subscription_id: int, *, actor: Actor, now: datetime
) -> None:
    """Delete a subscription with its deliveries and attempt log; its events stay in the feed."""
    with database.transaction() as session:
        subscription = load_subscription(session, subscription_id, lock=True)
        session.exec(delete(Delivery).where(col(Delivery.subscription_id) == subscription.id))
        session.exec(
            delete(DeliveryAttempt).where(col(DeliveryAttempt.subscription_id) == subscription.id)
        )
        audit(session, actor, subscription, "delete", now)
        session.delete(subscription)
        try:
            session.flush()
        except IntegrityError:
            # A transaction that read the subscription list just before added a delivery.
            raise Conflict("删除时恰有新的推送写入，请重试") from None


def live_secrets(secrets: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The secrets still valid at `now`, newest first (expired ones are dropped)."""
    return [
        s
        for s in secrets
        if s.get("expires_at") is None or datetime.fromisoformat(s["expires_at"]) > now
    ]


def signing_secrets(subscription: Subscription, now: datetime) -> list[str]:
    """Every secret a message should be signed with now; the newest first."""
    return [s["secret"] for s in live_secrets(subscription.secrets, now)]


def rotate_secret(
    database: Database,
    subscription_id: int,
    *,
    grace: timedelta,
    secret: str | None,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """A new signing secret, shown once; the old ones stay valid for `grace` at most."""
    with database.transaction() as session:
        subscription = load_subscription(session, subscription_id, lock=True)
        if subscription.format not in SIGNED_FORMATS:
            raise Conflict("企业微信和 Slack 机器人不使用签名密钥")
        problem = secret_problem(subscription.format, secret)
        if secret is None and subscription.format != "standard":
            problem = "请填写机器人设置中新的加签密钥"
        if problem:
            raise InvalidInput("密钥有误", {"secret": [problem]})
        new = secret or new_standard_secret(os.urandom(STANDARD_SECRET_BYTES))
        until = now + grace
        kept = [
            {**s, "expires_at": min_expiry(s.get("expires_at"), until)}
            for s in live_secrets(subscription.secrets, now)
        ]
        subscription.secrets = [{"secret": new, "expires_at": None}, *live_secrets(kept, now)]
        subscription.updated_at = now
        session.add(subscription)
        audit(
            session,
            actor,
            subscription,
            "rotate_secret",
            now,
            grace_hours=grace / timedelta(hours=1),
        )
        return {**view_of(session, subscription), "secret": new}


def min_expiry(current: str | None, until: datetime) -> str:
    if current is not None and datetime.fromisoformat(current) < until:
        return current
    return until.isoformat()
