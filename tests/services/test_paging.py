"""Pages of a list: a page number from the URL never makes a statement the database
refuses, however large, even on a list whose count stopped at its cap."""
import sqlalchemy as sa

from evalsvc.models import Organisation
from evalsvc.services import paging


def test_a_huge_page_of_a_capped_list_is_a_page_not_an_overflow(app, demo):
    query = sa.select(Organisation).order_by(Organisation.code)
    number = paging.page_number("9" * 40)
    page = paging.page_of(query, number, 2, cap=3)  # the demo has more than 3 organisations
    assert page.capped and page.items == [] and page.number >= 1


def test_page_numbers_from_the_url():
    assert paging.page_number("-3") == paging.page_number("x") == paging.page_number(None) == 1
    assert paging.page_number("7") == 7
