"""A 整改方案's changes after approval, as its staff page and its public page list them:
read back from the audit log, where every change is recorded."""
import json
from datetime import date, timezone

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import AuditEntry, ItemStatus, PlanState, RectificationPlan
from evalsvc.services.today import now

# What the change list says of each audited action on a plan (shown after approval).
CHANGE_WORDS = {
    "plan.approve": "方案经先教办批准", "plan.item_add": "新增整改事项",
    "plan.item_update": "修改整改事项", "plan.item_remove": "删除整改事项",
    "plan.note": "登记整改进展",
}


def changes(plan: RectificationPlan) -> list[tuple[date, str]]:
    """The plan's changes since its approval, oldest first: (day, what). Items are named
    by their number in the plan, as the public page shows them."""
    if plan.state is not PlanState.APPROVED:
        return []
    approved = db.session.scalar(sa.select(sa.func.max(AuditEntry.id)).where(
        AuditEntry.action == "plan.approve", AuditEntry.object_id == str(plan.id)))
    if approved is None:
        return []
    numbers = {str(item.id): n for n, item in enumerate(plan.items, 1)}
    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.id >= approved, AuditEntry.organisation_id == plan.organisation_id,
        AuditEntry.action.in_(CHANGE_WORDS)).order_by(AuditEntry.id)).all()
    return [(_local_day(e.at), _change_text(e, numbers)) for e in entries
            if (e.object_type == "rectificationplan" and e.object_id == str(plan.id))
            or e.object_id in numbers or e.action == "plan.item_remove"]


def _local_day(at) -> date:
    """The day of an audit time where the campaign runs (SQLite hands back naive UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(
        now().tzinfo).date()


def _change_text(entry: AuditEntry, numbers: dict[str, int]) -> str:
    detail = json.loads(entry.detail or "{}")
    words = CHANGE_WORDS[entry.action]
    if entry.action == "plan.approve":
        return words
    if entry.action == "plan.item_remove":
        return f"{words}：{detail.get('problem', '')}"
    which = f"第 {numbers[entry.object_id]} 项"
    if entry.action == "plan.item_update" and "status" in detail:
        return f"{words}（{which}：状态改为{_status_label(detail['status'])}）"
    return f"{words}（{which}）"


def _status_label(value: str) -> str:
    return label(ItemStatus(value))
