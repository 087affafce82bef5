"""Staff pages for the organisation tree, branches and members."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from evalsvc.extensions import db
from evalsvc.models import (
    Batch,
    BranchDecision,
    Member,
    MemberStatus,
    Organisation,
    OrgType,
    Role,
    Unit,
)
from evalsvc.services import (
    flags, member_grades, opinions, org_tree, paging, rounds, scope, stages,
)
from evalsvc.services import organisations as org_service
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.services.member_order import in_branch_order
from evalsvc.web.form_errors import attach_errors
from evalsvc.web.staff_forms import MemberForm, OrgForm, options

bp = Blueprint("orgs", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Every page here is for staff."""


@bp.get("/")
def tree():
    """The organisation tree the user may see, with batch and stage states: as deep as a
    page holds (``root``: from that organisation down), or a search by code or name."""
    text = org_tree.search_text(request.args.get("q"))
    if text:
        found = org_tree.search(current_user, text, paging.page_number(request.args.get("page")))
        return render_template("orgs/tree.html", found=found, text=text, roots=[], root=None)
    root_id = paging.whole(request.args.get("root"))
    root = scope.get_scoped(current_user, Organisation, root_id) if root_id else None
    return render_template("orgs/tree.html", roots=org_tree.tree(current_user, root),
                           root=root, found=None, text="")


@bp.get("/orgs/<int:org_id>")
def detail(org_id: int):
    """One organisation: its members when a branch, its children otherwise."""
    org = scope.get_scoped(current_user, Organisation, org_id)
    branch = org.is_branch
    return render_template(
        "orgs/detail.html", org=org, can_edit_members=_may_write(org),
        members=in_branch_order(org.members) if branch else [],
        rounds=rounds.rounds_for(current_user, org.id) if branch else [],
        flag_list=flags.flags_for({org.id}) if branch else [],
        transition_list=stages.transitions_for({org.id}) if branch else [],
        org_opinions=opinions.for_org(org.id) if branch else [],
        failing=member_grades.failing_for(org.id) if branch else [],
        followup_labels=member_grades.FOLLOWUP_LABELS,
        missing=stages.missing_for(org, org.current_stage) if branch else [])


@bp.get("/units/<int:unit_id>")
def unit(unit_id: int):
    """A unit (单位): its organisations the user may see, and their flags in every
    campaign (集体诫勉 is proposed per unit)."""
    record = db.session.get(Unit, unit_id)
    visible = scope.visible_org_ids(current_user)
    orgs = [o for o in (record.organisations if record else [])
            if visible is None or o.id in visible]
    if not orgs:
        raise OutOfScope(f"unit {unit_id}")
    return render_template("orgs/unit.html", unit=record, orgs=orgs,
                           flag_list=flags.flags_for({o.id for o in orgs}),
                           branch_decisions=list(BranchDecision))


def _may_write(org: Organisation) -> bool:
    return org.is_branch and current_user.role is not Role.SUPERVISOR


@bp.route("/orgs/new", methods=["GET", "POST"])
def create():
    """Add an organisation (office)."""
    scope.require_office(current_user)
    form = _org_form(OrgForm())
    if form.validate_on_submit():
        try:
            org = org_service.create_org(current_user, _org_data(form))
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("orgs.detail", org_id=org.id))
    return render_template("orgs/form.html", form=form, org=None)


@bp.route("/orgs/<int:org_id>/edit", methods=["GET", "POST"])
def edit(org_id: int):
    """Edit an organisation (office)."""
    scope.require_office(current_user)
    org = scope.get_scoped(current_user, Organisation, org_id)
    form = _org_form(OrgForm(obj=org, type=org.type.value))
    if form.validate_on_submit():
        try:
            org_service.update_org(current_user, org, _org_data(form))
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("orgs.detail", org_id=org.id))
    return render_template("orgs/form.html", form=form, org=org)


def _org_form(form: OrgForm) -> OrgForm:
    orgs = db.session.scalars(
        scope.orgs_query(current_user).where(Organisation.type != OrgType.BRANCH)
    ).all()
    form.parent_id.choices = options([(None, "（无）")] + [(o.id, f"{o.code} {o.name}") for o in orgs])
    batches = db.session.scalars(db.select(Batch).order_by(Batch.campaign_id, Batch.number))
    form.unit.choices = [("", "（无）")] + [(u.name, u.name) for u in org_service.units()]
    form.batch_id.choices = options(
        [(None, "（无）")] + [(b.id, f"第{b.number}批 {b.name}") for b in batches]
    )
    return form


def _org_data(form: OrgForm) -> org_service.OrgData:
    return org_service.OrgData(
        code=form.code.data.strip(),
        name=form.name.data.strip(),
        type=OrgType(form.type.data),
        unit=(form.unit.data or "").strip(),
        parent_id=form.parent_id.data,
        batch_id=form.batch_id.data,
    )


@bp.route("/orgs/<int:org_id>/members/new", methods=["GET", "POST"])
def add_member(org_id: int):
    """Add a member to a branch (office, or its secretary)."""
    org = scope.get_scoped(current_user, Organisation, org_id)
    scope.require_writer(current_user, org.id)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            org_service.add_member(
                current_user, org, form.name.data, MemberStatus(form.status.data),
                form.sort_order.data,
            )
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("orgs.detail", org_id=org.id))
    return render_template("orgs/member_form.html", form=form, org=org, member=None)


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
def edit_member(member_id: int):
    """Edit a member (office, or the branch's secretary)."""
    member: Member = scope.get_scoped(current_user, Member, member_id)
    scope.require_writer(current_user, member.organisation_id)
    form = MemberForm(obj=member, status=member.status.value)
    if form.validate_on_submit():
        try:
            org_service.update_member(
                current_user, member, form.name.data,
                MemberStatus(form.status.data), form.active.data, form.sort_order.data,
            )
        except Invalid as exc:
            attach_errors(form, exc)
        else:
            return redirect(url_for("orgs.detail", org_id=member.organisation_id))
    return render_template(
        "orgs/member_form.html", form=form, org=member.organisation, member=member
    )
