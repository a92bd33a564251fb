"""Objects the app shares with its views: the API registry and the per-app services."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_smorest import Api

from service.clock import Clock
from service.config import Config
from service.db import Database
from service.throttle import BadTokenThrottle

api = Api()


@dataclass
class Services:
    """What a request handler needs from the app: settings, database and clock."""

    config: Config
    database: Database
    clock: Clock
    bad_tokens: BadTokenThrottle = field(default_factory=BadTokenThrottle)


def services() -> Services:
    """The current app's services (views call this; the core never does)."""
    return current_app.extensions["services"]
