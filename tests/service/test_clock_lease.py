"""Exactly one clock per database: the lease, and the scheduler that honours it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from service.clock import FixedClock
from service.config import Config
from service.db import Database
from service.scheduler import ClockBusy, ClockProcess, Job
from service.services import leases

TTL = timedelta(seconds=60)


def test_first_taker_holds_the_lease_and_a_second_is_told_who(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    assert leases.acquire(database, "clock", "a", now, TTL) is None
    other = leases.acquire(database, "clock", "b", now + timedelta(seconds=30), TTL)
    assert other == leases.LeaseHolder("a", now + TTL)


def test_renewing_extends_and_an_expired_lease_passes_on(
    database: Database, clock: FixedClock
) -> None:
    now = clock.now()
    leases.acquire(database, "clock", "a", now, TTL)
    assert leases.acquire(database, "clock", "a", now + timedelta(seconds=50), TTL) is None
    assert leases.acquire(database, "clock", "b", now + timedelta(seconds=100), TTL) is not None
    taken_at = now + timedelta(seconds=111)
    assert leases.acquire(database, "clock", "b", taken_at, TTL) is None
    assert leases.holder(database, "clock") == leases.LeaseHolder("b", taken_at + TTL)


def test_release_lets_a_successor_in_at_once(database: Database, clock: FixedClock) -> None:
    now = clock.now()
    leases.acquire(database, "clock", "a", now, TTL)
    leases.release(database, "clock", "b")  # not the holder: no effect
    assert leases.holder(database, "clock").owner == "a"
    leases.release(database, "clock", "a")
    assert leases.acquire(database, "clock", "b", now, TTL) is None


def recording_job(calls: list[datetime], ran: threading.Event) -> Job:
    def run(config: Config, database: Database, now: datetime) -> None:
        calls.append(now)
        ran.set()

    return Job("record", lambda config: _hourly(), run, run_at_start=True)


def _hourly() -> IntervalTrigger:
    return IntervalTrigger(hours=1)


def test_two_clocks_on_one_database_one_refuses(
    fresh_database: Database, config: Config, clock: FixedClock
) -> None:
    calls: list[datetime] = []
    ran = threading.Event()
    first = ClockProcess(config, fresh_database, clock, jobs=(recording_job(calls, ran),))
    second = ClockProcess(config, fresh_database, clock, jobs=(recording_job(calls, ran),))
    first.start()
    try:
        assert ran.wait(10), "the job should run at start"
        with pytest.raises(ClockBusy, match="another clock"):
            second.start()
    finally:
        first.stop()
    assert calls == [clock.now()]
    # Stopping released the lease: the second clock may now start.
    second.start()
    second.stop()


def test_a_standby_clock_runs_nothing_until_the_lease_is_free(
    fresh_database: Database, config: Config, clock: FixedClock
) -> None:
    leases.acquire(fresh_database, "clock", "someone-else", clock.now(), TTL)
    calls: list[datetime] = []
    ran = threading.Event()
    standby = ClockProcess(
        config, fresh_database, clock, jobs=(recording_job(calls, ran),), standby=True
    )
    standby.start()
    try:
        standby.run_job(standby.jobs[0])
        assert calls == [] and not standby.holding
        clock.advance(TTL + timedelta(seconds=1))  # the other clock died without releasing
        standby.renew_lease()
        assert standby.holding
        standby.run_job(standby.jobs[0])
        assert calls == [clock.now()]
    finally:
        standby.stop()


def test_a_failing_job_is_logged_and_the_clock_keeps_going(
    fresh_database: Database, config: Config, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(config: Config, database: Database, now: datetime) -> None:
        raise RuntimeError("boom")

    process = ClockProcess(config, fresh_database, clock, jobs=())
    process.start()
    try:
        process.run_job(Job("broken", lambda config: _hourly(), broken))
        assert process.scheduler is not None and process.scheduler.running
    finally:
        process.stop()
    assert "clock job failed" in caplog.text


def test_jobs_are_declared_once_with_coalescing_and_a_grace_time(
    fresh_database: Database, config: Config, clock: FixedClock
) -> None:
    process = ClockProcess(config, fresh_database, clock)
    process.start()
    try:
        jobs = {job.id: job for job in process.scheduler.get_jobs()}
        assert set(jobs) == {"clock-lease", "reminder-sweep"}
        sweep = jobs["reminder-sweep"]
        assert sweep.coalesce and sweep.max_instances == 1 and sweep.misfire_grace_time > 0
        assert sweep.trigger.interval == timedelta(minutes=config.sweep_minutes)
    finally:
        process.stop()
