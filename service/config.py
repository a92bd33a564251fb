"""Service configuration, read from environment variables with documented defaults."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_DATABASE_URL = "sqlite:///var/checklists.db"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Config:
    """Everything the service reads from its environment, in one typed place."""

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Shanghai"
    secret_key: str = field(default="", repr=False)
    log_level: str = "INFO"
    log_format: str = "json"
    base_url: str = "http://127.0.0.1:8000"
    max_upload_bytes: int = 20 * 1024 * 1024
    testing: bool = False
    # Event stream: a comment line every N idle seconds keeps connections (and proxies) open.
    sse_heartbeat_seconds: float = 15.0
    # Webhook delivery: internal networks an OA host may sit in, the retry delays in
    # seconds (the first is the initial send), and how long an endpoint may fail
    # without a single success before it is disabled.
    webhook_allowed_networks: str = ""
    webhook_retry_schedule: str = "0,5,300,1800,7200,18000,36000,36000"
    webhook_disable_after_days: int = 5
    worker_poll_seconds: float = 1.0
    # Reminders: local time of day they go out, working days before the deadline,
    # overdue notices every N working days, escalation after M working days overdue.
    reminder_time: str = "09:00"
    reminder_offsets: str = "10,3,1"
    overdue_every: int = 3
    escalate_after: int = 5
    sweep_minutes: int = 15

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_date(self, moment: datetime) -> date:
        """The calendar date of `moment` where the office is: deadlines are local dates."""
        return moment.astimezone(self.tz).date()

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """Return a copy with the given fields replaced (used by tests and the CLI)."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **overrides).validated()

    def validated(self) -> Config:
        """Check every setting and fill derived defaults; raise ConfigError naming the culprit."""
        database_url = normalise_database_url(self.database_url)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"TIMEZONE is not a known time zone: {self.timezone!r}") from None
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR: {self.log_level}")
        if self.log_format not in ("json", "text"):
            raise ConfigError(f"LOG_FORMAT must be json or text: {self.log_format!r}")
        if not 0 < self.sse_heartbeat_seconds <= 3600:
            raise ConfigError("SSE_HEARTBEAT_SECONDS must be more than 0 and at most 3600")
        self._check_webhook_settings()
        self._check_reminder_settings()
        return replace(
            self,
            database_url=database_url,
            log_level=self.log_level.upper(),
            base_url=self.base_url.rstrip("/"),
        )

    @property
    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        """`WEBHOOK_ALLOWED_NETWORKS` parsed: CIDRs webhook URLs may point into."""
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.webhook_allowed_networks.split(",")
            if part.strip()
        )

    @property
    def retry_schedule(self) -> tuple[timedelta, ...]:
        """`WEBHOOK_RETRY_SCHEDULE` parsed: the delay before each attempt."""
        return tuple(
            timedelta(seconds=float(part)) for part in self.webhook_retry_schedule.split(",")
        )

    @property
    def reminder_offsets_days(self) -> tuple[int, ...]:
        """`REMINDER_OFFSETS` parsed: working days before the deadline, largest first."""
        return tuple(sorted({int(p) for p in self.reminder_offsets.split(",")}, reverse=True))

    @property
    def reminder_clock_time(self) -> time:
        """`REMINDER_TIME` parsed: the local time of day reminders go out."""
        return time.fromisoformat(self.reminder_time)

    def _check_webhook_settings(self) -> None:
        try:
            _ = self.allowed_networks
        except ValueError:
            raise ConfigError(
                "WEBHOOK_ALLOWED_NETWORKS must be comma-separated CIDRs such as 10.0.0.0/8: "
                f"{self.webhook_allowed_networks!r}"
            ) from None
        try:
            schedule = self.retry_schedule
        except (ValueError, OverflowError):  # "x", "nan"; "inf" or 1e20 seconds
            schedule = ()
        if not schedule or any(delay < timedelta(0) for delay in schedule):
            raise ConfigError(
                "WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds such as 0,5,300: "
                f"{self.webhook_retry_schedule!r}"
            )
        if self.webhook_disable_after_days < 1:
            raise ConfigError("WEBHOOK_DISABLE_AFTER_DAYS must be at least 1")
        if not 0 < self.worker_poll_seconds <= 3600:  # also refuses nan and inf
            raise ConfigError("WORKER_POLL_SECONDS must be more than 0 and at most 3600")

    def _check_reminder_settings(self) -> None:
        try:
            _ = self.reminder_clock_time
        except ValueError:
            raise ConfigError(f"REMINDER_TIME must be HH:MM: {self.reminder_time!r}") from None
        try:
            offsets = self.reminder_offsets_days
        except ValueError:
            offsets = ()
        if not offsets or min(offsets) < 1:
            raise ConfigError(
                "REMINDER_OFFSETS must be working days ≥ 1 such as 10,3,1: "
                f"{self.reminder_offsets!r}"
            )
        if self.overdue_every < 1 or self.escalate_after < 1:
            raise ConfigError("OVERDUE_EVERY and ESCALATE_AFTER must be at least 1")
        if not 1 <= self.sweep_minutes <= 24 * 60:
            raise ConfigError("SWEEP_MINUTES must be between 1 and 1440")


ENVIRONMENT = {
    "DATABASE_URL": "database_url",
    "TIMEZONE": "timezone",
    "SECRET_KEY": "secret_key",
    "LOG_LEVEL": "log_level",
    "LOG_FORMAT": "log_format",
    "BASE_URL": "base_url",
    "MAX_UPLOAD_BYTES": "max_upload_bytes",
    "SSE_HEARTBEAT_SECONDS": "sse_heartbeat_seconds",
    "WEBHOOK_ALLOWED_NETWORKS": "webhook_allowed_networks",
    "WEBHOOK_RETRY_SCHEDULE": "webhook_retry_schedule",
    "WEBHOOK_DISABLE_AFTER_DAYS": "webhook_disable_after_days",
    "WORKER_POLL_SECONDS": "worker_poll_seconds",
    "REMINDER_TIME": "reminder_time",
    "REMINDER_OFFSETS": "reminder_offsets",
    "OVERDUE_EVERY": "overdue_every",
    "ESCALATE_AFTER": "escalate_after",
    "SWEEP_MINUTES": "sweep_minutes",
}
NUMBERS = {f.name: f.type for f in fields(Config) if f.type in ("int", "float")}


def config_from_env(environ: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from environment variables (see README: Configuration)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for variable, name in ENVIRONMENT.items():
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        values[name] = _number(variable, raw, NUMBERS[name]) if name in NUMBERS else raw
    return replace(Config(), **values).validated()


def _number(variable: str, raw: str, kind: str) -> int | float:
    try:
        return int(raw) if kind == "int" else float(raw)
    except ValueError:
        wanted = "a whole number" if kind == "int" else "a number"
        raise ConfigError(f"{variable} must be {wanted}: {raw!r}") from None


def normalise_database_url(raw: str) -> str:
    """Check a database URL and pick the psycopg 3 driver for PostgreSQL ones."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL is not a valid database URL: {raw!r}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"DATABASE_URL must start with sqlite:/// or postgresql://, not {url.drivername}://"
        )
    return url.render_as_string(hide_password=False)
