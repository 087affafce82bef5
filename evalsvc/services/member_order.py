"""The order members are listed in, on ballots and pages: the branch's order number (排序)
first, then members without one in 姓氏笔画 order (see ``evalsvc.strokes``)."""
from collections.abc import Iterable
from typing import Protocol, TypeVar

from evalsvc.strokes import stroke_key


class Listed(Protocol):
    """Anything with a member's id, name and order number."""

    id: int
    name: str
    sort_order: int | None


M = TypeVar("M", bound=Listed)


def member_key(sort_order: int | None, name: str, member_id: int) -> tuple:
    """Numbered members by number, then the rest by strokes; ties by record id."""
    return (sort_order is None, sort_order or 0, stroke_key(name), member_id)


def in_branch_order(members: Iterable[M]) -> list[M]:
    """The members sorted as a ballot lists them."""
    return sorted(members, key=lambda m: member_key(m.sort_order, m.name, m.id))
