"""整改方案 (rectification plans): the secretary drafts, the supervision group reviews in
writing (审查, advice only), the office approves or returns it with a reason. Every change
is audited; after approval the plan's changes are listed on its page and its public page
(services/plan_changes.py)."""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import (
    ItemStatus, Organisation, OrgType, PlanItem, PlanState, ProgressNote,
    RectificationPlan, Role, User,
)
from evalsvc.services import audit, public_pages
from evalsvc.services.campaigns import current_campaign, ensure_campaign
from evalsvc.services.errors import Forbidden, Invalid, OutOfScope, required_texts
from evalsvc.services.scope import in_scope, require_office
from evalsvc.services.today import today

PLAN_ORGS = (OrgType.BRANCH, OrgType.COMMITTEE, OrgType.GENERAL_BRANCH)
EDITABLE = (PlanState.DRAFT, PlanState.RETURNED)
TEXTS = {"problem": ("存在问题", 500), "measures": ("整改措施", 2000),
         "responsible": ("责任人", 60)}


@dataclass(frozen=True)
class ItemData:
    """A plan item as a form or a test gives it."""

    problem: str
    measures: str
    responsible: str
    deadline: date | None
    status: str = ItemStatus.NOT_STARTED.value
    source_round_id: int | None = None


def plan_for(org_id: int, campaign_id: int | None = None) -> RectificationPlan | None:
    """The organisation's plan in the campaign (the current one by default)."""
    if campaign_id is None:
        campaign = current_campaign()
        if campaign is None:
            return None
        campaign_id = campaign.id
    return db.session.scalar(sa.select(RectificationPlan).where(
        RectificationPlan.organisation_id == org_id,
        RectificationPlan.campaign_id == campaign_id))


def _require_drafter(actor: User, org_id: int) -> None:
    """Office anywhere, a secretary for her own branch; supervisors review, never draft."""
    if actor.role is Role.SUPERVISOR:
        raise Forbidden("督导组负责审查整改方案，不能起草或修改方案")
    if not in_scope(actor, org_id):
        raise Forbidden("只能为本支部制定和修改整改方案，该组织不在您的管理范围内")


@writes
def create_plan(actor: User, org: Organisation) -> RectificationPlan:
    """Start the organisation's plan for the current campaign (a draft, no items yet)."""
    _require_drafter(actor, org.id)
    if org.type not in PLAN_ORGS:
        raise Invalid({"organisation": "只有党支部、党总支或党委可以制定整改方案"})
    campaign = ensure_campaign()
    if plan_for(org.id, campaign.id) is not None:
        raise Invalid({"organisation": "本次活动中该组织已有整改方案"})
    plan = RectificationPlan(organisation_id=org.id, campaign_id=campaign.id,
                             drafted_by=_name(actor), drafted_on=today(),
                             review_opinion="", return_reason="")
    db.session.add(plan)
    audit.record(actor, "plan.create", plan)
    return plan


def _name(actor: User) -> str:
    return actor.display_name or actor.username


def _checked(data: ItemData, old: PlanItem | None) -> dict:
    """The item's fields, stripped, or Invalid naming each problem in Chinese."""
    errors: dict[str, str] = {}
    values = required_texts(data, TEXTS, errors)
    if data.deadline is None:
        errors["deadline"] = "请填写整改时限"
    elif data.deadline < today() and (old is None or data.deadline != old.deadline):
        errors["deadline"] = "整改时限不能早于今天"
    try:
        values["status"] = ItemStatus(data.status)
    except ValueError:
        errors["status"] = "整改状态无效"
    if errors:
        raise Invalid(errors)
    values["deadline"] = data.deadline
    return values


@writes
def add_item(actor: User, plan: RectificationPlan, data: ItemData) -> PlanItem:
    """Add an item; after approval the addition is listed among the plan's changes."""
    _require_drafter(actor, plan.organisation_id)
    if plan.state is PlanState.SUBMITTED:
        raise Invalid({"plan": "方案正在审批中，不能修改；如需修改请等待先教办退回"})
    values = _checked(data, None)
    source = data.source_round_id if data.source_round_id in _source_rounds(plan) else None
    item = PlanItem(plan=plan, organisation_id=plan.organisation_id,
                    source_round_id=source, **values)
    db.session.add(item)
    audit.record(actor, "plan.item_add", item, problem=item.problem, measures=item.measures,
                 responsible=item.responsible, deadline=item.deadline,
                 status=item.status.value, source_round=item.source_round_id)
    return item


def _source_rounds(plan: RectificationPlan) -> set[int]:
    from evalsvc.services.plan_sources import source_round_ids

    return source_round_ids(plan.organisation_id)


@writes
def update_item(actor: User, item: PlanItem, data: ItemData) -> PlanItem:
    """Change an item (status included); what changed goes to the audit log."""
    _require_drafter(actor, item.organisation_id)
    if item.plan.state is PlanState.SUBMITTED:
        raise Invalid({"plan": "方案正在审批中，不能修改；如需修改请等待先教办退回"})
    values = _checked(data, item)
    changed = {k: v for k, v in values.items() if getattr(item, k) != v}
    for key, value in changed.items():
        setattr(item, key, value)
    if changed:
        audit.record(actor, "plan.item_update", item, **{
            k: getattr(v, "value", v) for k, v in changed.items()})
    return item


@writes
def remove_item(actor: User, item: PlanItem) -> None:
    """Remove an item from a plan not yet approved (an approved item is kept, and its
    status tells what happened to it)."""
    _require_drafter(actor, item.organisation_id)
    if item.plan.state not in EDITABLE:
        raise Invalid({"item": "只有草稿或已退回的方案可以删除整改事项"})
    audit.record(actor, "plan.item_remove", item, problem=item.problem)
    item.plan.items.remove(item)


@writes
def add_note(actor: User, item: PlanItem, text: str) -> ProgressNote:
    """A dated progress note (整改进展) on an item."""
    _require_drafter(actor, item.organisation_id)
    text = text.strip()
    if not text or len(text) > 1000:
        raise Invalid({"text": "整改进展不能为空，且不超过 1000 字"})
    note = ProgressNote(item=item, organisation_id=item.organisation_id, noted_on=today(),
                        text=text, author=_name(actor))
    db.session.add(note)
    audit.record(actor, "plan.note", item, text=text)
    return note


@writes
def submit(actor: User, plan: RectificationPlan) -> RectificationPlan:
    """The secretary sends the plan for review and approval."""
    _require_drafter(actor, plan.organisation_id)
    if plan.state not in EDITABLE:
        raise Invalid({"plan": "只有草稿或已退回的方案可以提交审批"})
    if not plan.items:
        raise Invalid({"plan": "整改方案至少要有一项整改事项"})
    plan.state, plan.submitted_on = PlanState.SUBMITTED, today()
    # A review was of the version returned; this version waits for its own (the earlier
    # opinion stays in the audit log).
    plan.review_opinion, plan.reviewed_by, plan.reviewed_on = "", None, None
    audit.record(actor, "plan.submit", plan, items=len(plan.items))
    return plan


@writes
def review(actor: User, plan: RectificationPlan, opinion: str) -> RectificationPlan:
    """The supervision group's written review (审查): advice, it changes no state."""
    if actor.role is not Role.SUPERVISOR or not in_scope(actor, plan.organisation_id):
        raise OutOfScope("supervisors of this organisation only")
    opinion = opinion.strip()
    if not opinion or len(opinion) > 2000:
        raise Invalid({"review_opinion": "审查意见不能为空，且不超过 2000 字"})
    if plan.state is not PlanState.SUBMITTED:
        raise Invalid({"review_opinion": "只能审查已提交、待审批的整改方案"})
    plan.review_opinion, plan.reviewed_by, plan.reviewed_on = opinion, _name(actor), today()
    audit.record(actor, "plan.review", plan, opinion=opinion)
    return plan


def reviewers(org_id: int) -> list[User]:
    """The active supervisors whose groups oversee the organisation (who review its plan)."""
    supervisors = db.session.scalars(sa.select(User).where(
        User.role == Role.SUPERVISOR, User.active.is_(True))).all()
    return [s for s in supervisors if in_scope(s, org_id)]


@writes
def approve(actor: User, plan: RectificationPlan) -> RectificationPlan:
    """The office approves a submitted plan; it is shown on the public page from now on."""
    require_office(actor)
    if plan.state is not PlanState.SUBMITTED:
        raise Invalid({"plan": "只能批准已提交的整改方案"})
    if not plan.review_opinion and reviewers(plan.organisation_id):
        raise Invalid({"plan": "督导组尚未审查本次提交的整改方案，审查后方可批准"})
    plan.state, plan.decided_by, plan.decided_on = PlanState.APPROVED, _name(actor), today()
    plan.return_reason = ""
    public_pages.ensure_page(plan.organisation_id, plan.campaign_id)
    audit.record(actor, "plan.approve", plan)
    return plan


@writes
def return_plan(actor: User, plan: RectificationPlan, reason: str) -> RectificationPlan:
    """The office sends a submitted plan back to the secretary, saying why."""
    require_office(actor)
    reason = reason.strip()
    if not reason or len(reason) > 2000:
        raise Invalid({"reason": "退回整改方案须写明理由（不超过 2000 字）"})
    if plan.state is not PlanState.SUBMITTED:
        raise Invalid({"plan": "只能退回已提交的整改方案"})
    plan.state, plan.decided_by, plan.decided_on = PlanState.RETURNED, _name(actor), today()
    plan.return_reason = reason
    audit.record(actor, "plan.return", plan, reason=reason)
    return plan


def overdue_items(org_ids: set[int] | None, on: date | None = None) -> list[PlanItem]:
    """回头看: items of approved plans in the current campaign past their deadline and not
    done, for the organisations given (None: all), earliest deadline first. The dashboard
    shows them and the weekly report lists them."""
    return list(db.session.scalars(overdue_items_query(org_ids, on)))


def overdue_items_query(org_ids, on: date | None = None) -> sa.Select:
    """``overdue_items`` as a SELECT (to page or count); ``org_ids`` may be a SELECT of ids."""
    on = on or today()
    campaign = current_campaign()
    query = sa.select(PlanItem).join(RectificationPlan).where(
        RectificationPlan.campaign_id == (campaign.id if campaign else None),
        RectificationPlan.state == PlanState.APPROVED,
        PlanItem.deadline < on, PlanItem.status != ItemStatus.DONE) \
        .options(selectinload(PlanItem.plan).selectinload(RectificationPlan.organisation)) \
        .order_by(PlanItem.deadline, PlanItem.id)
    if org_ids is not None:
        query = query.where(PlanItem.organisation_id.in_(org_ids))
    return query


def approved_items(org_id: int) -> list[PlanItem]:
    """The items of the organisation's approved plan (none without one)."""
    plan = plan_for(org_id)
    return list(plan.items) if plan and plan.state is PlanState.APPROVED else []
