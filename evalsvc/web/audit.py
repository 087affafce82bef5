"""The audit log for the office and supervision: filter, read, export. Nothing edits it."""
import tempfile
from dataclasses import asdict
from datetime import date

from flask import Blueprint, render_template, request, send_file
from flask_login import current_user, login_required

from evalsvc.models import Role
from evalsvc.services import audit, audit_log
from evalsvc.services.errors import OutOfScope

bp = Blueprint("audit", __name__, url_prefix="/audit")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _office_and_supervision() -> None:
    """Secretaries do not read the log."""
    if current_user.role is Role.SECRETARY:
        raise OutOfScope("audit log")


def _filters() -> audit_log.AuditFilter:
    def day(name):
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return None

    return audit_log.AuditFilter(
        action=request.args.get("action", "").strip()[:60],
        actor=request.args.get("actor", "").strip()[:60],
        since=day("since"), until=day("until"),
        organisation_id=request.args.get("org", type=int))


@bp.get("/")
def index():
    """The newest 500 matching entries."""
    filters = _filters()
    return render_template("audit/index.html", entries=audit_log.entries(current_user, filters),
                           filters=filters)


@bp.get("/export.xlsx")
def export():
    """Every matching entry as XLSX."""
    from evalsvc.render.exports import Sheet, write_xlsx

    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    filters = _filters()
    rows = audit_log.entry_rows(current_user, filters)
    write_xlsx([Sheet("审计日志", audit_log.AUDIT_HEADER, rows)], spool)
    audit.record_export(current_user, "audit_log", filters.organisation_id, format="xlsx",
                        filters=asdict(filters))
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, download_name="audit-log.xlsx", as_attachment=True)
