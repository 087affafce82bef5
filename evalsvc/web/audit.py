"""The audit log for the office and supervision: filter, read, export. Nothing edits it."""
import tempfile
from dataclasses import asdict

import sqlalchemy as sa
from flask import Blueprint, render_template, request, send_file
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.models import Role
from evalsvc.services import audit, audit_log, job_work, jobs
from evalsvc.services.audit_words import ACTIONS
from evalsvc.services.errors import OutOfScope
from evalsvc.services.today import parse_day
from evalsvc.web.jobs import started

bp = Blueprint("audit", __name__, url_prefix="/audit")
FILTER_KEYS = ("action", "actor", "since", "until", "org", "branch")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _office_and_supervision() -> None:
    """Secretaries do not read the log."""
    if current_user.role is Role.SECRETARY:
        raise OutOfScope("audit log")


def _filters() -> audit_log.AuditFilter:
    org = request.args.get("org", type=int)
    if org is not None and not 0 < org < 2 ** 31:
        org = 0  # no organisation has it; a huge number would overflow the database's integer
    return audit_log.AuditFilter(
        action=request.args.get("action", "").strip()[:60],
        actor=request.args.get("actor", "").strip()[:60],
        since=parse_day(request.args.get("since")), until=parse_day(request.args.get("until")),
        organisation_id=org,
        branch=request.args.get("branch", "").strip()[:60])


@bp.get("/")
def index():
    """One page of matching entries, newest first."""
    filters = _filters()
    number = request.args.get("page", 1, type=int)
    entries, pages = audit_log.page(current_user, filters, number)
    number = min(max(1, number), pages)
    # Links carry the filters only: any other query key (endpoint, _anchor…) would reach url_for.
    args = {k: v for k in FILTER_KEYS if (v := request.args.get(k, "").strip())}
    return render_template("audit/index.html", entries=entries, filters=filters,
                           page=number, pages=pages, actions=ACTIONS.values(), args=args)


@bp.get("/export.xlsx")
def export():
    """Every matching entry as XLSX."""
    from evalsvc.render.exports import Sheet, write_xlsx

    filters = _filters()
    matching = audit_log.entries_query(current_user, filters).order_by(None)
    if jobs.is_long("JOB_EXPORT_ENTRIES", db.session.scalar(
            sa.select(sa.func.count()).select_from(matching.subquery())) or 0):
        return started(jobs.submit(current_user, "export.audit", "导出审计日志（XLSX）",
                                   job_work.filter_params(filters)))
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    rows = audit_log.entry_rows(current_user, filters)
    write_xlsx([Sheet("审计日志", audit_log.AUDIT_HEADER, rows)], spool)
    audit.record_export(current_user, "audit_log", filters.organisation_id, format="xlsx",
                        filters=asdict(filters))
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, download_name="audit-log.xlsx", as_attachment=True)
