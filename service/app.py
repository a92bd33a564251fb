"""The Flask application factory."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from flask_swagger_ui import get_swaggerui_blueprint

from service.api import IdConverter, id_schema
from service.clock import Clock, SystemClock
from service.config import Config, config_from_env
from service.db import Database
from service.errors import register_error_handlers
from service.extensions import Services, api
from service.logs import configure_logging, request_id
from service.pages import register_pages
from service.sessions import SharedKeySessionInterface

log = logging.getLogger("service.access")


def create_app(
    config: Config | Mapping[str, Any] | None = None,
    *,
    database: Database | None = None,
    clock: Clock | None = None,
) -> Flask:
    """Build the app: settings from `config` (else the environment), one database, one clock."""
    settings = resolve_config(config)
    configure_logging(settings.log_level, settings.log_format)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or None,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        API_TITLE="督办清单服务 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_AS_ASCII=False,
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}],
        },
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["services"] = Services(
        config=settings,
        database=database or Database(settings.database_url),
        clock=clock or SystemClock(),
    )
    app.session_interface = SharedKeySessionInterface()
    app.url_map.converters["id"] = IdConverter
    api.init_app(app)
    api.register_converter(IdConverter, id_schema)
    register_blueprints(app)
    register_pages(app)
    register_error_handlers(app)
    register_request_id(app)
    return app


def resolve_config(config: Config | Mapping[str, Any] | None) -> Config:
    if isinstance(config, Config):
        return config.validated()
    base = config_from_env()
    return base.with_overrides(config) if config else base


def register_blueprints(app: Flask) -> None:
    from service.api import (
        admin,
        documents,
        events,
        health,
        items,
        reminders,
        reports,
        subscriptions,
        units,
    )

    app.register_blueprint(health.blp)
    # Swagger UI from the package's own files: intranets have no CDN.
    app.register_blueprint(get_swaggerui_blueprint("/docs", "/openapi.json"))
    for module in (documents, units, items, admin, subscriptions, events, reminders, reports):
        api.register_blueprint(module.blp)


def register_request_id(app: Flask) -> None:
    """Tag each request (and its log lines) with an id, taken from X-Request-ID when sane."""

    @app.before_request
    def start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if incoming.isascii() and 0 < len(incoming) <= 64 else uuid.uuid4().hex
        g.request_id_token = request_id.set(rid)
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = request_id.get()
        elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round(elapsed_ms, 1),
            },
        )
        return response

    @app.teardown_request
    def reset(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)
