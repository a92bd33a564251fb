"""督办总览: counts by colour, overdue items per unit as a bar chart, the overdue table."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from service.api.reports import overdue_file
from service.extensions import services
from service.pages.charts import bar_chart, short_label
from service.pages.signin import page_actor, signed_in
from service.services import reports as report_service
from service.services.reports import ReportRequest

bp = Blueprint("overview", __name__)

# The chart shows the units with the most overdue items; the table below lists them all.
CHART_UNITS = 15


def todays_report() -> ReportRequest:
    context = services()
    as_of = context.config.local_date(context.clock.now())
    return report_service.scoped(ReportRequest(as_of=as_of, tz=context.config.tz), page_actor())


@bp.route("/overview")
@signed_in("supervisor", "admin")
def index() -> str:
    request = todays_report()
    overdue = report_service.overdue_report(services().database, request)
    ranked = sorted(
        (g for g in overdue["groups"] if g["items"]), key=lambda g: (-len(g["items"]), g["name"])
    )
    chart = bar_chart([(g["name"], len(g["items"])) for g in ranked[:CHART_UNITS]])
    return render_template(
        "overview.html",
        short_label=short_label,
        totals=overdue["totals"],
        groups=ranked,
        chart=chart,
        overdue_total=overdue["overdue"],
        as_of=request.as_of,
    )


@bp.route("/overview/overdue.xlsx")
@signed_in("supervisor", "admin")
def overdue_workbook() -> Response:
    """The same workbook as the API's overdue report, for the session's user."""
    return overdue_file("xlsx", todays_report())
