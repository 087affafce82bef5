"""The campaign overview for the office and supervision; secretaries land on their branch.

A page of branches at a time (filtered, searched, in code order), and the side lists
bounded: the first few of each, their count, and a link to the whole list, paged."""
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.models import Batch, Organisation, Role, StageState
from evalsvc.services import audit, dashboard, flags, jobs, paging, plans, scope, stages
from evalsvc.services.batches import window_text
from evalsvc.services.campaigns import current_campaign
from evalsvc.web.jobs import started
from evalsvc.web.staff_forms import ConfirmForm

bp = Blueprint("dashboard", __name__)

# The side lists: name in the URL → heading; the verdicts are the office's to decide.
SIDE_LISTS = {
    "pending": "待处理的规则建议",
    "to-decide": "待决定的补课建议",
    "passes": "待确认的通过判定",
    "overdue": "回头看：逾期未完成的整改事项",
    "requests": "转段申请",
}
OFFICE_LISTS = ("to-decide", "passes")
SIDE_CAP = 1000  # a side list counts its rows up to here ("1000+" beyond)


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only."""


def _chosen() -> dashboard.OverviewFilter:
    """The filter from the query string; a parent outside the user's scope is a 404."""
    chosen = dashboard.parse_filter(request.args)
    if chosen.parent_id is not None:
        scope.get_scoped(current_user, Organisation, chosen.parent_id)
    return chosen


@bp.get("/dashboard")
def index():
    """Branches × stages: state, participation, satisfaction and flags, a page at a time."""
    if current_user.role is Role.SECRETARY:
        return redirect(url_for("orgs.detail", org_id=current_user.branch_id))
    chosen = _chosen()
    page = dashboard.overview_page(current_user, chosen,
                                   paging.page_number(request.args.get("page")))
    campaign = current_campaign()
    batches = db.session.scalars(db.select(Batch).where(
        Batch.campaign_id == (campaign.id if campaign else None)).order_by(Batch.number)).all()
    return render_template(
        "dashboard/index.html", page=page, rows=page.rows, chosen=chosen,
        filter_args=chosen.args(),
        parents=scope.filter_parents(current_user, chosen.parent_id), batches=batches,
        window_text=window_text, campaign=campaign, states=list(StageState),
        marks=dashboard.MARK_LABELS, admonished=dashboard.admonished_units(page.rows),
        side={name: _side_list(name, 1, dashboard.SIDE_SIZE) for name in SIDE_LISTS},
        side_titles=SIDE_LISTS, confirm=ConfirmForm())


def _side_list(name: str, number: int, size: int) -> paging.Page:
    """One side list (in the user's scope), a page of it; the office's lists are empty for
    anyone else."""
    ids = scope.visible_ids(current_user)
    campaign = current_campaign()
    if name in OFFICE_LISTS:
        if current_user.role is not Role.OFFICE:
            return paging.Page([], 0, 1, size)
        query = flags.pending_verdicts_query(ids, passed=name == "passes")
    elif name == "pending":
        query = flags.flags_query(ids, status=flags.Decision.PROPOSED,
                                  campaign_id=campaign.id if campaign else None)
    elif name == "overdue":
        query = plans.overdue_items_query(ids)
    else:
        query = stages.transitions_query(ids, states=stages.OPEN_REQUESTS)
    return paging.page_of(query, number, size, SIDE_CAP)


@bp.get("/dashboard/lists/<name>")
def side_list(name: str):
    """One of the dashboard's side lists in full, a page at a time."""
    if name not in SIDE_LISTS or current_user.role is Role.SECRETARY or \
            (name in OFFICE_LISTS and current_user.role is not Role.OFFICE):
        abort(404)
    page = _side_list(name, paging.page_number(request.args.get("page")),
                      dashboard.PAGE_SIZE)
    return render_template("dashboard/list.html", name=name, title=SIDE_LISTS[name],
                           page=page, confirm=ConfirmForm())


@bp.get("/dashboard/export.<fmt>")
def export(fmt: str):
    """The overview as CSV or XLSX (streamed), every branch the filter admits."""
    from evalsvc.web.exports import overview_response

    chosen = _chosen()
    if fmt in ("csv", "xlsx") and jobs.is_long("JOB_EXPORT_BRANCHES",
                                               jobs.branches_in_scope(current_user)):
        narrowed = f"：{summary}" if (summary := chosen.summary(current_user)) else ""
        return started(jobs.submit(current_user, "export.overview",
                                   f"导出总览（{fmt.upper()}）{narrowed}",
                                   {"fmt": fmt, "filter": chosen.args()}))
    response = overview_response(dashboard.overview(current_user, chosen=chosen), fmt)
    audit.record_export(current_user, "overview", chosen.parent_id, format=fmt,
                        **chosen.audited())
    return response
