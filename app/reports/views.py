"""The co-chairs' summary: the page (also the reviewers' home), its exports and frozen snapshots.

Views only read the filters, call the summary service and render; every figure, every notice
about a filter that made no sense and every confidentiality rule lives in the service.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from markupsafe import Markup

from app.accounts.auth import current_viewer
from app.accounts.policy import signed_in
from app.db import request_session
from app.reports import charts
from app.reports.exports import summary_csv, summary_workbook
from app.reports.snapshots import snapshot_summary
from app.reports.summary import (
    COMPLETENESS_CATEGORIES,
    NARRATIVES_SHOWN,
    Completeness,
    Summary,
    SummaryFilters,
    build_summary,
)
from app.validation import NotFound

bp = Blueprint("reports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _live_summary(*, for_export: bool) -> Summary | None:
    """The summary for the request's filters; None when there is no work plan yet."""
    try:
        return build_summary(
            request_session(),
            current_viewer(),
            SummaryFilters.from_args(request.args),
            today=date.today(),
            narratives_limit=None if for_export else NARRATIVES_SHOWN,
        )
    except NotFound:
        return None


def _render(summary: Summary | None, *, period_id: int | None = None) -> Response:
    if summary is None:
        return Response(render_template("plan/empty.html"))
    partial = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore")
    template = "reports/_summary.html" if partial else "reports/summary.html"
    body = render_template(
        template,
        summary=summary,
        snapshot=period_id is not None,
        period_id=period_id,
        charts=charts,
        completeness_chart=completeness_chart(summary.completeness),
        rag_charts=rag_charts(summary),
    )
    response = Response(body)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/summary")
@signed_in
def summary() -> Response:
    return _render(_live_summary(for_export=False))


@bp.get("/summary.xlsx")
@signed_in
def summary_xlsx() -> Response:
    return _download(_live_summary(for_export=True), "xlsx")


@bp.get("/summary.csv")
@signed_in
def summary_csv_export() -> Response:
    return _download(_live_summary(for_export=True), "csv")


@bp.get("/summary/snapshots/<int:period_id>")
@signed_in
def snapshot(period_id: int) -> Response:
    frozen = snapshot_summary(request_session(), current_viewer(), period_id)
    return _render(frozen, period_id=period_id)


@bp.get("/summary/snapshots/<int:period_id>.xlsx")
@signed_in
def snapshot_xlsx(period_id: int) -> Response:
    return _download(snapshot_summary(request_session(), current_viewer(), period_id), "xlsx")


@bp.get("/summary/snapshots/<int:period_id>.csv")
@signed_in
def snapshot_csv(period_id: int) -> Response:
    return _download(snapshot_summary(request_session(), current_viewer(), period_id), "csv")


def rag_charts(summary: Summary) -> dict[str, Markup]:
    """Initiatives by RAG rating and indicators by rating, one bar per focus area."""
    names = [f"{fa.number}. {fa.title}" for fa in summary.focus_areas]
    return {
        "initiatives": charts.rag_distribution(
            [(n, fa.rag_counts) for n, fa in zip(names, summary.focus_areas, strict=True)],
            title="Initiatives by RAG rating, per focus area",
        ),
        "indicators": charts.rag_distribution(
            [(n, fa.rating_counts) for n, fa in zip(names, summary.focus_areas, strict=True)],
            title="Indicators by rating against target, per focus area",
            what="indicators",
        ),
    }


def completeness_chart(completeness: Completeness) -> Markup:
    """The member states x periods grid as an SVG heat map (symbols and titles, not colour)."""
    if not completeness.rows:
        return Markup("")
    return charts.completeness_heatmap(
        [row.name for row in completeness.rows],
        [period.code for period in completeness.periods],
        [[(c.category, c.symbol, c.label) for c in row.cells] for row in completeness.rows],
        title="Reports by member state and reporting period",
        legend=[(key, symbol, words) for key, (words, symbol) in COMPLETENESS_CATEGORIES.items()],
    )


def _download(summary: Summary | None, kind: str) -> Response:
    if summary is None:
        raise NotFound("work plan")
    name = _file_name(summary, kind)
    if kind == "xlsx":
        response = Response(summary_workbook(summary), mimetype=XLSX)
    else:
        # A byte-order mark, so that Excel reads the CSV as UTF-8 (names such as "Türkiye").
        response = Response("\ufeff" + summary_csv(summary), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _file_name(summary: Summary, kind: str) -> str:
    frozen = "-frozen" if summary.frozen_at else ""
    span = summary.period_from or "no-period"
    if summary.period_to and summary.period_to != summary.period_from:
        span += f"-to-{summary.period_to}"
    return f"RSO-summary-{span}{frozen}.{kind}"
