"""Reading the audit log within one's scope (it is never edited)."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Role, User
from evalsvc.services.scope import visible_org_ids


@dataclass(frozen=True)
class AuditFilter:
    """What the reader narrows the log to."""

    action: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None
    organisation_id: int | None = None


def entries_query(user: User, filters: AuditFilter) -> sa.Select:
    """Entries the user may read, newest first. Secretaries read none."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if user.role is Role.SECRETARY:
        return query.where(sa.false())
    ids = visible_org_ids(user)
    if ids is not None:
        query = query.where(AuditEntry.organisation_id.in_(ids))
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action))
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.organisation_id is not None:
        query = query.where(AuditEntry.organisation_id == filters.organisation_id)
    if filters.since:
        query = query.where(AuditEntry.at >= _start(filters.since))
    if filters.until:
        query = query.where(AuditEntry.at < _start(filters.until + timedelta(days=1)))
    return query


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def entries(user: User, filters: AuditFilter, limit: int = 500) -> list[AuditEntry]:
    """The newest matching entries."""
    return list(db.session.scalars(entries_query(user, filters).limit(limit)))


def entry_rows(user: User, filters: AuditFilter):
    """Every matching entry as a row, streamed from the database."""
    for entry in db.session.scalars(entries_query(user, filters).execution_options(
            yield_per=1000)):
        yield (entry.id, entry.at.isoformat(timespec="seconds"), entry.actor, entry.role,
               entry.action, entry.object_type, entry.object_id, entry.organisation_id,
               entry.detail)


AUDIT_HEADER = ("序号", "时间（UTC）", "操作人", "角色", "操作", "对象类型", "对象编号", "组织编号",
                "详情")
