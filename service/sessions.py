"""Flask's signed-cookie sessions, keyed by a secret every process of the service shares.

Without `SECRET_KEY` each gunicorn worker would invent its own key and reject the
others' cookies; so the key is generated once and kept in the database.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import DBAPIError

from service.db import DatabaseUnavailable
from service.services.instance import shared_secret

log = logging.getLogger(__name__)


class SharedKeySessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            try:
                app.secret_key = shared_secret(app.extensions["services"].database)
            except (DBAPIError, DatabaseUnavailable) as error:
                log.warning("session key unavailable: %s", error.__class__.__name__)
                return None
        return super().get_signing_serializer(app)
