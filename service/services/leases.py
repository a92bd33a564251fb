"""Named leases with expiry: how exactly one clock runs per database.

A lease row names its holder and when the claim lapses. The holder renews it well
before then; a holder that dies (even by SIGKILL) simply stops renewing, and another
process takes over once the lease has expired. Works the same on SQLite (writes are
serial) and PostgreSQL (the row is locked FOR UPDATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from service.db import Database
from service.models import Lease


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a lease and until when."""

    owner: str
    expires_at: datetime


def acquire(
    database: Database, name: str, owner: str, now: datetime, ttl: timedelta
) -> LeaseHolder | None:
    """Take or renew the lease for `ttl`; None on success, else the other holder.

    Renewing is acquiring again: it succeeds while `owner` holds the lease or once the
    previous holder's claim has expired.
    """
    try:
        with database.transaction() as session:
            lease = session.execute(
                select(Lease).where(Lease.name == name).with_for_update()
            ).scalar_one_or_none()
            if lease is None:
                session.add(Lease(name=name, owner=owner, acquired_at=now, expires_at=now + ttl))
                return None
            if lease.owner != owner and lease.expires_at > now:
                return LeaseHolder(lease.owner, lease.expires_at)
            if lease.owner != owner:
                lease.owner, lease.acquired_at = owner, now
            lease.expires_at = now + ttl
            return None
    except IntegrityError:
        # Another process inserted the row between our read and our insert.
        return holder(database, name) or LeaseHolder("?", now + ttl)


def holder(database: Database, name: str) -> LeaseHolder | None:
    """The current holder of a lease, expired or not; None when never taken or released."""
    with database.reading() as session:
        lease = session.get(Lease, name)
        return None if lease is None else LeaseHolder(lease.owner, lease.expires_at)


def release(database: Database, name: str, owner: str) -> None:
    """Give the lease up at once, so a successor need not wait for it to expire."""
    with database.transaction() as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.owner == owner))
