"""Bearer-token authentication and role checks for the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from service.errors import Forbidden, Unauthenticated
from service.extensions import services
from service.services.audit import Actor
from service.services.tokens import authenticate

F = TypeVar("F", bound=Callable[..., Any])


def current_actor() -> Actor:
    """The actor of this request; views behind `requires` always have one."""
    return g.actor


def requires(*roles: str) -> Callable[[F], F]:
    """Let the request through only with a valid token of one of `roles` (any role if none)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            actor = actor_from_header(request.headers.get("Authorization", ""))
            if roles and actor.role not in roles:
                raise Forbidden(f"此操作需要以下角色之一：{'、'.join(roles)}")
            g.actor = actor
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def actor_from_header(header: str) -> Actor:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("需要 Authorization: Bearer <令牌>")
    context = services()
    now = context.clock.now()
    client = request.remote_addr or "-"
    context.bad_tokens.check(client, now)
    with context.database.reading() as session:
        actor = authenticate(session, token.strip(), now)
    if actor is None:
        context.bad_tokens.record(client, now)
        raise Unauthenticated("令牌无效、已吊销或已过期")
    return actor
