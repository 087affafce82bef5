"""Who sees what: every staff lookup goes through here."""
from collections.abc import Iterable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from evalsvc.extensions import db
from evalsvc.models import Organisation, OrgType, Role, User
from evalsvc.services.errors import Forbidden, OutOfScope

T = TypeVar("T")
SCOPE_TREE = "scope_tree"
FILTER_PARENTS = 100  # committees and 总支 a filter lists in full  # the CTE name of a supervisor's scope (``visible_ids``)


def visible_org_ids(user: User) -> set[int] | None:
    """Ids of the organisations the user may see; ``None`` means all of them. Reads only
    the supervisor's subtrees; a page filtering by scope uses ``visible_ids`` instead, so
    the ids never travel to Python and back as parameters."""
    if user.role is Role.OFFICE:
        return None
    if user.role is Role.SECRETARY:
        return {user.branch_id} if user.branch_id else set()
    return descendants_of(o.id for o in user.assigned)


def visible_ids(user: User) -> sa.Select | set[int] | None:
    """The user's scope for ``column.in_(...)``: ``None`` means everything (the office), a
    secretary's one branch as a set, a supervisor's subtrees as a SELECT the database
    computes (``subtree``)."""
    if user.role is Role.OFFICE:
        return None
    if user.role is Role.SECRETARY:
        return {user.branch_id} if user.branch_id else set()
    return subtree((o.id for o in user.assigned), SCOPE_TREE)


def descendants_of(roots: Iterable[int]) -> set[int]:
    """The given organisations and everything below them (only that part of the tree is
    read)."""
    return set(db.session.scalars(subtree(roots)))


def subtree(roots: Iterable[int], name: str = "subtree") -> sa.Select:
    """A SELECT of the ids of the given organisations and everything below them.

    The same set as ``descendants_of``, computed by the database (a recursive CTE that
    walks the parent_id index), so a province's tree never travels to Python. UNION, not
    UNION ALL: a cycle in bad data ends the walk instead of looping. ``name`` tells two
    such walks in one statement apart (the user's scope and a chosen committee's branches).
    """
    tree = sa.select(Organisation.id).where(Organisation.id.in_(list(roots))) \
        .cte(name, recursive=True)
    child = aliased(Organisation)
    tree = tree.union(sa.select(child.id).where(child.parent_id == tree.c.id))
    return sa.select(tree.c.id)


def visible_parents(user: User) -> sa.Select | set[int] | None:
    """The organisations above branches in the user's scope, for ``column.in_(...)`` on a
    branch's parent: ``None`` for the office, a supervisor's subtrees walked through 党委
    and 总支 only (a tenth of the rows of ``visible_ids``: never the branches), nothing for
    a secretary. A branch is in scope when its parent is, or when it is assigned itself
    (``assigned_branches``)."""
    if user.role is Role.OFFICE:
        return None
    if user.role is Role.SECRETARY:
        return set()
    roots = [o.id for o in user.assigned if o.type is not OrgType.BRANCH]
    tree = sa.select(Organisation.id).where(Organisation.id.in_(roots)) \
        .cte("scope_parents", recursive=True)
    child = aliased(Organisation)
    tree = tree.union(sa.select(child.id).where(child.parent_id == tree.c.id,
                                                child.type != OrgType.BRANCH))
    return sa.select(tree.c.id)


def assigned_branches(user: User) -> list[int]:
    """The branches assigned to the user themselves (a secretary's; a supervisor's)."""
    if user.role is Role.SECRETARY:
        return [user.branch_id] if user.branch_id else []
    if user.role is Role.SUPERVISOR:
        return [o.id for o in user.assigned if o.type is OrgType.BRANCH]
    return []


def branch_clause(user: User) -> sa.ColumnElement[bool]:
    """The branches in the user's scope, as a WHERE clause on ``Organisation``: by their
    parent (a short walk of the levels above branches) or assigned themselves."""
    parents = visible_parents(user)
    is_branch = Organisation.type == OrgType.BRANCH
    if parents is None:
        return is_branch
    return sa.and_(is_branch, sa.or_(Organisation.parent_id.in_(parents),
                                     Organisation.id.in_(assigned_branches(user))))


def visible_clause(user: User, org_id_column) -> sa.ColumnElement[bool]:
    """``visible_org_ids`` as a WHERE clause on a column of organisation ids."""
    if user.role is Role.OFFICE:
        return sa.true()
    if user.role is Role.SECRETARY:
        return org_id_column == user.branch_id if user.branch_id else sa.false()
    return org_id_column.in_(visible_ids(user))


def orgs_query(user: User) -> sa.Select:
    """A SELECT of the organisations in the user's scope, ordered by code."""
    return sa.select(Organisation).where(visible_clause(user, Organisation.id)) \
        .order_by(Organisation.code)


def in_scope(user: User, org_id: int | None) -> bool:
    """True when the organisation is the user's to see: for a supervisor, when it or one of
    its ancestors is assigned to them (walked up from the organisation, one short recursive
    query, never the whole tree)."""
    if user.role is Role.OFFICE:
        return True
    if org_id is None:
        return False
    if user.role is Role.SECRETARY:
        return org_id == user.branch_id
    assigned = [o.id for o in user.assigned]
    if not assigned:
        return False
    return bool(db.session.scalar(sa.select(
        sa.exists().where(ancestors(org_id).c.id.in_(assigned)))))


def ancestors(org_id: int) -> sa.CTE:
    """A recursive CTE (column ``id``) of the organisation and every organisation above it.
    UNION, not UNION ALL: a cycle in bad data ends the walk."""
    chain = sa.select(Organisation.id, Organisation.parent_id) \
        .where(Organisation.id == org_id).cte("ancestors", recursive=True)
    parent = aliased(Organisation)
    return chain.union(sa.select(parent.id, parent.parent_id)
                       .where(parent.id == chain.c.parent_id))


def get_scoped(user: User, model: type[T], object_id: int) -> T:
    """The ``model`` row with this id, or ``OutOfScope`` when it is missing or belongs to an
    organisation outside the user's scope (an organisation belongs to itself)."""
    obj = db.session.get(model, object_id)
    if obj is None or not in_scope(user, _organisation_of(obj)):
        raise OutOfScope(f"{model.__tablename__} {object_id}")
    return obj


def _organisation_of(obj: object) -> int | None:
    return obj.id if isinstance(obj, Organisation) else obj.organisation_id


def require_office(user: User) -> None:
    """Only the campaign office may do this."""
    if user.role is not Role.OFFICE:
        raise OutOfScope("office only")


def require_writer(user: User, org_id: int) -> None:
    """Office anywhere, a secretary in their branch; supervisors never write."""
    if not in_scope(user, org_id):
        raise OutOfScope(f"organisation {org_id}")
    if user.role is Role.SUPERVISOR:
        raise Forbidden("supervisors advise; they do not change data")


def filter_parents(user: User, chosen_id: int | None = None) -> list[Organisation]:
    """The organisations a list of branches offers to filter by: every 机关工委, 党委 and
    总支 in scope while they are at most ``FILTER_PARENTS`` (a county), else the 机关工委
    and 党委 only (a province has thousands of 总支: one is reached from the organisation
    tree); a supervisor's own organisations, and the one chosen (the caller checked its
    scope)."""
    above = orgs_query(user).where(Organisation.type != OrgType.BRANCH)
    every = list(db.session.scalars(above.limit(FILTER_PARENTS + 1)))
    found = {o.id: o for o in (every if len(every) <= FILTER_PARENTS else db.session.scalars(
        above.where(Organisation.type != OrgType.GENERAL_BRANCH)))}
    extra = [o for o in user.assigned if not o.is_branch] \
        if user.role is Role.SUPERVISOR else []
    if chosen_id is not None:
        extra.append(db.session.get(Organisation, chosen_id))
    found.update((o.id, o) for o in extra if o is not None)
    return sorted(found.values(), key=lambda o: o.code)
