"""Service configuration, read from environment variables with documented defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

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
        return replace(
            self,
            database_url=database_url,
            log_level=self.log_level.upper(),
            secret_key=self.secret_key or secrets.token_urlsafe(32),
            base_url=self.base_url.rstrip("/"),
        )


ENVIRONMENT = {
    "DATABASE_URL": "database_url",
    "TIMEZONE": "timezone",
    "SECRET_KEY": "secret_key",
    "LOG_LEVEL": "log_level",
    "LOG_FORMAT": "log_format",
    "BASE_URL": "base_url",
    "MAX_UPLOAD_BYTES": "max_upload_bytes",
}


def config_from_env(environ: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from environment variables (see README: Configuration)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for variable, name in ENVIRONMENT.items():
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        if name == "max_upload_bytes":
            if not raw.isdigit():
                raise ConfigError(f"{variable} must be a whole number of bytes: {raw!r}")
            values[name] = int(raw)
        else:
            values[name] = raw
    return replace(Config(), **values).validated()


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
