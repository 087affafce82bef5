"""Rounds: the rules of creation, the frozen questions, cards stored only as hashes."""
import json

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Card, GroupCode, Member, MemberStatus, RoundState, Stage
from evalsvc.services import closing, codes, rounds
from evalsvc.services.errors import Invalid
from tests.helpers import new_round, org_id


def test_cards_are_stored_only_as_hashes(app, demo):
    round_, card_list = new_round(groups={GroupCode.MEMBER: 4, GroupCode.MASSES: 2})
    stored = db.session.scalars(sa.select(Card.code_hash).where(Card.round_id == round_.id)).all()
    assert len(stored) == 6 == len(set(card_list))
    assert sorted(stored) == sorted(codes.hash_code(c) for c in card_list)
    for code in card_list:
        assert len(code) == 12 and codes.normalise_code(code) == code  # short codes


def test_card_order_is_fresh_each_time(app, demo):
    round_, _ = new_round(groups={GroupCode.MASSES: 30})
    orders = {tuple(c for _, c in rounds.card_codes(round_)) for _ in range(3)}
    assert len(orders) > 1


def test_card_url_is_short_uppercase_for_a_compact_qr():
    url = codes.card_url("http://pj.example.gov.cn", "A" * 26)
    assert url == "HTTP://PJ.EXAMPLE.GOV.CN/C/" + "A" * 26
    assert codes.card_url("https://x.cn/pingyi/", "B" * 26) == "https://x.cn/pingyi/c/" + "B" * 26


@pytest.mark.parametrize("change, field", [
    ({"kind": "ballet"}, "kind"),
    ({"definition_name": "stage_review_rectify", "kind": "stage_review"}, "definition_name"),
    ({"groups": {GroupCode.MASSES: 0}}, "groups"),
    ({"groups": {GroupCode.MASSES: 5001}}, "groups"),
    ({"poster": True, "poster_cap": 0}, "poster_cap"),
    ({"title": "长" * 201}, "title"),
])
def test_bad_rounds_are_refused_with_the_field_named(app, demo, change, field):
    data = {"organisation_id": org_id("XW0101"), "kind": "satisfaction", "stage": Stage.STUDY,
            "groups": {GroupCode.MASSES: 3}, **change}
    with pytest.raises(Invalid) as info:
        rounds.create_round(None, rounds.RoundData(**data))
    assert field in info.value.errors
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Card)) == 0


def test_only_branches_run_branch_rounds(app, demo):
    # A 党委 may hold 班子 rounds (tests/services/test_leadership_rounds.py), not these.
    with pytest.raises(Invalid) as info:
        rounds.create_round(None, rounds.RoundData(org_id("XW01"), "stage_review",
                                                   Stage.STUDY, {GroupCode.MASSES: 3}))
    assert "organisation" in info.value.errors
    with pytest.raises(Invalid) as info:
        rounds.create_round(None, rounds.RoundData(org_id("XW"), "satisfaction", Stage.STUDY,
                                                   {GroupCode.MASSES: 3}))
    assert "organisation" in info.value.errors


def test_stage_review_picks_its_stages_definition_and_attempts_count_up(app, demo):
    first, _ = new_round(kind="stage_review", stage=Stage.STUDY, open_it=False)
    second, _ = new_round(kind="stage_review", stage=Stage.STUDY, open_it=False)
    assert first.definition_name == "stage_review_study"
    assert (first.attempt, second.attempt) == (1, 2)
    assert "学习动员阶段转段测评表" in first.title


def test_member_list_is_frozen_at_open_without_probationary_members(app, demo):
    round_, _ = new_round(kind="member_review")
    frozen = json.loads(round_.layout_json)
    names = {q["text"] for q in frozen if q["type"] == "choice"}
    members = db.session.scalars(sa.select(Member).where(
        Member.organisation_id == round_.organisation_id)).all()
    assert names == {m.name for m in members if m.status is MemberStatus.FULL}
    # A member added after opening does not appear on the ballot.
    db.session.add(Member(organisation_id=round_.organisation_id, name="后来者"))
    db.session.commit()
    assert "后来者" not in {q.text for q in rounds.layout(round_)}


def test_lifecycle_is_draft_open_closed_and_audited(app, demo):
    round_, _ = new_round(open_it=False)
    assert round_.state is RoundState.DRAFT
    with pytest.raises(Invalid):
        closing.close_round(None, round_)
    rounds.open_round(None, round_)
    with pytest.raises(Invalid):
        rounds.open_round(None, round_)
    closing.close_round(None, round_)
    assert round_.state is RoundState.CLOSED and round_.closed_on is not None
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "round")).all()
    assert actions == ["round.create", "round.open", "round.close"]


def test_member_review_needs_full_members(app, demo):
    branch = org_id("XW0102")
    for member in db.session.scalars(sa.select(Member).where(Member.organisation_id == branch)):
        member.active = False
    db.session.commit()
    round_, _ = new_round(org_code="XW0102", kind="member_review", open_it=False)
    with pytest.raises(Invalid) as info:
        rounds.open_round(None, round_)
    assert "members" in info.value.errors
