"""Liveness and readiness: is the database reachable, and is its schema current?"""

from __future__ import annotations

from flask import Response, jsonify
from flask_smorest import Blueprint

from service.errors import problem
from service.extensions import services
from service.services.health import database_health

blp = Blueprint("health", __name__, description="Service health")


@blp.route("/healthz")
@blp.doc(summary="Database reachable and migrations at head")
def healthz() -> Response:
    health = database_health(services().database)
    if not health.ok:
        return problem(503, "服务未就绪", health.detail, database=health.as_dict())
    return jsonify(status="ok", database=health.as_dict())
