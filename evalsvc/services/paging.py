"""One page of a list, with the count of everything the list holds: every staff list of
branches (and of what hangs off them) is read a page at a time, so a province's tens of
thousands of rows never load for one view."""
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from evalsvc.extensions import db

T = TypeVar("T")
MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000  # past a capped count a page number is not clamped to the pages
#                      there are: this bounds its OFFSET (a URL's page=10**30 overflows it)


@dataclass
class Page(Generic[T]):
    """``items`` of page ``number`` (from 1) of ``size``; ``total`` rows in all."""

    items: list[T]
    total: int
    number: int
    size: int
    capped: bool = False  # there are more than ``total``: counting stopped there

    @property
    def total_text(self) -> str:
        """The count as a page shows it: 1000, or 1000+ when counting stopped there."""
        return f"{self.total}+" if self.capped else str(self.total)

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even for an empty list); past a capped
        count, at least one more than this one while it is full."""
        pages = max(1, -(-self.total // self.size))
        if self.capped and len(self.items) == self.size:
            pages = max(pages, self.number + 1)
        return max(pages, self.number) if self.capped else pages

    @property
    def more(self) -> int:
        """Rows beyond this page's (what a bounded side list leaves for its full list)."""
        left = max(0, self.total - (self.number - 1) * self.size - len(self.items))
        return max(1, left) if self.capped else left


def count(query: sa.Select, cap: int | None = None) -> int:
    """The number of rows a SELECT of one entity returns (its joins are to-one), counted by
    the database without reading the rows' columns; with ``cap``, counting stops after
    ``cap`` + 1 rows (a list whose rows are a large share of a big table is not scanned
    whole to say "more than ``cap``")."""
    if cap is None:
        return db.session.scalar(query.with_only_columns(
            sa.func.count(), maintain_column_froms=True).order_by(None)) or 0
    first = query.with_only_columns(sa.literal(1), maintain_column_froms=True) \
        .order_by(None).limit(cap + 1).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(first)) or 0


def page_of(query: sa.Select, number: int, size: int, cap: int | None = None) -> Page:
    """Page ``number`` of an ordered ORM SELECT (clamped to the pages there are): one count
    (stopping past ``cap`` rows when given) and one page of rows."""
    size = min(max(1, size), MAX_PAGE_SIZE)
    total = count(query, cap)
    capped = cap is not None and total > cap
    if capped:
        total = cap
    else:
        number = min(max(1, number), max(1, -(-total // size)))
    number = min(number, MAX_PAGE)
    items = list(db.session.scalars(query.limit(size).offset((max(1, number) - 1) * size)))
    return Page(items, total, max(1, number), size, capped)


def page_number(value) -> int:
    """A page number from a query string (anything but a positive whole number is page 1)."""
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def whole(value) -> int | None:
    """A filter's id or number from a query string, or from a job's JSON parameters (an
    int); None when absent or not a plain whole number of at most nine ASCII digits (``²``
    is a digit to ``str.isdigit`` but not to ``int``)."""
    text = "" if value is None else str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def choice(enum_type, value):
    """A filter's enum member from a query string; None when absent or unknown."""
    try:
        return enum_type(value) if value else None
    except ValueError:
        return None
