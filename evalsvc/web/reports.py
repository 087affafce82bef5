"""The weekly report on the web: pick a period, read it, download XLSX or PDF."""
import tempfile
from datetime import date, timedelta

from flask import Blueprint, current_app, render_template, request, send_file
from flask_login import current_user, login_required

from evalsvc.kinds import reported_rate_labels
from evalsvc.models import Role
from evalsvc.services import audit, jobs, report as report_service
from evalsvc.services.errors import OutOfScope
from evalsvc.services.today import parse_day, today
from evalsvc.web.jobs import started

bp = Blueprint("reports", __name__, url_prefix="/reports")
TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf"}


@bp.before_request
@login_required
def _office_and_supervision() -> None:
    """The report is the supervision group's (and the office's)."""
    if current_user.role is Role.SECRETARY:
        raise OutOfScope("weekly report")


def _period() -> tuple[date, date]:
    """The requested period; by default the week before the latest reporting day
    (WEEKLY_REPORT_WEEKDAY, Thursday: 每周四上午报)."""
    start, end = parse_day(request.args.get("from")), parse_day(request.args.get("to"))
    if start is None and end is None:
        return report_service.default_period(
            today(), current_app.config.get("WEEKLY_REPORT_WEEKDAY", 4))
    end = end or today()
    start = start or end - timedelta(days=6)
    return (start, end) if start <= end else (end, start)


@bp.get("/weekly")
def weekly():
    """The report for the period, on screen."""
    start, end = _period()
    report = report_service.weekly(current_user, start, end)
    from evalsvc.render import report as words

    return render_template("reports/weekly.html", report=report, words=words,
                           figures=reported_rate_labels(), listed=report_service.LISTED)


@bp.get("/weekly.<fmt>")
def weekly_file(fmt: str):
    """The report as XLSX or PDF."""
    from evalsvc.render.report import write_weekly

    if fmt not in TYPES:
        raise OutOfScope(fmt)
    start, end = _period()
    if jobs.is_long("JOB_EXPORT_BRANCHES", jobs.branches_in_scope(current_user)):
        title = f"周报 {start.isoformat()} 至 {end.isoformat()}（{fmt.upper()}）"
        return started(jobs.submit(current_user, "export.weekly", title, {
            "fmt": fmt, "start": start.isoformat(), "end": end.isoformat()}))
    buffer = tempfile.TemporaryFile()  # a province's workbook is written to disk, not held
    write_weekly(current_user, start, end, fmt, buffer)
    audit.record_export(current_user, "weekly_report", format=fmt, start=start, end=end)
    buffer.seek(0)
    return send_file(buffer, mimetype=TYPES[fmt], as_attachment=True,
                     download_name=f"weekly-{start.isoformat()}-{end.isoformat()}.{fmt}")
