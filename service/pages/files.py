"""文件: the imported documents, and importing one in two steps — preview, then confirm.

Nothing is stored between the steps: the preview page carries the uploaded file back in
a hidden field, signed with the app's secret key, so that what is confirmed is exactly
the file that was previewed, with the same options.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from itsdangerous import BadData, URLSafeSerializer
from marshmallow import fields, validate
from werkzeug.exceptions import RequestEntityTooLarge

from service.api import InputSchema
from service.api.documents import ImportOptionsSchema, option_args
from service.errors import Explanation, ServiceError
from service.extensions import services
from service.pages.forms import FormInvalid, FormState, load, shows_errors_on
from service.pages.signin import page_actor, signed_in
from service.services import documents as document_service
from service.services.documents import ImportReport, ImportRequest

bp = Blueprint("files", __name__)

UPLOAD_SALT = "document-upload"
ACCEPTED = ".txt,.docx,.pdf"
OPTION_FIELDS = ("title", "default_deadline", "replace")
# The confirm form carries the file base64-encoded in a compressed, signed token: about
# 4/3 of its size for a file that does not compress. Allow twice, plus the form around it.
SEALED_GROWTH = 2
SEALED_OVERHEAD = 1024 * 1024
OUTCOME_NAMES = {
    "created": "已导入",
    "unchanged": "与上次导入的内容相同，未作改动",
    "revised": "已修订",
}
CHANGE_NAMES = {
    "measures_added": "新增措施",
    "measures_updated": "修改措施",
    "measures_withdrawn": "删除措施",
    "items_added": "新增事项",
    "items_updated": "调整事项",
    "items_withdrawn": "撤回事项",
}
RECURRENCE_NAMES = {
    "yearly": "每年",
    "half-yearly": "每半年",
    "quarterly": "每季度",
    "monthly": "每月",
}
DEADLINE_SOURCES = {
    "measure text": "文中写明",
    "document period": "按文件年度",
    "default": "默认时限",
}
# A flash message lives in the session cookie: long lists are cut short there.
FLASHED_UNITS = 15


class TamperedUpload(ServiceError):
    title = "导入内容校验失败"


class ConfirmSchema(InputSchema):
    payload = fields.String(required=True, validate=validate.Length(min=1))


def max_upload_bytes() -> int:
    return services().config.max_upload_bytes


def size_limit() -> str:
    return f"{max_upload_bytes() / 2**20:g} MB"


@bp.url_value_preprocessor
def allow_sealed_upload(endpoint: str | None, _values: Mapping[str, Any] | None) -> None:
    """Let the confirm form carry a file of the largest size allowed.

    Runs before the CSRF check, which is what first reads the form.
    """
    if endpoint == "pages.files.confirm":
        request.max_content_length = SEALED_GROWTH * max_upload_bytes() + SEALED_OVERHEAD


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    """An upload past the request limit is refused before it is read: a page, not JSON."""
    detail = f"上传的文件超过 {size_limit()} 的上限，请压缩或拆分后重新上传。"
    return render_template("error.html", error=Explanation(413, "文件过大", detail)), 413


@bp.route("/files")
@signed_in("supervisor", "admin")
def index() -> str:
    return render_files(FormState())


def render_files(form: FormState) -> str:
    return render_template(
        "files.html",
        documents=document_service.list_documents(services().database),
        form=form,
        accepted=ACCEPTED,
        size_limit=size_limit(),
    )


@bp.route("/files/preview", methods=["POST"])
@signed_in("supervisor", "admin")
@shows_errors_on(render_files)
def preview() -> str:
    upload = uploaded_file({k: v for k, v in request.form.items() if k in OPTION_FIELDS})
    result = document_service.preview_import(
        services().database, upload, max_bytes=max_upload_bytes()
    )
    return render_template(
        "preview.html",
        preview=result,
        upload=upload,
        payload=seal(upload),
        recurrence_names=RECURRENCE_NAMES,
        deadline_sources=DEADLINE_SOURCES,
    )


def uploaded_file(values: Mapping[str, str]) -> ImportRequest:
    """The upload and its options; every field's error is reported at once."""
    errors: dict[str, list[str]] = {}
    try:
        options = load(ImportOptionsSchema(), {k: v for k, v in values.items() if v.strip()})
    except FormInvalid as invalid:
        options, errors = {}, invalid.errors
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = ["请选择要上传的文件"]
    if errors or upload is None:
        raise FormInvalid(errors)
    return ImportRequest(upload.read(), upload.filename or "upload", **option_args(options))


@bp.route("/files/confirm", methods=["POST"])
@signed_in("supervisor", "admin")
@shows_errors_on(render_files)
def confirm() -> Response:
    form = load(ConfirmSchema(), {"payload": request.form.get("payload", "")})
    context = services()
    now = context.clock.now()
    report = document_service.import_document(
        context.database,
        unseal(form["payload"]),
        actor=page_actor(),
        now=now,
        today=context.config.local_date(now),
        max_bytes=max_upload_bytes(),
    )
    flash_report(report)
    return redirect(url_for("pages.files.index"))  # type: ignore[return-value]


def flash_report(report: ImportReport) -> None:
    counts = (
        f"措施 {report.measures} 项，事项 {report.items} 项，"
        f"未分配单位的措施 {report.unassigned} 项"
    )
    changes = "；".join(f"{CHANGE_NAMES.get(k, k)} {n}" for k, n in report.changes.items() if n)
    revision = f"（第 {report.revision} 版）" if report.outcome == "revised" else ""
    summary = f"《{report.title}》{OUTCOME_NAMES[report.outcome]}{revision}：{counts}"
    flash(summary + (f"；{changes}" if changes else ""), "success")
    if report.new_units:
        names = "、".join(report.new_units[:FLASHED_UNITS])
        more = f" 等 {len(report.new_units)} 个" if len(report.new_units) > FLASHED_UNITS else ""
        flash(f"新增单位待确认：{names}{more}。请在“单位”页确认或合并。", "warning")


def upload_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(services().config.secret_key, salt=UPLOAD_SALT)


def seal(upload: ImportRequest) -> str:
    """The upload as one signed, URL-safe string for the confirm form."""
    deadline = upload.default_deadline
    return upload_serializer().dumps(
        {
            "filename": upload.filename,
            "data": base64.b64encode(upload.data).decode("ascii"),
            "title": upload.title,
            "default_deadline": deadline.isoformat() if deadline else None,
            "replace_id": upload.replace_id,
        }
    )


def unseal(payload: str) -> ImportRequest:
    """The upload `seal` made; anything it did not sign is refused."""
    try:
        sealed = upload_serializer().loads(payload)
    except BadData:
        detail = "内容可能已被修改，请重新选择文件并预览后再确认"
        raise TamperedUpload(detail, {"file": [detail]}) from None
    deadline = sealed["default_deadline"]
    return ImportRequest(
        base64.b64decode(sealed["data"]),
        sealed["filename"],
        title=sealed["title"],
        default_deadline=date.fromisoformat(deadline) if deadline else None,
        replace_id=sealed["replace_id"],
    )
