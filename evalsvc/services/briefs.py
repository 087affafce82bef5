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


def briefs_between(start: date, end: date, org_ids=None) -> list[Brief]:
    """Briefs dated in the period, oldest first; with ``org_ids`` (ids, or a SELECT of them:
    ``scope.visible_ids``), those departments' and the supervisors' own."""
    query = sa.select(Brief).where(Brief.brief_date >= start, Brief.brief_date <= end) \
        .order_by(Brief.brief_date, Brief.id)
    if org_ids is not None:
        query = query.where(sa.or_(Brief.organisation_id.in_(org_ids),
                                   Brief.organisation_id.is_(None)))
    return list(db.session.scalars(query))


def visible_briefs(user: User, start: date, end: date) -> list[Brief]:
    """What a user may read: the office everything, a secretary her branch's, a supervisor
    her own and her organisations'."""
    from evalsvc.services.scope import visible_ids

    found = briefs_between(start, end, visible_ids(user))
    if user.role is Role.OFFICE:
        return found
    return [b for b in found if b.organisation_id is not None or b.submitted_by == user.username]


@dataclass(frozen=True)
class Missing:
    """A department or supervisor without a brief in the week."""

    name: str
    kind: str  # 党支部 / 督导组 …


def missing(day: date | None = None, scope=None, limit: int | None = None) -> list[Missing]:
    """Who has not sent a brief in the week holding ``day`` (today by default): each 党委
    and 党总支 (it sends through the office: due whether or not it has an account), by code;
    then, by account name, each branch with an active secretary and (for the office) each
    active supervisor. ``scope``: the organisations counted (``scope.visible_ids``: None for
    all, ids, or a SELECT); ``limit``: the first so many. Two statements, whatever the size
    of the province."""
    leaderships, accounts = _missing_queries(day, scope)
    found = [Missing(name, label(kind)) for name, kind in db.session.execute(
        leaderships.limit(limit))]
    if limit is None or len(found) < limit:
        more = None if limit is None else limit - len(found)
        found += [Missing(name, kind if kind == SUPERVISION else label(OrgType(kind)))
                  for _key, name, kind in db.session.execute(accounts.limit(more))]
    return found


def missing_count(day: date | None = None, scope=None) -> int:
    """How many ``missing`` lists."""
    return sum(db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
               for q in _missing_queries(day, scope))


SUPERVISION = "督导组"


def _missing_queries(day: date | None, scope) -> tuple[sa.Select, sa.Select]:
    """The departments without a brief (name, type), and the accounts: (sort key, name,
    kind) of each branch with an active secretary (its first secretary's name sorts it)
    and, for the office, each supervisor."""
    start, end = week_of(day or today())
    week = sa.and_(Brief.brief_date >= start, Brief.brief_date <= end)
    sent = sa.select(Brief.organisation_id).where(week, Brief.organisation_id.is_not(None))
    leadership = (OrgType.COMMITTEE, OrgType.GENERAL_BRANCH)
    due = [Organisation.id.not_in(sent)]
    if scope is not None:
        due.append(Organisation.id.in_(scope))
    leaderships = sa.select(Organisation.name, Organisation.type).where(
        Organisation.type.in_(leadership), *due).order_by(Organisation.code)
    first = sa.func.min(User.username)
    accounts = sa.select(first.label("key"), sa.func.min(Organisation.name).label("name"),
                         sa.cast(sa.func.min(Organisation.type), sa.String).label("kind")) \
        .join(Organisation, Organisation.id == User.branch_id) \
        .where(User.active.is_(True), User.role == Role.SECRETARY,
               Organisation.type.not_in(leadership), *due).group_by(Organisation.id)
    if scope is None:
        reported = sa.select(Brief.submitted_by).where(week, Brief.organisation_id.is_(None))
        supervisors = sa.select(User.username.label("key"),
                                sa.func.coalesce(sa.func.nullif(User.display_name, ""),
                                                 User.username).label("name"),
                                sa.literal(SUPERVISION).label("kind")) \
            .where(User.active.is_(True), User.role == Role.SUPERVISOR,
                   User.username.not_in(reported))
        accounts = sa.union_all(accounts, supervisors)
    accounts = sa.select(accounts.subquery()).order_by(sa.text("key"))
    return leaderships, accounts
