"""One page of a list, with the count of everything the list holds: every staff list of
branches (and of what hangs off them) is read a page at a time, so a province's tens of
thousands of rows never load for one view."""
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from evalsvc.extensions import db

T = TypeVar("T")
MAX_PAGE_SIZE = 200


@dataclass
class Page(Generic[T]):
    """``items`` of page ``number`` (from 1) of ``size``; ``total`` rows in all."""

    items: list[T]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even for an empty list)."""
        return max(1, -(-self.total // self.size))

    @property
    def more(self) -> int:
        """Rows beyond this page's (what a bounded side list leaves for its full list)."""
        return max(0, self.total - (self.number - 1) * self.size - len(self.items))


def count(query: sa.Select) -> int:
    """The number of rows a SELECT returns, counted by the database."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).subquery())) or 0


def page_of(query: sa.Select, number: int, size: int) -> Page:
    """Page ``number`` of an ordered ORM SELECT (clamped to the pages there are): one count
    and one page of rows."""
    size = min(max(1, size), MAX_PAGE_SIZE)
    total = count(query)
    number = min(max(1, number), max(1, -(-total // size)))
    items = list(db.session.scalars(query.limit(size).offset((number - 1) * size)))
    return Page(items, total, number, size)


def page_number(value) -> int:
    """A page number from a query string (anything but a positive whole number is page 1)."""
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def whole(value) -> int | None:
    """A filter's id or number from a query string; None when absent or not a whole number."""
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def choice(enum_type, value):
    """A filter's enum member from a query string; None when absent or unknown."""
    try:
        return enum_type(value) if value else None
    except ValueError:
        return None
