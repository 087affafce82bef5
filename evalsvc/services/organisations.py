"""Creating and editing organisations and their members."""
import re
from dataclasses import dataclass

import sqlalchemy as sa

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import (
    Batch, Member, MemberStatus, Organisation, OrgType, Stage, StageProgress, Unit, User,
)
from evalsvc.services import audit
from evalsvc.services.campaigns import current_campaign
from evalsvc.services.errors import Invalid
from evalsvc.services.scope import descendants_of, require_office, require_writer

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
LEVEL = {t: i for i, t in enumerate(OrgType)}


@dataclass(frozen=True)
class OrgData:
    """What a form or an import row says about an organisation."""

    code: str
    name: str
    type: OrgType
    unit: str = ""
    parent_id: int | None = None
    batch_id: int | None = None


def check_org(data: OrgData, existing: Organisation | None = None,
              new_units: bool = False) -> dict[str, str]:
    """Every rule an organisation must meet; returns field → message (empty when valid).
    A unit is picked from the list; only an import (``new_units``) may add one."""
    errors: dict[str, str] = {}
    if data.unit and not new_units and unit_named(data.unit) is None:
        errors["unit"] = f"单位“{data.unit}”不在单位列表中（新单位请通过组织导入添加）"
    if not CODE_PATTERN.match(data.code):
        errors["code"] = "编码须为 1–32 位字母、数字、点、横线或下划线"
    elif _code_taken(data.code, existing):
        errors["code"] = f"编码 {data.code} 已被使用"
    if not data.name.strip() or len(data.name) > 120:
        errors["name"] = "名称不能为空，且不超过 120 字"
    if len(data.unit) > 120:
        errors["unit"] = "单位名称不超过 120 字"
    if data.batch_id is not None and db.session.get(Batch, data.batch_id) is None:
        errors["batch_id"] = "批次不存在"
    parent_error = _check_parent(data, existing)
    if parent_error:
        errors["parent_id"] = parent_error
    if existing is not None and _child_not_below(existing, data.type):
        errors["type"] = "下级组织的层级必须低于本组织"
    return errors


def _child_not_below(org: Organisation, new_type: OrgType) -> bool:
    """Whether a child of ``org`` would not be below it once it has ``new_type`` (a 总支
    retyped 党支部 above its branches: scope and the report's kept totals walk the levels
    above branches only)."""
    kinds = db.session.scalars(sa.select(Organisation.type).where(
        Organisation.parent_id == org.id).distinct())
    return any(LEVEL[kind] <= LEVEL[new_type] for kind in kinds)


def _code_taken(code: str, existing: Organisation | None) -> bool:
    query = sa.select(Organisation.id).where(Organisation.code == code)
    if existing is not None:
        query = query.where(Organisation.id != existing.id)
    return db.session.scalar(query) is not None


def _check_parent(data: OrgData, existing: Organisation | None) -> str | None:
    if data.parent_id is None:
        return "党支部必须有上级组织" if data.type is OrgType.BRANCH else None
    parent = db.session.get(Organisation, data.parent_id)
    if parent is None:
        return "上级组织不存在"
    if LEVEL[parent.type] >= LEVEL[data.type]:
        return "上级组织的层级必须高于本组织"
    if existing is not None and parent.id in descendants_of([existing.id]):
        return "上级组织不能是本组织或其下级"
    return None


@writes
def create_org(actor: User | None, data: OrgData) -> Organisation:
    """Add an organisation with its three stages not started; office only."""
    if actor is not None:
        require_office(actor)
    errors = check_org(data)
    if errors:
        raise Invalid(errors)
    org = build_org(actor, data, "org.create")
    return org


def unit_named(name: str) -> Unit | None:
    """The unit record with this name."""
    return db.session.scalar(sa.select(Unit).where(Unit.name == name))


def units() -> list[Unit]:
    """Every unit, by name (the list the org form offers)."""
    return list(db.session.scalars(sa.select(Unit).order_by(Unit.name)))


def _link_unit(org: Organisation, name: str) -> None:
    """Point the organisation at its unit record, adding the record if it is new."""
    unit = None
    if name:
        unit = unit_named(name)
        if unit is None:
            unit = Unit(name=name)
            db.session.add(unit)
    org.unit, org.unit_record = name, unit


def build_org(actor: User | None, data: OrgData, action: str) -> Organisation:
    """Add a checked organisation, its three stages not started in the current campaign,
    to the session (no commit)."""
    org = Organisation(**{k: v for k, v in data.__dict__.items() if k != "unit"})
    db.session.add(org)
    with db.session.no_autoflush:
        _link_unit(org, data.unit.strip())
    campaign = current_campaign()
    if campaign is not None:
        org.progress = [StageProgress(stage=s, campaign_id=campaign.id) for s in Stage]
    audit.record(actor, action, org, code=org.code)
    return org


@writes
def update_org(actor: User, org: Organisation, data: OrgData) -> Organisation:
    """Change an organisation's fields; office only."""
    require_office(actor)
    errors = check_org(data, org)
    if org.members and data.type is not OrgType.BRANCH:
        errors["type"] = "已有党员的组织只能是党支部"
    if errors:
        raise Invalid(errors)
    before = {k: getattr(org, k) for k in data.__dict__}
    for key, value in data.__dict__.items():
        if key != "unit":
            setattr(org, key, value)
    _link_unit(org, data.unit.strip())
    audit.record(actor, "org.update", org, before=before)
    return org


def check_member(name: str, org: Organisation, existing: Member | None = None,
                 active: bool = True) -> dict[str, str]:
    """Rules for a member record. Two active members of one branch may not share a name: a
    ballot lists members by name (the member import applies the same rule)."""
    errors = {}
    if not name.strip() or len(name) > 60:
        errors["name"] = "姓名不能为空，且不超过 60 字"
    elif active and any(m.active and m.name == name.strip() and m is not existing
                        for m in org.members):
        errors["name"] = (f"{name.strip()} 已是本支部的在册党员，同一支部不能重名"
                          "（可加区分，如 张伟（大））")
    if org.type is not OrgType.BRANCH:
        errors["organisation"] = "党员只能属于党支部"
    return errors


@writes
def add_member(
    actor: User | None, org: Organisation, name: str, status: MemberStatus,
    sort_order: int | None = None,
) -> Member:
    """Add a member to a branch: office, or the branch's own secretary."""
    if actor is not None:
        require_writer(actor, org.id)
    errors = check_member(name, org)
    if errors:
        raise Invalid(errors)
    member = Member(organisation=org, name=name.strip(), status=status, sort_order=sort_order)
    db.session.add(member)
    audit.record(actor, "member.create", member, name=member.name)
    return member


@writes
def update_member(
    actor: User, member: Member, name: str, status: MemberStatus, active: bool,
    sort_order: int | None = None,
) -> Member:
    """Edit a member; deactivating keeps the record (past rounds refer to it)."""
    require_writer(actor, member.organisation_id)
    errors = check_member(name, member.organisation, member, active)
    if errors:
        raise Invalid(errors)
    before = {"name": member.name, "status": member.status.value, "active": member.active,
              "sort_order": member.sort_order}
    member.name, member.status, member.active = name.strip(), status, active
    member.sort_order = sort_order
    audit.record(actor, "member.update", member, before=before)
    return member
