"""API tokens: created once, shown once, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from service.db import Database
from service.errors import InvalidInput, NotFound
from service.models import ApiToken
from service.services.audit import Actor, record_audit
from service.services.units import unit_by_name

ROLES = ("staff", "supervisor", "admin")
PREFIX = "dbt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    role: str,
    unit_name: str | None,
    label: str,
    expires_at: datetime | None,
    now: datetime,
) -> tuple[ApiToken, str]:
    """A new token for `role` (staff need a unit); returns the row and the only plaintext copy."""
    if role not in ROLES:
        raise InvalidInput(f"角色须为 {'、'.join(ROLES)} 之一", {"role": ["未知角色"]})
    if (role == "staff") != bool(unit_name):
        raise InvalidInput("staff 令牌必须且只有它需要指定单位", {"unit": ["staff 须指定单位"]})
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("过期时间须晚于现在", {"expires": ["已过期"]})
    unit = unit_by_name(session, unit_name) if unit_name else None
    plaintext = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        label=label or (f"{role}:{unit.name}" if unit else role),
        token_hash=hash_token(plaintext),
        role=role,
        unit_id=unit.id if unit else None,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, plaintext


def audit_token(
    session: Session, actor: Actor, token: ApiToken, action: str, now: datetime
) -> None:
    record_audit(
        session,
        actor,
        "token",
        token.id,
        action,
        now=now,
        details={"label": token.label, "role": token.role, "unit_id": token.unit_id},
    )


def authenticate(session: Session, plaintext: str, now: datetime) -> Actor | None:
    """The actor a presented token stands for, or None if unknown, revoked or expired."""
    token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext))
    ).first()
    return actor_of(token, now)


def actor_of(token: ApiToken | None, now: datetime) -> Actor | None:
    """Who a token stands for, unless it is missing, revoked or expired."""
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return Actor(label=token.label, role=token.role, unit_id=token.unit_id, token_id=token.id)


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))).all())


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"令牌 {token_id} 不存在")
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
    return token


def issue_token(
    database: Database,
    *,
    role: str,
    unit_name: str | None,
    label: str,
    expires_at: datetime | None,
    now: datetime,
) -> str:
    """Create a token and return its plaintext, the only copy there will ever be."""
    with database.transaction() as session:
        return create_token(
            session, role=role, unit_name=unit_name, label=label, expires_at=expires_at, now=now
        )[1]


def token_rows(database: Database) -> list[dict[str, Any]]:
    with database.reading() as session:
        return [t.model_dump(exclude={"token_hash"}) for t in list_tokens(session)]


def revoke(database: Database, token_id: int, *, actor: Actor, now: datetime) -> None:
    with database.transaction() as session:
        audit_token(session, actor, revoke_token(session, token_id, now), "revoke", now)


def sign_in(database: Database, plaintext: str, now: datetime) -> tuple[Actor, str] | None:
    """The actor of a valid token and the fingerprint a page session keeps instead of it."""
    with database.reading() as session:
        actor = authenticate(session, plaintext, now)
    return None if actor is None else (actor, hash_token(plaintext)[:16])


def session_actor(
    database: Database, token_id: int, fingerprint: str, now: datetime
) -> Actor | None:
    """The actor of a page session, while its token is the same, unrevoked and unexpired."""
    with database.reading() as session:
        token = session.get(ApiToken, token_id)
        if token is None or len(fingerprint) < 16 or not token.token_hash.startswith(fingerprint):
            return None
        return actor_of(token, now)
