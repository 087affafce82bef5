"""信息简报: each department (a branch through its secretary; a 党委 or 总支 through the
office) and each supervisor sends at least one brief a week. The week ends on a set day
(``BRIEF_WEEK_ENDS``, Thursday by default), when the supervision group reports."""
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.glossary import label
from evalsvc.models import Brief, Organisation, OrgType, Role, User
from evalsvc.services import audit
from evalsvc.services.errors import Invalid, required_texts
from evalsvc.services.scope import in_scope
from evalsvc.services.today import today

LIMITS = {"title": ("标题", 200), "text": ("正文", 10_000), "author": ("撰稿人", 60)}
DEPARTMENTS = (OrgType.BRANCH, OrgType.COMMITTEE, OrgType.GENERAL_BRANCH)


@dataclass(frozen=True)
class BriefData:
    """A brief as the form gives it."""

    title: str
    text: str
    brief_date: date | None
    author: str
    organisation_id: int | None = None


def week_of(day: date) -> tuple[date, date]:
    """The brief week holding ``day``: the seven days up to the next week-end day."""
    ends = int(current_app.config.get("BRIEF_WEEK_ENDS", 3)) % 7
    end = day + timedelta(days=(ends - day.weekday()) % 7)
    return end - timedelta(days=6), end


def _department(actor: User, organisation_id: int | None) -> int | None:
    """Whom the brief is from, or Invalid when the account may not send it for them."""
    if actor.role is Role.SUPERVISOR:
        if organisation_id is not None:
            raise Invalid({"organisation_id": "督导组以督导组名义报送简报，不能代其他单位报送"})
        return None
    if actor.role is Role.SECRETARY:
        if organisation_id not in (None, actor.branch_id):
            raise Invalid({"organisation_id": "只能以本支部名义报送信息简报"})
        return actor.branch_id
    org = db.session.get(Organisation, organisation_id) if organisation_id else None
    if org is None or org.type not in DEPARTMENTS or not in_scope(actor, org.id):
        raise Invalid({"organisation_id": "请选择报送简报的党委、党总支或党支部"})
    return org.id


@writes
def submit(actor: User, data: BriefData) -> Brief:
    """Store a brief; every rule broken is named in Chinese and nothing is stored."""
    errors: dict[str, str] = {}
    values = required_texts(data, LIMITS, errors)
    if data.brief_date is None:
        errors["brief_date"] = "请填写简报日期"
    elif data.brief_date > today():
        errors["brief_date"] = "简报日期不能晚于今天"
    elif data.brief_date < week_of(today())[0]:
        # A past week's count of who sent is closed: a late brief is this week's.
        errors["brief_date"] = (f"简报日期不能早于本周（{week_of(today())[0].isoformat()} 起），"
                                "往周的报送已经截止")
    try:
        organisation_id = _department(actor, data.organisation_id)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    brief = Brief(organisation_id=organisation_id, submitted_by=actor.username,
                  submitter_role=actor.role.value, brief_date=data.brief_date, **values)
    db.session.add(brief)
    audit.record(actor, "brief.submit", brief, title=brief.title, date=brief.brief_date)
    return brief


def briefs_between(start: date, end: date, org_ids: set[int] | None = None) -> list[Brief]:
    """Briefs dated in the period, oldest first; with ``org_ids``, those departments' and
    the supervisors' own."""
    query = sa.select(Brief).where(Brief.brief_date >= start, Brief.brief_date <= end) \
        .order_by(Brief.brief_date, Brief.id)
    if org_ids is not None:
        query = query.where(sa.or_(Brief.organisation_id.in_(org_ids),
                                   Brief.organisation_id.is_(None)))
    return list(db.session.scalars(query))


def visible_briefs(user: User, start: date, end: date) -> list[Brief]:
    """What a user may read: the office everything, a secretary her branch's, a supervisor
    her own and her organisations'."""
    from evalsvc.services.scope import visible_org_ids

    found = briefs_between(start, end, visible_org_ids(user))
    if user.role is Role.OFFICE:
        return found
    return [b for b in found if b.organisation_id is not None or b.submitted_by == user.username]


@dataclass(frozen=True)
class Missing:
    """A department or supervisor without a brief in the week."""

    name: str
    kind: str  # 党支部 / 督导组 …


def missing(day: date | None = None, org_ids: set[int] | None = None) -> list[Missing]:
    """Who has not sent a brief in the week holding ``day`` (today by default): each
    organisation that has an active secretary, and each active supervisor."""
    start, end = week_of(day or today())
    sent = briefs_between(start, end)
    sent_orgs = {b.organisation_id for b in sent if b.organisation_id is not None}
    sent_supervisors = {b.submitted_by for b in sent if b.organisation_id is None}
    users = db.session.scalars(sa.select(User).where(User.active.is_(True),
                               User.role.in_((Role.SECRETARY, Role.SUPERVISOR)))
                               .order_by(User.username)).all()
    found: list[Missing] = []
    seen: set[int] = set()
    # A 党委 or 党总支 sends through the office: it is due whether or not it has an account.
    leaderships = db.session.scalars(sa.select(Organisation).where(
        Organisation.type.in_((OrgType.COMMITTEE, OrgType.GENERAL_BRANCH)))
        .order_by(Organisation.code)).all()
    for org in leaderships:
        if org.id not in sent_orgs and (org_ids is None or org.id in org_ids):
            seen.add(org.id)
            found.append(Missing(org.name, label(org.type)))
    for user in users:
        if user.role is Role.SUPERVISOR:
            if user.username not in sent_supervisors and org_ids is None:
                found.append(Missing(user.display_name or user.username, "督导组"))
        elif user.branch_id not in sent_orgs | seen and \
                (org_ids is None or user.branch_id in org_ids):
            seen.add(user.branch_id)
            found.append(Missing(user.branch.name, label(user.branch.type)))
    return found
