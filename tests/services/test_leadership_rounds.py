"""班子 民主测评: a 党委 or 党总支 may hold opinion and satisfaction rounds about its own
leadership; member review and stage reviews stay with branches."""
import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import GroupCode, Round, RoundState, Stage
from evalsvc.services.errors import Invalid
from tests.helpers import closed_satisfaction_round, new_round


@pytest.mark.parametrize("kind", ["satisfaction", "opinion"])
def test_a_committee_holds_a_leadership_round(app, demo, kind):
    round_, codes = new_round(org_code="XW01", kind=kind, stage=Stage.REVIEW,
                              groups={GroupCode.MASSES: 6})
    assert round_.state is RoundState.OPEN and len(codes) == 6


@pytest.mark.parametrize("kind", ["member_review", "stage_review"])
def test_branch_only_kinds_are_refused_for_a_committee_and_nothing_is_stored(app, demo, kind):
    with pytest.raises(Invalid) as info:
        new_round(org_code="XW01", kind=kind, groups={GroupCode.MEMBER: 6}, open_it=False)
    message = info.value.errors["organisation"]
    assert "只能由党支部开展" in message and "征求意见" in message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0


def test_the_working_committee_holds_no_round(app, demo):
    with pytest.raises(Invalid) as info:
        new_round(org_code="XW", kind="satisfaction", open_it=False)
    assert info.value.errors["organisation"] == "只有党支部、党委或党总支可以开展整改满意度测评"


def test_a_branch_round_still_works(app, demo):
    assert closed_satisfaction_round().state is RoundState.CLOSED
