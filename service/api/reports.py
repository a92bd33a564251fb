"""Supervisor reports over HTTP: overdue items, summary, unit scorecards; JSON, CSV or XLSX."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, Any
from urllib.parse import quote

from flask import Response, stream_with_context
from marshmallow import Schema, fields, validate

from checklists.reports import Grouping
from checklists.status import DUE_SOON_WORKDAYS
from service.api import ID_RANGE, Blueprint, InputSchema
from service.auth import current_actor, requires
from service.extensions import services
from service.services import reports as report_service
from service.services.reports import ReportRequest

blp = Blueprint(
    "reports", __name__, url_prefix="/api/v1/reports", description="Supervisor reports (督办台账)"
)

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_RESPONSES = {
    "responses": {
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    }
}
FORMATS = ("json", "csv", "xlsx")
# Spooled in memory up to this size, then on disk: an XLSX is zipped only once it is whole.
XLSX_SPOOL_BYTES = 8 * 1024 * 1024


class ReportQuerySchema(InputSchema):
    as_of = fields.Date(metadata={"description": "the report as of the end of this day; today"})
    unit = fields.Integer(validate=ID_RANGE)
    document = fields.Integer(validate=ID_RANGE)
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))
    due_soon_days = fields.Integer(
        load_default=DUE_SOON_WORKDAYS,
        validate=validate.Range(min=1, max=60),
        metadata={"description": "yellow when due within this many working days"},
    )


class OverdueQuerySchema(ReportQuerySchema):
    group_by = fields.String(
        load_default="unit", validate=validate.OneOf([g.value for g in Grouping])
    )


class ScorecardQuerySchema(ReportQuerySchema):
    period = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"),
        metadata={"description": "2026, 2026-Q3 or 2026-11"},
    )


class CountsSchema(Schema):
    total = fields.Integer()
    red = fields.Integer()
    yellow = fields.Integer()
    green = fields.Integer()
    done = fields.Integer()
    waived = fields.Integer()
    on_time = fields.Integer(metadata={"description": "signed off by the original deadline"})
    late = fields.Integer(metadata={"description": "signed off after it"})
    on_time_rate = fields.Float(
        allow_none=True, metadata={"description": "on_time / (on_time + late + red)"}
    )


class GroupCountsSchema(CountsSchema):
    id = fields.Integer()
    name = fields.String()


class SummarySchema(Schema):
    as_of = fields.Date()
    due_soon_workdays = fields.Integer()
    totals = fields.Nested(CountsSchema)
    by_unit = fields.List(fields.Nested(GroupCountsSchema))
    by_document = fields.List(fields.Nested(GroupCountsSchema))


class OverdueRowSchema(Schema):
    item_id = fields.Integer()
    document_id = fields.Integer()
    document = fields.String()
    measure_ref = fields.String()
    measure_title = fields.String()
    unit_id = fields.Integer()
    unit = fields.String()
    role = fields.String(metadata={"description": "lead (牵头) or co (配合)"})
    role_label = fields.String()
    period = fields.String(allow_none=True, metadata={"description": "of a recurring item"})
    deadline = fields.Date()
    days_overdue = fields.Integer()
    workdays_overdue = fields.Integer(allow_none=True)
    status = fields.String()
    status_label = fields.String()
    colour = fields.String()
    colour_label = fields.String()
    last_progress_on = fields.Date(allow_none=True)
    last_progress_note = fields.String(allow_none=True)


class OverdueGroupSchema(GroupCountsSchema):
    items = fields.List(fields.Nested(OverdueRowSchema))


class OverdueReportSchema(Schema):
    as_of = fields.Date()
    group_by = fields.String()
    due_soon_workdays = fields.Integer()
    totals = fields.Nested(CountsSchema)
    overdue = fields.Integer()
    groups = fields.List(fields.Nested(OverdueGroupSchema))


class ScoreSchema(Schema):
    due = fields.Integer()
    done_on_time = fields.Integer()
    done_late = fields.Integer()
    overdue = fields.Integer()
    open = fields.Integer()
    waived = fields.Integer()
    extensions_granted = fields.Integer()
    average_days_late = fields.Float(allow_none=True)
    on_time_rate = fields.Float(allow_none=True)


class RoleScoresSchema(Schema):
    lead = fields.Nested(ScoreSchema)
    co = fields.Nested(ScoreSchema)
    all = fields.Nested(ScoreSchema)


class UnitScoreSchema(RoleScoresSchema):
    id = fields.Integer()
    name = fields.String()


class ScorecardSchema(Schema):
    period = fields.String()
    start = fields.Date()
    end = fields.Date()
    as_of = fields.Date()
    totals = fields.Nested(RoleScoresSchema)
    units = fields.List(fields.Nested(UnitScoreSchema))


def report_request(query: dict[str, Any]) -> ReportRequest:
    """The request's report, as of today unless asked, narrowed to a staff member's unit."""
    context = services()
    explicit = query.get("as_of")
    as_of = explicit or context.config.local_date(context.clock.now())
    if explicit is not None:
        report_service.check_as_of(explicit)
    request = ReportRequest(
        as_of=as_of,
        tz=context.config.tz,
        unit=query.get("unit"),
        document=query.get("document"),
        grouping=Grouping(query.get("group_by", Grouping.UNIT)),
        due_soon_workdays=query["due_soon_days"],
    )
    return report_service.scoped(request, current_actor())


def content_disposition(filename: str, fallback: str) -> str:
    """`attachment` with an ASCII name for old clients and the Chinese one per RFC 5987."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def csv_response(chunks: Iterator[str], filename: str, fallback: str) -> Response:
    body = (chunk.encode("utf-8") for chunk in chunks)
    response = Response(stream_with_context(body), content_type=CSV_TYPE)
    response.headers["Content-Disposition"] = content_disposition(filename, fallback)
    return response


def xlsx_response(write: Callable[[IO[bytes]], None], filename: str, fallback: str) -> Response:
    """Write the workbook to a spooled file, then send it in pieces."""
    spool = tempfile.SpooledTemporaryFile(max_size=XLSX_SPOOL_BYTES)  # noqa: SIM115 (closed by _pieces)
    try:
        write(spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    response = Response(_pieces(spool), content_type=XLSX_TYPE)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = content_disposition(filename, fallback)
    return response


def _pieces(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        yield from iter(lambda: spool.read(64 * 1024), b"")


def report_file(
    file_format: str,
    name: tuple[str, str, date | str],
    *,
    data: Callable[[], Any],
    csv: Callable[[], Iterator[str]],
    xlsx: Callable[[IO[bytes]], None],
) -> Any:
    """The report as JSON, or as a CSV or XLSX download named (Chinese stem, ASCII stem, label)."""
    if file_format == "json":
        return data()
    stem, ascii_stem, label = name
    filename = (f"{stem}_{label}.{file_format}", f"{ascii_stem}-{label}.{file_format}")
    if file_format == "csv":
        return csv_response(csv(), *filename)
    return xlsx_response(xlsx, *filename)


@blp.route("/overdue", methods=["GET"])
@requires()
@blp.arguments(OverdueQuerySchema, location="query")
@blp.response(200, OverdueReportSchema, description="JSON, or CSV / XLSX with `format`")
@blp.doc(**FILE_RESPONSES)
def overdue(query: dict[str, Any]) -> Any:
    """Every overdue item with its unit, role, deadline and last progress, grouped."""
    return overdue_file(query["format"], report_request(query))


def overdue_file(file_format: str, request: ReportRequest) -> Any:
    """The overdue report in `file_format`: for the API and the 督办总览 page's download."""
    database = services().database
    return report_file(
        file_format,
        ("督办逾期事项", "overdue", request.as_of),
        data=lambda: report_service.overdue_report(database, request),
        csv=lambda: report_service.overdue_csv(database, request),
        xlsx=lambda target: report_service.overdue_xlsx(database, request, target),
    )


@blp.route("/summary", methods=["GET"])
@requires()
@blp.arguments(OverdueQuerySchema, location="query")
@blp.response(200, SummarySchema, description="JSON, or CSV / XLSX with `format`")
@blp.doc(**FILE_RESPONSES)
def summary(query: dict[str, Any]) -> Any:
    """Counts by colour and on-time rates, in total, per unit and per document."""
    request = report_request(query)
    database = services().database
    return report_file(
        query["format"],
        ("督办汇总", "summary", request.as_of),
        data=lambda: report_service.summary_report(database, request),
        csv=lambda: report_service.summary_csv(database, request),
        xlsx=lambda target: report_service.summary_xlsx(database, request, target),
    )


@blp.route("/scorecard", methods=["GET"])
@requires()
@blp.arguments(ScorecardQuerySchema, location="query")
@blp.response(200, ScorecardSchema, description="JSON, or CSV / XLSX with `format`")
@blp.doc(**FILE_RESPONSES)
def scorecard(query: dict[str, Any]) -> Any:
    """Per unit, lead and co-unit items apart: the items due in a month, quarter or year."""
    request = report_request(query)
    database = services().database
    period = query["period"]
    card = report_service.scorecard_report(database, request, period)
    return report_file(
        query["format"],
        ("单位考核", "scorecard", period),
        data=lambda: card,
        csv=lambda: report_service.scorecard_csv(card),
        xlsx=lambda target: report_service.scorecard_xlsx(card, target),
    )
