"""Signing in with a token, signing out, and the signed-in actor of a page request."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for

from service.errors import Forbidden
from service.extensions import services
from service.services.audit import Actor
from service.services.tokens import session_actor, sign_in

bp = Blueprint("signin", __name__)
F = TypeVar("F", bound=Callable[..., Any])

HOME_BY_ROLE = {
    "staff": "pages.tasks.index",
    "supervisor": "pages.overview.index",
    "admin": "pages.overview.index",
}


def current_actor_or_none() -> Actor | None:
    """The actor of this page request, or None if the session is missing or no longer valid."""
    if "actor" not in g:
        g.actor = load_session_actor()
    return g.actor


def load_session_actor() -> Actor | None:
    token_id, fingerprint = session.get("token_id"), session.get("fingerprint")
    if not isinstance(token_id, int) or not isinstance(fingerprint, str):
        return None
    context = services()
    actor = session_actor(context.database, token_id, fingerprint, context.clock.now())
    if actor is None:
        session.clear()
    return actor


def page_actor() -> Actor:
    """The actor of a view behind `signed_in`."""
    return g.actor


def signed_in(*roles: str) -> Callable[[F], F]:
    """Let a page through only for a signed-in user of one of `roles` (any role if none)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor_or_none()
            if actor is None:
                return to_signin()
            if roles and actor.role not in roles:
                raise Forbidden("您的身份不能访问此页面")
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def to_signin() -> Response:
    target = request.full_path if request.method == "GET" else request.path
    return redirect(url_for("pages.signin.form", next=target.rstrip("?")))  # type: ignore[return-value]


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc or "\\" in target else target


@bp.route("/")
def home() -> Response:
    actor = current_actor_or_none()
    if actor is None:
        return to_signin()
    return redirect(url_for(HOME_BY_ROLE.get(actor.role, "pages.tasks.index")))  # type: ignore[return-value]


@bp.route("/signin", methods=["GET"])
def form() -> str:
    return render_template("signin.html", next=safe_next(request.args.get("next")), error=None)


@bp.route("/signin", methods=["POST"])
def submit() -> Response | tuple[str, int]:
    context = services()
    now = context.clock.now()
    client = request.remote_addr or "-"
    context.bad_tokens.check(client, now)
    token = request.form.get("token", "").strip()
    signed = sign_in(context.database, token, now) if token else None
    target = safe_next(request.form.get("next"))
    if signed is None:
        context.bad_tokens.record(client, now)
        error = "请输入令牌" if not token else "令牌无效、已吊销或已过期"
        return render_template("signin.html", next=target, error=error), 401
    actor, fingerprint = signed
    session.clear()  # a fresh session (and CSRF token) for every sign-in
    session.permanent = True
    session.update(token_id=actor.token_id, fingerprint=fingerprint)
    home_page = url_for(HOME_BY_ROLE.get(actor.role, "pages.tasks.index"))
    return redirect(target or home_page)  # type: ignore[return-value]


@bp.route("/signout", methods=["POST"])
def signout() -> Response:
    session.clear()
    return redirect(url_for("pages.signin.form"))  # type: ignore[return-value]
