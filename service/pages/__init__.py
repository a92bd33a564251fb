"""Server-rendered pages for agency staff and supervisors (Jinja templates, plain forms).

Pages sign in with an API token once and keep a session cookie (HttpOnly, SameSite=Lax);
every form carries a CSRF token. They call the same service functions as the API, so the
same access rules apply.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from service.errors import Explanation, explain
from service.extensions import services
from service.pages import directory, files, overview, signin, subscriptions, tasks
from service.pages.labels import TEMPLATE_HELPERS

csrf = CSRFProtect()
CSRF_FAILED = "页面已过期或来源无效：请返回、刷新页面后再提交。"
SESSION_HOURS = 12

# Pages render their own CSS and inline SVG only; nothing may be framed or fetched elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def register_pages(app: Flask) -> None:
    """Mount every page under one parent blueprint that owns CSRF, headers and errors."""
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # the JSON API uses bearer tokens, not cookies
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session: forms may stay open
        SESSION_COOKIE_NAME="duban_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=served_over_https(app),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    csrf.init_app(app)
    pages = Blueprint("pages", __name__)
    for module in (signin, tasks, overview, files, directory, subscriptions):
        pages.register_blueprint(module.bp)
    pages.before_request(protect_forms)
    pages.after_request(add_security_headers)
    pages.register_error_handler(Exception, render_error)
    pages.app_context_processor(template_context)
    app.register_blueprint(pages)


def template_context() -> dict[str, Any]:
    return {
        **TEMPLATE_HELPERS,
        "current_user": signin.current_actor_or_none,
        "local_time": local_time,
    }


def local_time(moment: datetime) -> str:
    """A stored moment as the office's wall-clock time."""
    return moment.astimezone(services().config.tz).strftime("%Y-%m-%d %H:%M")


def served_over_https(app: Flask) -> bool:
    return app.extensions["services"].config.base_url.startswith("https://")


def protect_forms() -> None:
    if request.method == "POST":
        csrf.protect()


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render_error(error: Exception) -> Response | tuple[str, int]:
    """Errors on pages are pages too, in Chinese, with the same status the API would give."""
    if isinstance(error, CSRFError):
        explanation = Explanation(400, "表单已失效", CSRF_FAILED)
    else:
        explanation = explain(error)
    if explanation.status == 401:
        return signin.to_signin()
    if explanation.status == 503:
        g.actor = None  # the header would ask the database who is signed in
    return render_template("error.html", error=explanation), explanation.status


__all__ = ["register_pages"]
