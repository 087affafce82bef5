"""The phone page stays small: at most 15 KB gzipped, CSS included, for every kind."""
import gzip

import pytest
import sqlalchemy as sa

from evalsvc import PROJECT_ROOT
from evalsvc.extensions import db
from evalsvc.models import Member, MemberStatus, Organisation, Stage
from tests.helpers import new_round

LIMIT = 15 * 1024
CSS = (PROJECT_ROOT / "static" / "phone.css").read_bytes()


def _largest_branch() -> str:
    rows = db.session.execute(
        sa.select(Organisation.code, sa.func.count(Member.id)).join(Member)
        .where(Member.status == MemberStatus.FULL).group_by(Organisation.code)
        .order_by(sa.func.count(Member.id).desc())).all()
    return rows[0][0]


@pytest.mark.parametrize("kind, stage", [("satisfaction", Stage.REVIEW),
                                         ("member_review", Stage.REVIEW),
                                         ("opinion", Stage.REVIEW),
                                         ("stage_review", Stage.REVIEW)])
def test_phone_page_with_css_is_at_most_15_kb_gzipped(client, demo, kind, stage):
    round_, cards = new_round(org_code=_largest_branch(), kind=kind, stage=stage)
    page = client.get(f"/C/{cards[0]}").data
    assert b"phone.css" in page
    weight = len(gzip.compress(page, 9)) + len(gzip.compress(CSS, 9))
    assert weight <= LIMIT, f"{kind}: {weight} bytes gzipped"
