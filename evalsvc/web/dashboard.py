"""The campaign overview for the office and supervision; secretaries land on their branch."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.models import Batch, Organisation, OrgType, Role
from evalsvc.services import audit, dashboard, flags, jobs, plans, scope, stages
from evalsvc.services.batches import window_text
from evalsvc.services.campaigns import current_campaign
from evalsvc.web.jobs import started
from evalsvc.web.staff_forms import ConfirmForm

bp = Blueprint("dashboard", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only."""


@bp.get("/dashboard")
def index():
    """Branches × stages: state, participation, satisfaction and flags."""
    if current_user.role is Role.SECRETARY:
        return redirect(url_for("orgs.detail", org_id=current_user.branch_id))
    batch = request.args.get("batch", type=int)
    parent_id = request.args.get("parent", type=int)
    if parent_id is not None:
        scope.get_scoped(current_user, Organisation, parent_id)
    rows = dashboard.overview(current_user, batch, parent_id)
    parents = db.session.scalars(scope.orgs_query(current_user).where(
        Organisation.type != OrgType.BRANCH)).all()
    campaign = current_campaign()
    batches = db.session.scalars(db.select(Batch).where(
        Batch.campaign_id == (campaign.id if campaign else None)).order_by(Batch.number)).all()
    ids = scope.visible_org_ids(current_user)
    verdicts = flags.pending_verdicts(ids) if current_user.role is Role.OFFICE else []
    return render_template(
        "dashboard/index.html", rows=rows, batch=batch, parent_id=parent_id, parents=parents,
        batches=batches, window_text=window_text, campaign=campaign,
        admonished=dashboard.admonished_units(rows),
        pending=flags.flags_for(ids, status=flags.Decision.PROPOSED,
                                campaign_id=campaign.id if campaign else None),
        requests=[t for t in stages.transitions_for(ids) if t.state in stages.OPEN_REQUESTS],
        passes=[r for r in verdicts if r.passed is True],
        to_decide=[r for r in verdicts if r.passed is not True],
        overdue_items=plans.overdue_items(ids),
        confirm=ConfirmForm())


@bp.get("/dashboard/export.<fmt>")
def export(fmt: str):
    """The overview as CSV or XLSX (streamed)."""
    from evalsvc.web.exports import overview_response

    batch, parent_id = request.args.get("batch", type=int), request.args.get("parent", type=int)
    if fmt in ("csv", "xlsx") and jobs.is_long("JOB_EXPORT_BRANCHES",
                                               jobs.branches_in_scope(current_user)):
        if parent_id is not None:
            scope.get_scoped(current_user, Organisation, parent_id)
        return started(jobs.submit(current_user, "export.overview", f"导出总览（{fmt.upper()}）",
                                   {"fmt": fmt, "batch": batch, "parent_id": parent_id}))
    rows = dashboard.overview(current_user, batch, parent_id)
    response = overview_response(rows, fmt)
    audit.record_export(current_user, "overview", parent_id, format=fmt, batch=batch)
    return response


