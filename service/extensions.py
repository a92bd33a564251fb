"""Objects the app shares with its views: the API registry and the per-app services."""

from __future__ import annotations

import http
from dataclasses import dataclass, field

from flask import current_app
from flask_smorest import Api
from flask_smorest.spec import prepare_response
from marshmallow import Schema, fields

from service.clock import Clock
from service.config import Config
from service.db import Database
from service.errors import PROBLEM_JSON
from service.throttle import BadTokenThrottle


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error response is."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "field → messages"})
    request_id = fields.String()


class ProblemApi(Api):
    """flask-smorest's Api with its error responses documented as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, object] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Problem details (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


api = ProblemApi()


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
