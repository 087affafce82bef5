"""Reading the audit log within one's scope (it is never edited)."""
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Organisation, Role, User
from evalsvc.services.audit_words import (
    action_label, actions_named, describe, display_names, object_label, person, role_label,
)
from evalsvc.services.scope import visible_org_ids
from evalsvc.services.today import local_time, utc_start

PAGE_SIZE = 100


@dataclass(frozen=True)
class AuditFilter:
    """What the reader narrows the log to: an action's Chinese name (or code), a person
    (display name or username), a branch (name or code), local dates."""

    action: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None
    organisation_id: int | None = None
    branch: str = ""


@dataclass(frozen=True)
class EntryView:
    """One entry as staff read it."""

    id: int
    at: str
    person: str
    role: str
    action: str
    subject: str
    organisation: str
    detail: str


def entries_query(user: User, filters: AuditFilter) -> sa.Select:
    """Entries the user may read, newest first. Secretaries read none."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if user.role is Role.SECRETARY:
        return query.where(sa.false())
    ids = visible_org_ids(user)
    if ids is not None:
        query = query.where(AuditEntry.organisation_id.in_(ids))
    if filters.action:
        query = query.where(AuditEntry.action.in_(actions_named(filters.action))
                            | AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.actor:
        usernames = [u for u, name in display_names().items() if filters.actor in name]
        query = query.where(AuditEntry.actor.in_([filters.actor, *usernames]))
    if filters.organisation_id is not None:
        query = query.where(AuditEntry.organisation_id == filters.organisation_id)
    if filters.branch:
        orgs = sa.select(Organisation.id).where(
            Organisation.name.contains(filters.branch, autoescape=True)
            | (Organisation.code == filters.branch))
        query = query.where(AuditEntry.organisation_id.in_(orgs))
    if filters.since:
        query = query.where(AuditEntry.at >= utc_start(filters.since))
    if filters.until:
        query = query.where(AuditEntry.at < utc_start(filters.until + timedelta(days=1)))
    return query


def page(user: User, filters: AuditFilter, number: int = 1,
         size: int = PAGE_SIZE) -> tuple[list[EntryView], int]:
    """One page of matching entries as staff read them, and the number of pages."""
    query = entries_query(user, filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    rows = list(db.session.scalars(query.offset((number - 1) * size).limit(size)))
    names = _org_names({e.organisation_id for e in rows})
    return [view(e, names) for e in rows], pages


def _org_names(ids) -> dict[int, str]:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Organisation.id, Organisation.name)
                                   .where(Organisation.id.in_(ids))).all())


def view(entry: AuditEntry, org_names: dict[int, str]) -> EntryView:
    """An entry in words."""
    return EntryView(entry.id, local_time(entry.at), person(entry.actor), role_label(entry.role),
                     action_label(entry.action), object_label(entry.object_type, entry.object_id),
                     org_names.get(entry.organisation_id, ""), describe(entry.detail))


def entry_rows(user: User, filters: AuditFilter):
    """Every matching entry as a row, streamed from the database."""
    names: dict[int, str] = {}
    for entry in db.session.scalars(entries_query(user, filters).execution_options(
            yield_per=1000)):
        if entry.organisation_id is not None and entry.organisation_id not in names:
            names.update(_org_names([entry.organisation_id]))
        v = view(entry, names)
        yield (entry.id, v.at, v.person, v.role, v.action, entry.action, v.subject,
               v.organisation, v.detail)


AUDIT_HEADER = ("序号", "时间（北京时间）", "操作人", "角色", "操作", "操作代码", "对象", "所属组织",
                "详情")
