"""Staff pages for 整改方案: draft, review, approve or return; items, progress notes; the
public page's poster; publishing a round's result."""
import io

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.models import Organisation, PlanItem, PlanState, RectificationPlan, Role, Round
from evalsvc.services import audit, plan_changes, plan_sources, plans, public_pages, scope
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.services.today import today
from evalsvc.web.form_errors import attach_errors, attempt
from evalsvc.web.staff_forms import ConfirmForm, PlanItemForm

bp = Blueprint("plans", __name__)
OUTSIDE = "只能为本支部制定整改方案：该组织不存在或不在您的管理范围内"


@bp.before_request
@login_required
def _require_login() -> None:
    """Staff only."""


@bp.get("/orgs/<int:org_id>/plan")
def show(org_id: int):
    """The organisation's plan (or the button that starts one)."""
    org = scope.get_scoped(current_user, Organisation, org_id)
    plan = plans.plan_for(org.id)
    page = public_pages.page_of(org.id)
    drafter = current_user.role is not Role.SUPERVISOR
    return render_template(
        "plans/plan.html", org=org, plan=plan, confirm=ConfirmForm(), today=today(),
        may_draft=drafter, changes=plan_changes.changes(plan) if plan else [],
        awaiting_review=bool(plan and plan.state is PlanState.SUBMITTED
                             and not plan.review_opinion and plans.reviewers(org.id)),
        suggestions=plan_sources.suggestions(org.id) if plan and drafter else [],
        public_url=public_pages.public_url(page) if page else None)


@bp.post("/orgs/<int:org_id>/plan")
def create(org_id: int):
    """Start a plan. Someone else's organisation is a 404 that says why in Chinese (and
    says no more than a missing one would)."""
    org = db.session.get(Organisation, org_id)
    if org is None or not scope.in_scope(current_user, org.id):
        abort(404, OUTSIDE)
    attempt(lambda: plans.create_plan(current_user, org))
    return redirect(url_for("plans.show", org_id=org.id))


def _item_data(form: PlanItemForm) -> plans.ItemData:
    return plans.ItemData(form.problem.data or "", form.measures.data or "",
                          form.responsible.data or "", form.deadline.data,
                          form.status.data, form.source_round_id.data)


@bp.route("/plans/<int:plan_id>/items/new", methods=["GET", "POST"])
def new_item(plan_id: int):
    """Add an item, its problem typed or picked from the shown 征求意见 results."""
    plan = scope.get_scoped(current_user, RectificationPlan, plan_id)
    form = PlanItemForm()
    if request.method == "GET" and request.args.get("pick"):
        picked = plan_sources.pick(plan.organisation_id, request.args["pick"])
        if picked is not None:
            form.problem.data, form.source_round_id.data = picked.text, picked.round_id
    if form.validate_on_submit():
        try:
            plans.add_item(current_user, plan, _item_data(form))
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("plans.show", org_id=plan.organisation_id))
    return render_template("plans/item_form.html", form=form, plan=plan, item=None)


@bp.route("/plan-items/<int:item_id>/edit", methods=["GET", "POST"])
def edit_item(item_id: int):
    """Change an item (its status too); after approval the change is listed publicly."""
    item = scope.get_scoped(current_user, PlanItem, item_id)
    form = PlanItemForm(obj=item) if request.method == "GET" else PlanItemForm()
    if request.method == "GET":
        form.status.data = item.status.value
    if form.validate_on_submit():
        try:
            plans.update_item(current_user, item, _item_data(form))
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("plans.show", org_id=item.organisation_id))
    return render_template("plans/item_form.html", form=form, plan=item.plan, item=item)


def _back(org_id: int):
    return redirect(url_for("plans.show", org_id=org_id))


@bp.post("/plan-items/<int:item_id>/remove")
def remove_item(item_id: int):
    """Remove an item of a plan not yet approved."""
    item = scope.get_scoped(current_user, PlanItem, item_id)
    org_id = item.organisation_id
    attempt(lambda: plans.remove_item(current_user, item))
    return _back(org_id)


@bp.post("/plan-items/<int:item_id>/notes")
def add_note(item_id: int):
    """A dated progress note on an item."""
    item = scope.get_scoped(current_user, PlanItem, item_id)
    attempt(lambda: plans.add_note(current_user, item, request.form.get("text", "")))
    return _back(item.organisation_id)


@bp.post("/plans/<int:plan_id>/<action>")
def act(plan_id: int, action: str):
    """submit (secretary), review (supervision), approve / return (office)."""
    plan = scope.get_scoped(current_user, RectificationPlan, plan_id)
    actions = {
        "submit": lambda: plans.submit(current_user, plan),
        "review": lambda: plans.review(current_user, plan, request.form.get("review_opinion", "")),
        "approve": lambda: plans.approve(current_user, plan),
        "return": lambda: plans.return_plan(current_user, plan, request.form.get("reason", "")),
    }
    if action not in actions:
        raise OutOfScope(action)
    attempt(actions[action])
    return _back(plan.organisation_id)


@bp.get("/orgs/<int:org_id>/public-poster.pdf")
def poster(org_id: int):
    """The public page's poster: a QR code of its short URL, for the notice board."""
    from evalsvc.render.cards import poster_pdf

    org = scope.get_scoped(current_user, Organisation, org_id)
    page = public_pages.page_of(org.id)
    if page is None:
        raise OutOfScope(f"public page of {org_id}")
    buffer = io.BytesIO()
    poster_pdf(f"{org.name}整改公示", public_pages.public_url(page), buffer,
               note="扫码查看本组织的整改方案、整改进展和群众满意度测评结果")
    audit.record_action(current_user, "public_page.print_poster", page)
    buffer.seek(0)
    return send_file(buffer, mimetype="application/pdf", as_attachment=True,
                     download_name=f"public-{org.code}.pdf")


@bp.post("/rounds/<int:round_id>/publish")
def publish(round_id: int):
    """Show a closed round's result on the public page (office)."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    attempt(lambda: public_pages.publish(current_user, round_))
    return redirect(url_for("rounds.detail", round_id=round_id))


@bp.post("/rounds/<int:round_id>/withdraw")
def withdraw(round_id: int):
    """Take a published result off the public page (office)."""
    round_ = scope.get_scoped(current_user, Round, round_id)
    attempt(lambda: public_pages.withdraw(current_user, round_))
    return redirect(url_for("rounds.detail", round_id=round_id))
