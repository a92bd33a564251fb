"""Documents: upload (multipart or JSON text), preview the extraction, list and show."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from service.api import ID_RANGE, Blueprint, InputSchema
from service.api.schemas import MeasureBaseSchema, TargetSchema
from service.auth import current_actor, requires
from service.errors import InvalidInput
from service.extensions import services
from service.services import documents as document_service
from service.services.documents import ImportRequest

blp = Blueprint(
    "documents", __name__, url_prefix="/api/v1/documents", description="Policy documents"
)

MAX_TEXT = 5_000_000


class ImportOptionsSchema(InputSchema):
    """Options of an import, sent as form fields (with a file) or in a JSON body (with text)."""

    title = fields.String(validate=validate.Length(min=1, max=500))
    default_deadline = fields.Date(metadata={"description": "YYYY-MM-DD, for measures with none"})
    replace = fields.Integer(validate=ID_RANGE, metadata={"description": "document id to revise"})


class TextImportSchema(ImportOptionsSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    filename = fields.String(load_default="pasted.txt", validate=validate.Length(max=255))


class ImportReportSchema(Schema):
    document_id = fields.Integer()
    title = fields.String()
    outcome = fields.String(metadata={"description": "created, unchanged or revised"})
    revision = fields.Integer()
    measures = fields.Integer()
    items = fields.Integer()
    unassigned = fields.Integer()
    new_units = fields.List(fields.String())
    changes = fields.Dict(keys=fields.String(), values=fields.Integer())


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "title": {"type": "string"},
                    "default_deadline": {"type": "string", "format": "date"},
                    "replace": {"type": "integer"},
                },
            }
        },
        "application/json": {"schema": "TextImport"},
    },
}


def import_request_from(req: Any) -> ImportRequest:
    """Read an upload: multipart with a `file`, or JSON with `text`. Field errors are 422."""
    try:
        if req.mimetype == "multipart/form-data":
            upload = req.files.get("file")
            if upload is None:
                raise ValidationError({"file": ["请选择要上传的文件"]})
            options = ImportOptionsSchema().load(req.form.to_dict())
            return ImportRequest(upload.read(), upload.filename or "upload", **option_args(options))
        try:
            body = req.get_json(silent=True)
        except RecursionError:  # nested too deep to parse: not a JSON object either
            body = None
        if not isinstance(body, dict):
            raise ValidationError(
                {"body": ["请求体须为 JSON 对象（含 text），或 multipart 文件上传"]}
            )
        loaded = TextImportSchema().load(body)
        data = loaded.pop("text").encode("utf-8")
        return ImportRequest(data, loaded.pop("filename"), **option_args(loaded))
    except ValidationError as error:
        raise InvalidInput("导入参数有误", error.normalized_messages()) from None


def option_args(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": options.get("title"),
        "default_deadline": options.get("default_deadline"),
        "replace_id": options.get("replace"),
    }


@blp.route("", methods=["POST"])
@requires("supervisor", "admin")
@blp.doc(summary="Import a document (store measures, units and items)", requestBody=UPLOAD_BODY)
@blp.response(201, ImportReportSchema, description="created")
@blp.alt_response(200, schema=ImportReportSchema, description="unchanged or revised")
def import_document() -> Response:
    context = services()
    now = context.clock.now()
    report = document_service.import_document(
        context.database,
        import_request_from(request),
        actor=current_actor(),
        now=now,
        today=context.config.local_date(now),
        max_bytes=context.config.max_upload_bytes,
    )
    status = 201 if report.outcome == "created" else 200
    return Response(
        ImportReportSchema().dumps(report.as_dict(), ensure_ascii=False),
        status=status,
        mimetype="application/json",
    )


class ExtractionSchema(Schema):
    """What the extractor found: the shape `checklist extract` prints."""

    title = fields.String()
    period = fields.List(fields.Integer(), allow_none=True)
    lead_rule = fields.String(allow_none=True)
    measures = fields.List(fields.Dict())


@blp.route("/preview", methods=["POST"])
@requires("supervisor", "admin")
@blp.doc(summary="Extract measures without storing anything", requestBody=UPLOAD_BODY)
@blp.response(200, ExtractionSchema)
def preview_document() -> dict[str, Any]:
    upload = import_request_from(request)
    _text, extraction = document_service.read_and_extract(
        upload, max_bytes=services().config.max_upload_bytes
    )
    return extraction.to_dict()


class DocumentSummarySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.Integer()
    title = fields.String()
    filename = fields.String(allow_none=True)
    revision = fields.Integer()
    period_start = fields.Integer(allow_none=True)
    period_end = fields.Integer(allow_none=True)
    measures = fields.Integer()
    items = fields.Integer()
    unassigned = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


@blp.route("", methods=["GET"])
@requires()
@blp.doc(summary="List imported documents")
@blp.response(200, DocumentSummarySchema(many=True))
def list_documents() -> list[dict[str, Any]]:
    return document_service.list_documents(services().database)


class MeasureUnitSchema(Schema):
    unit_id = fields.Integer()
    name = fields.String()
    role = fields.String()
    implicit = fields.Boolean()
    group = fields.Boolean()
    item_id = fields.Integer()
    status = fields.String()
    deadline = fields.Date(allow_none=True)
    period = fields.String()


class MeasureSchema(MeasureBaseSchema):
    withdrawn = fields.Boolean()
    unassigned = fields.Boolean()
    targets = fields.List(fields.Nested(TargetSchema))
    units = fields.List(fields.Nested(MeasureUnitSchema))


class DocumentDetailSchema(DocumentSummarySchema):
    lead_rule = fields.String(allow_none=True)
    default_deadline = fields.Date(allow_none=True)
    measure_list = fields.List(fields.Nested(MeasureSchema), data_key="measure_details")


@blp.route("/<id:document_id>", methods=["GET"])
@requires()
@blp.doc(summary="A document with its measures, targets and per-unit items")
@blp.response(200, DocumentDetailSchema)
def show_document(document_id: int) -> dict[str, Any]:
    return document_service.document_detail(services().database, document_id, current_actor())
