"""The organisation tree as staff browse it: as many levels as ``TREE_LIMIT`` organisations
allow (a county's whole tree; a province's 市 and 党委), each deeper level opened from its
parent, and a search by code or name, paged. A fixed handful of statements per level,
whatever the number of branches."""
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from evalsvc.extensions import db
from evalsvc.models import Organisation, User
from evalsvc.services import paging, scope

TREE_LIMIT = 200  # organisations shown at once before deeper levels fold away
SEARCH_MAX = 60


@dataclass
class Node:
    """An organisation, the children shown under it, and how many it has in all."""

    org: Organisation
    children: list["Node"] = field(default_factory=list)
    child_count: int = 0

    @property
    def folded(self) -> bool:
        """It has children that are not shown here (opened from its own tree link)."""
        return self.child_count > len(self.children)


def _loaded(query: sa.Select) -> list[Organisation]:
    return list(db.session.scalars(query.options(
        selectinload(Organisation.progress), selectinload(Organisation.batch))
        .order_by(Organisation.code)))


def _visible(user: User, column) -> sa.ColumnElement[bool]:
    """``scope.visible_clause`` a second time in one statement: the same walk of the tree
    under another name."""
    ids = scope.visible_ids(user)
    if ids is None:
        return sa.true()
    if isinstance(ids, set):
        return column.in_(ids)
    return column.in_(scope.subtree((o.id for o in user.assigned), "scope_parents"))


def tree(user: User, root: Organisation | None = None, limit: int = TREE_LIMIT) -> list[Node]:
    """The tree from ``root`` (one the caller checked is in scope), or from the user's
    topmost visible organisations (one whose parent is hidden is a top), level by level
    while the organisations shown stay within ``limit``."""
    if root is not None:
        level = sa.select(Organisation.id).where(Organisation.id == root.id)
    else:
        level = sa.select(Organisation.id).where(
            scope.visible_clause(user, Organisation.id),
            sa.or_(Organisation.parent_id.is_(None), ~_visible(user, Organisation.parent_id)))
    tops = [Node(o) for o in _loaded(
        sa.select(Organisation).where(Organisation.id.in_(level)).limit(limit))]
    nodes = {n.org.id: n for n in tops}
    shown, frontier = len(tops), tops
    while frontier:
        below = sa.select(Organisation.id).where(Organisation.parent_id.in_(level))
        counts = dict(db.session.execute(
            sa.select(Organisation.parent_id, sa.func.count())
            .where(Organisation.parent_id.in_(level)).group_by(Organisation.parent_id)).all())
        for node in frontier:
            node.child_count = counts.get(node.org.id, 0)
        total = sum(counts.values())
        if not total or shown + total > limit:
            break
        frontier = []
        for org in _loaded(sa.select(Organisation).where(Organisation.id.in_(below))):
            node = nodes[org.id] = Node(org)
            nodes[org.parent_id].children.append(node)
            frontier.append(node)
        shown, level = shown + total, below
    return tops


def search_text(value: str | None) -> str:
    """A search as typed: spaces collapsed, at most ``SEARCH_MAX`` characters."""
    return " ".join((value or "").split())[:SEARCH_MAX]


def matches(text: str) -> sa.ColumnElement[bool]:
    """The organisation's code (any case) or name holds ``text`` (``%`` and ``_`` are
    plain characters here)."""
    return sa.or_(sa.func.lower(Organisation.code).contains(text.lower(), autoescape=True),
                  Organisation.name.contains(text, autoescape=True))


def search(user: User, text: str, number: int = 1, size: int = paging.MAX_PAGE_SIZE // 4) \
        -> paging.Page:
    """The organisations in scope whose code or name holds ``text``, by code, a page."""
    query = sa.select(Organisation).where(
        scope.visible_clause(user, Organisation.id), matches(text)) \
        .options(selectinload(Organisation.progress), selectinload(Organisation.batch),
                 selectinload(Organisation.parent)).order_by(Organisation.code)
    return paging.page_of(query, number, size)
