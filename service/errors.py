"""Errors as RFC 9457 problem documents: one table maps each error to its HTTP status."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from checklists.reading import DocumentError
from checklists.workdays import CalendarNotCovered
from checklists.workflow import Forbidden as WorkflowForbidden
from checklists.workflow import InvalidPayload, NotAllowed
from service.db import DatabaseUnavailable
from service.logs import request_id

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ServiceError(Exception):
    """An error a client can act on; its class decides the HTTP status."""

    title = "请求无法处理"

    def __init__(self, detail: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class InvalidInput(ServiceError):
    title = "输入有误"


class NotFound(ServiceError):
    title = "未找到"


class Conflict(ServiceError):
    title = "与当前状态冲突"


class PreconditionFailed(ServiceError):
    title = "数据已被他人修改"


class PreconditionRequired(ServiceError):
    title = "缺少 If-Match"


class TooManyAttempts(ServiceError):
    title = "请求过于频繁"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unauthenticated(ServiceError):
    title = "未认证"


class Forbidden(ServiceError):
    title = "无权操作"


# One table: error class → HTTP status. Subclasses inherit their parent's row.
STATUS_BY_ERROR: dict[type[Exception], int] = {
    ServiceError: 400,
    InvalidInput: 422,
    DocumentError: 422,
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    TooManyAttempts: 429,
    Conflict: 409,
    PreconditionFailed: 412,
    PreconditionRequired: 428,
    WorkflowForbidden: 403,
    NotAllowed: 409,
    InvalidPayload: 422,
    CalendarNotCovered: 503,
    DatabaseUnavailable: 503,
    OperationalError: 503,
}


@dataclass(frozen=True)
class Explanation:
    """What went wrong, as both the API (problem+json) and the pages show it."""

    status: int
    title: str
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def field_errors(self) -> dict[str, Any]:
        return string_keys(self.extra.get("errors") or {})


# Werkzeug's own errors (routing, body size, parsing), in the language of the users.
HTTP_TEXTS: dict[int, tuple[str, str]] = {
    400: ("请求有误", "请求无法解析，请检查后重试"),
    404: ("未找到", "没有这个地址"),
    405: ("不支持的请求方法", "此地址不接受这种请求方法"),
    413: ("请求体过大", "上传的内容超过了允许的大小"),
    415: ("不支持的内容类型", "请求体的格式不受支持"),
    422: ("输入有误", "请求中的字段有误，详见 errors"),
}


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    """A problem+json response; `extra` adds members such as `errors`."""
    return problem_response(Explanation(status, title, detail, extra))


def problem_response(explanation: Explanation) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": explanation.title,
        "status": explanation.status,
    }
    if explanation.detail:
        body["detail"] = explanation.detail
    body.update({k: v for k, v in explanation.extra.items() if v not in (None, {}, [])})
    if "errors" in body:
        body["errors"] = string_keys(body["errors"])
    body["request_id"] = request_id.get()
    response = Response(json.dumps(body, ensure_ascii=False), status=explanation.status)
    response.content_type = PROBLEM_JSON
    return response


def string_keys(value: Any) -> Any:
    """Field names as strings: marshmallow reports a nameless form field under None."""
    if isinstance(value, dict):
        return {("" if k is None else str(k)): string_keys(v) for k, v in value.items()}
    return value


def status_for(error: Exception) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def explain(error: Exception) -> Explanation:
    """The status, title, detail and field errors of any error a request can end with."""
    if isinstance(error, HTTPException):
        code = error.code or 500
        title, detail = HTTP_TEXTS.get(code, (error.name, error.description))
        return Explanation(code, title, detail, {"errors": validation_messages(error)})
    status = status_for(error)
    if isinstance(error, ServiceError):
        return Explanation(status, error.title, error.detail, {"errors": error.errors})
    if isinstance(error, DocumentError):
        return Explanation(status, "文件无法读取", str(error), {"errors": {"file": [str(error)]}})
    if isinstance(error, NotAllowed):
        return Explanation(
            status,
            "当前状态下不能执行此操作",
            error.reason,
            {
                "action": error.action,
                "status_now": error.status.value,
                "allowed_actions": error.allowed,
            },
        )
    if isinstance(error, InvalidPayload):
        return Explanation(status, "输入有误", str(error), {"errors": error.errors})
    if isinstance(error, WorkflowForbidden):
        return Explanation(status, "无权操作", str(error))
    if isinstance(error, CalendarNotCovered):
        log.error("holiday calendar not covered: %s", error)
        return Explanation(status, "节假日日历需要更新", f"工作日日历尚未覆盖所需年份：{error}")
    if status == 503:
        log.warning("database unavailable: %s", error.__class__.__name__)
        return Explanation(status, "服务暂时不可用", "数据库暂时无法访问，请稍后重试")
    log.exception("unhandled error on %s %s", request.method, request.path)
    return Explanation(500, "服务器内部错误", "请求处理失败，已记录日志")


def handle_error(error: Exception) -> Response:
    response = problem_response(explain(error))
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def validation_messages(error: HTTPException) -> dict[str, Any]:
    """Field errors from webargs/marshmallow, keyed by field (location level dropped)."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or {}
    errors: dict[str, Any] = {}
    for location_errors in messages.values():
        if isinstance(location_errors, dict):
            errors.update(location_errors)
    return errors


def register_error_handlers(app: Flask) -> None:
    # HTTPException too: flask-smorest registers its own JSON handler for it.
    for error_class in (HTTPException, Exception):
        app.register_error_handler(error_class, handle_error)
