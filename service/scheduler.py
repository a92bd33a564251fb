"""The clock: APScheduler runs the periodic jobs, while exactly one clock holds the lease.

The jobs are declared once, in `JOBS`. What is due and what was already sent lives
in our own tables (the reminder ledger, `Item.next_reminder_at`), so the scheduler
keeps no state of its own: a clock that was down catches up on its first sweep, and
a restart loses nothing. The lease makes a second clock on the same database refuse
to start (or stand by with `standby=True`), so scaling web and worker processes never
duplicates a reminder. Web processes never build one of these.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from service.clock import Clock
from service.config import Config
from service.db import DATABASE_ERRORS, Database
from service.services import leases
from service.services.reminders import sweep

log = logging.getLogger(__name__)

LEASE_NAME = "clock"
LEASE_TTL = timedelta(seconds=60)
# A run that starts this late is still worth doing; later ones are coalesced into one.
MISFIRE_GRACE_S = 10 * 60


@dataclass(frozen=True)
class Job:
    """One periodic job: its id, when it runs, what it does, and whether it runs at start."""

    id: str
    trigger: Callable[[Config], BaseTrigger]
    run: Callable[[Config, Database, datetime], object]
    run_at_start: bool = False


def sweep_reminders(config: Config, database: Database, now: datetime) -> object:
    report = sweep(database, config, now)
    log.info("reminder sweep", extra={"report": str(report)})
    return report


JOBS: tuple[Job, ...] = (
    # Runs at start too, so a clock that was down catches up at once.
    Job(
        "reminder-sweep",
        lambda config: IntervalTrigger(minutes=config.sweep_minutes),
        sweep_reminders,
        run_at_start=True,
    ),
)


class ClockBusy(RuntimeError):
    """Another clock holds the lease on this database."""


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ClockProcess:
    """The scheduler plus its lease; `start` refuses when another clock is running."""

    def __init__(
        self,
        config: Config,
        database: Database,
        clock: Clock,
        *,
        jobs: tuple[Job, ...] = JOBS,
        standby: bool = False,
        owner: str | None = None,
        lease_ttl: timedelta = LEASE_TTL,
    ) -> None:
        self.config = config
        self.database = database
        self.clock = clock
        self.jobs = jobs
        self.standby = standby
        self.owner = owner or default_owner()
        self.lease_ttl = lease_ttl
        self.holding = False
        self.scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        """Take the lease (or stand by) and start the scheduler's thread."""
        other = leases.acquire(
            self.database, LEASE_NAME, self.owner, self.clock.now(), self.lease_ttl
        )
        if other is not None and not self.standby:
            raise ClockBusy(
                f"another clock ({other.owner}) is running on this database; "
                f"its lease lasts until {other.expires_at:%Y-%m-%d %H:%M:%S} UTC "
                "(use --wait to stand by and take over when it stops)"
            )
        self.holding = other is None
        log.info("clock started", extra={"owner": self.owner, "holding": self.holding})
        self.scheduler = BackgroundScheduler(
            timezone=self.config.tz,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
        )
        self.scheduler.add_job(
            self.renew_lease,
            IntervalTrigger(seconds=self.lease_ttl.total_seconds() / 3),
            id="clock-lease",
            replace_existing=True,
        )
        for job in self.jobs:
            # APScheduler times runs by the wall clock, whatever clock the jobs are given.
            extra = {"next_run_time": datetime.now(UTC)} if job.run_at_start else {}
            self.scheduler.add_job(
                self.run_job,
                job.trigger(self.config),
                args=(job,),
                id=job.id,
                name=job.id,
                replace_existing=True,
                **extra,
            )
        self.scheduler.start()

    def renew_lease(self) -> None:
        """Keep the lease, or take it over once its holder has stopped renewing."""
        try:
            other = leases.acquire(
                self.database, LEASE_NAME, self.owner, self.clock.now(), self.lease_ttl
            )
        except Exception as error:
            # Without the database we cannot prove we still hold the lease.
            if isinstance(error, DATABASE_ERRORS):
                log.warning("clock lease not renewed: database unavailable")
            else:
                log.exception("clock lease renewal failed")
            other = leases.LeaseHolder("?", self.clock.now())
        if (other is None) != self.holding:
            log.warning("clock lease", extra={"holding": other is None, "owner": self.owner})
        self.holding = other is None

    def run_job(self, job: Job) -> None:
        """Run one job if this clock holds the lease; a failure is logged, never fatal."""
        if not self.holding:
            return
        try:
            job.run(self.config, self.database, self.clock.now())
        except DATABASE_ERRORS as error:
            log.warning("clock job skipped: database unavailable (%s)", type(error).__name__)
        except Exception:
            log.exception("clock job failed", extra={"job": job.id})

    def stop(self) -> None:
        """Stop the scheduler (waiting for a running job) and give the lease up."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self.holding:
            try:
                leases.release(self.database, LEASE_NAME, self.owner)
            except Exception:
                log.exception("clock lease release failed")
            self.holding = False
        log.info("clock stopped", extra={"owner": self.owner})
