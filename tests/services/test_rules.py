"""The rules end to end: the stage gate, 补课 and a second attempt, yellow cards and
collective admonishment, and who may review and decide, with real staff accounts."""
import secrets
from datetime import date

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import (
    AuditEntry, Decision, Flag, FlagKind, GroupCode, Organisation, Round, RoundState, Stage,
    StageProgress, StageState, Transition, TransitionState, User,
)
from evalsvc.services import closing, dashboard, flags, rounds, stages
from evalsvc.services.ballots import cast_card_ballot
from evalsvc.services.errors import Forbidden, Invalid, OutOfScope
from tests.helpers import new_round

POSITIVE = ("satisfied", "fairly", "basic")


# -- helpers -------------------------------------------------------------------------------

def user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def org(code: str) -> Organisation:
    return db.session.scalar(sa.select(Organisation).where(Organisation.code == code))


def state_of(code: str, stage: Stage) -> StageState | None:
    return db.session.scalar(sa.select(StageProgress.state).where(
        StageProgress.organisation_id == org(code).id, StageProgress.stage == stage))


def create(actor, code, kind, stage, cards=10):
    """A draft round created by ``actor``, with cards for one group."""
    group = GroupCode.MEMBER if kind == "member_review" else GroupCode.MASSES
    round_ = rounds.create_round(actor, rounds.RoundData(org(code).id, kind, stage,
                                                         {group: cards}))
    return round_, [c for _g, c in rounds.card_codes(round_)]


def run_round(actor, code, kind, stage, positive=8, negative=2, confirm_pass=True):
    """Create, open, vote and close a round; ``positive`` of the ballots rate it well.
    A proposed pass is confirmed by the office unless ``confirm_pass`` is False."""
    round_, card_codes = create(actor, code, kind, stage, positive + negative)
    rounds.open_round(actor, round_)
    vote(round_, card_codes, positive, negative)
    closing.close_round(actor, round_)
    if confirm_pass and round_.passed is True:
        flags.confirm_passes(user("office"), [round_.id])
    return round_


def vote(round_, card_codes, positive, negative):
    layout = [q for q in rounds.layout(round_) if q.type == "choice"]
    answers = [POSITIVE[i % 3] for i in range(positive)] + ["dissatisfied"] * negative
    for code, answer in zip(card_codes, answers):
        if round_.kind == "member_review":
            rows = [(q.key, "qualified", "") for q in layout]
        else:
            rows = [(q.key, answer if q.rated else "satisfied", "") for q in layout]
        cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), rows)


def only_flag(kind: FlagKind, **where) -> Flag:
    query = sa.select(Flag).where(Flag.kind == kind)
    for name, value in where.items():
        query = query.where(getattr(Flag, name) == value)
    found = list(db.session.scalars(query))
    assert len(found) == 1, found
    return found[0]


def flag_count(kind: FlagKind) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Flag)
                             .where(Flag.kind == kind))


def yellow_card_for(code: str) -> Flag:
    """A confirmed 补课 in the review stage, which proposes a yellow card for the branch."""
    office = user("office")
    round_ = run_round(None, code, "stage_review", Stage.REVIEW, positive=1, negative=4)
    flags.confirm_verdict(office, round_)
    return only_flag(FlagKind.YELLOW_CARD, organisation_id=org(code).id)


def audit_trail(org_id: int) -> list[tuple[str, str]]:
    return [(a, who) for a, who in db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.actor)
        .where(AuditEntry.organisation_id == org_id).order_by(AuditEntry.id))]


def is_subsequence(expected, actual) -> bool:
    remaining = iter(actual)
    return all(any(step == seen for seen in remaining) for step in expected)


def pass_review_rounds(actor, code="XW0101"):
    run_round(actor, code, "member_review", Stage.REVIEW, positive=6, negative=0)
    run_round(actor, code, "stage_review", Stage.REVIEW, positive=8, negative=2)


# -- the stage gate ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["satisfaction", "stage_review", "opinion"])
def test_rectify_round_cannot_open_before_review_is_approved(app, demo, kind):
    round_, _ = new_round(kind=kind, stage=Stage.RECTIFY, open_it=False)
    with pytest.raises(Invalid) as info:
        rounds.open_round(user("secretary"), round_)
    assert set(info.value.errors) == {"stage"}
    assert "分析评议" in info.value.errors["stage"]
    db.session.rollback()
    assert db.session.get(Round, round_.id).state is RoundState.DRAFT
    assert state_of("XW0101", Stage.RECTIFY) is StageState.NOT_STARTED


def test_round_of_a_passed_stage_cannot_open(app, demo):
    round_, _ = new_round(kind="stage_review", stage=Stage.STUDY, open_it=False)
    with pytest.raises(Invalid) as info:
        rounds.open_round(None, round_)
    assert "stage" in info.value.errors


def test_transition_request_lists_what_the_stage_still_lacks(app, demo):
    secretary = user("secretary")
    branch = org("XW0101")
    with pytest.raises(Invalid) as info:
        stages.apply(secretary, branch)
    message = info.value.errors["stage"]
    assert "尚无已结束的民主评议党员" in message and "尚无已结束的转段测评" in message
    db.session.rollback()

    run_round(secretary, "XW0101", "member_review", Stage.REVIEW, positive=6, negative=0)
    open_round, _ = create(secretary, "XW0101", "stage_review", Stage.REVIEW)
    rounds.open_round(secretary, open_round)  # open rounds do not count
    with pytest.raises(Invalid) as info:
        stages.apply(secretary, org("XW0101"))
    assert info.value.errors["stage"] == "转段测评（第1次）尚未结束"
    db.session.rollback()

    cards = [c for _g, c in rounds.card_codes(open_round)]
    vote(open_round, cards, positive=4, negative=6)
    closing.close_round(secretary, open_round)
    with pytest.raises(Invalid) as info:
        stages.apply(secretary, org("XW0101"))
    assert info.value.errors["stage"] == "转段测评（第1次）未通过或未判定"
    db.session.rollback()

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transition)) == 0
    assert state_of("XW0101", Stage.REVIEW) is StageState.IN_PROGRESS


def test_undecidable_stage_review_does_not_open_the_gate(app, demo):
    secretary = user("secretary")
    run_round(secretary, "XW0101", "member_review", Stage.REVIEW, positive=6, negative=0)
    run_round(secretary, "XW0101", "stage_review", Stage.REVIEW, positive=4, negative=0)
    with pytest.raises(Invalid) as info:
        stages.apply(secretary, org("XW0101"))
    assert "转段测评（第1次）未通过或未判定" in info.value.errors["stage"]


# -- a full journey ------------------------------------------------------------------------

def test_branch_goes_through_review_with_make_up_and_rectify_to_the_end(app, demo):
    office, supervisor, secretary = user("office"), user("supervisor"), user("secretary")
    branch_id = org("XW0101").id

    # 分析评议: 民主评议 closes; the first 转段测评 has most of the masses dissatisfied (60 %).
    member_review = run_round(secretary, "XW0101", "member_review", Stage.REVIEW,
                              positive=6, negative=0)
    assert member_review.passed is True
    first = run_round(secretary, "XW0101", "stage_review", Stage.REVIEW,
                      positive=4, negative=6)
    assert first.attempt == 1 and first.passed is False
    assert first.verdict_status is Decision.PROPOSED and flag_count(FlagKind.MAKE_UP) == 0
    assert flag_count(FlagKind.YELLOW_CARD) == 0
    # Until the office decides, the proposed 补课 already holds back a new attempt.
    second, second_cards = create(secretary, "XW0101", "stage_review", Stage.REVIEW)
    assert second.attempt == 2
    with pytest.raises(Invalid) as info:
        rounds.open_round(secretary, second)
    assert "make_up" in info.value.errors
    db.session.rollback()

    # The office confirms 补课: the branch's follow-up opens, a yellow card is proposed.
    flags.confirm_verdict(office, first, "转段测评满意率仅 50%")
    make_up = only_flag(FlagKind.MAKE_UP, round_id=first.id)
    assert make_up.status is Decision.CONFIRMED and make_up.decided_by == "office"
    assert make_up.stage is Stage.REVIEW and "满意率" in make_up.summary
    assert first.verdict_status is Decision.CONFIRMED and first.passed is False
    card = only_flag(FlagKind.YELLOW_CARD)
    assert (card.organisation_id, card.stage, card.status) == \
        (branch_id, Stage.REVIEW, Decision.PROPOSED)

    # Nor once it is decided, until the make-up is recorded.
    with pytest.raises(Invalid) as info:
        rounds.open_round(secretary, second)
    assert "make_up" in info.value.errors
    db.session.rollback()
    with pytest.raises(Invalid) as info:
        flags.record_make_up(secretary, make_up, "   ", None)
    assert {"note", "on"} <= set(info.value.errors)
    db.session.rollback()
    with pytest.raises(Forbidden):
        flags.record_make_up(supervisor, make_up, "督导组代填", date(2005, 10, 8))
    db.session.rollback()
    flags.record_make_up(secretary, make_up, "重新组织学习，逐户走访征求意见", date(2005, 10, 8))
    assert make_up.make_up_on == date(2005, 10, 8)

    rounds.open_round(secretary, second)
    vote(second, second_cards, positive=8, negative=2)
    closing.close_round(secretary, second)
    assert second.passed is True
    assert db.session.scalars(sa.select(Flag).where(Flag.round_id == second.id)).all() == []
    flags.confirm_verdict(office, second)
    assert second.verdict_status.value == "confirmed"

    # 转段: secretary applies, supervision objects in writing, the office approves.
    request = stages.apply(secretary, org("XW0101"), "补课后第二次转段测评满意率 80%")
    assert request.state is TransitionState.APPLIED
    assert state_of("XW0101", Stage.REVIEW) is StageState.AWAITING_REVIEW
    waiting, _ = new_round(kind="satisfaction", stage=Stage.RECTIFY, open_it=False)
    with pytest.raises(Invalid) as info:  # awaiting review is not approved
        rounds.open_round(secretary, waiting)
    assert "stage" in info.value.errors
    db.session.rollback()

    with pytest.raises(Invalid) as info:
        stages.review(supervisor, request, agree=False, opinion="  ")
    assert "review_opinion" in info.value.errors
    db.session.rollback()
    assert request.state is TransitionState.APPLIED
    stages.review(supervisor, request, agree=False, opinion="第一次转段测评未通过，建议加强整改")
    assert request.state is TransitionState.OBJECTED
    assert request.reviewed_by == "supervisor" and "加强整改" in request.opinion

    stages.decide(office, request, approve=True, note="已补课，第二次测评通过")
    assert request.state is TransitionState.APPROVED and request.decided_by == "office"
    assert state_of("XW0101", Stage.REVIEW) is StageState.PASSED
    assert state_of("XW0101", Stage.RECTIFY) is StageState.IN_PROGRESS
    assert org("XW0101").current_stage is Stage.RECTIFY

    # 整改提高: satisfaction and the stage review pass; the same gate once more.
    satisfaction = run_round(secretary, "XW0101", "satisfaction", Stage.RECTIFY,
                             positive=9, negative=1)
    rectify_review = run_round(secretary, "XW0101", "stage_review", Stage.RECTIFY,
                               positive=7, negative=3)
    assert satisfaction.passed is True and rectify_review.passed is True
    assert rectify_review.definition_name == "stage_review_rectify"
    request = stages.apply(secretary, org("XW0101"))
    assert request.stage is Stage.RECTIFY
    assert state_of("XW0101", Stage.RECTIFY) is StageState.AWAITING_REVIEW
    stages.review(supervisor, request, agree=True, opinion="")
    assert request.state is TransitionState.AGREED
    stages.decide(office, request, approve=True)
    assert request.state is TransitionState.APPROVED
    assert [state_of("XW0101", s) for s in Stage] == [StageState.PASSED] * 3
    with pytest.raises(Invalid):
        stages.apply(secretary, org("XW0101"))
    db.session.rollback()

    # One yellow card, for the review stage only; no admonishment for a single card.
    assert only_flag(FlagKind.YELLOW_CARD).stage is Stage.REVIEW
    assert flag_count(FlagKind.ADMONISHMENT) == 0

    # Every step is in the audit log, in order, under the person who took it.
    trail = audit_trail(branch_id)
    expected = [
        ("round.create", "secretary"), ("round.open", "secretary"),
        ("round.close", "secretary"),  # 民主评议
        ("round.create", "secretary"), ("round.open", "secretary"),
        ("round.close", "secretary"),  # 补课 proposed by the round's verdict
        ("round.create", "secretary"),  # the second attempt, held back
        ("round.verdict.confirm", "office"), ("flag.make_up.required", "office"),
        ("flag.propose.yellow_card", "rules"), ("flag.make_up", "secretary"),
        ("round.open", "secretary"), ("round.close", "secretary"),
        ("round.verdict.confirm", "office"),
        ("transition.apply", "secretary"), ("transition.review", "supervisor"),
        ("transition.decide", "office"),
        ("round.close", "secretary"), ("round.close", "secretary"),  # 整改提高
        ("transition.apply", "secretary"), ("transition.review", "supervisor"),
        ("transition.decide", "office"),
    ]
    assert is_subsequence(expected, trail), "\n".join(map(str, trail))
    actions = [a for a, _ in trail]
    assert actions.count("transition.apply") == 2
    assert actions.count("round.close") == 5


# -- yellow cards and admonishment ---------------------------------------------------------

def test_two_yellow_cards_in_one_unit_lead_to_admonishment_on_the_dashboard(app, demo):
    office = user("office")
    first, second = yellow_card_for("XW020101"), yellow_card_for("XW020102")
    assert first.unit == second.unit == "兴文中学"

    flags.confirm(office, first)
    assert flag_count(FlagKind.ADMONISHMENT) == 0
    flags.confirm(office, second)
    admonishment = only_flag(FlagKind.ADMONISHMENT)
    assert admonishment.unit == "兴文中学" and admonishment.status is Decision.PROPOSED
    assert "兴文中学" in admonishment.summary

    flags.confirm(office, admonishment, "两个支部均需补课")
    assert admonishment.status is Decision.CONFIRMED
    rows = {row.org.code: row for row in dashboard.overview(office)}
    assert rows[admonishment.organisation.code].admonishment is Decision.CONFIRMED
    assert rows["XW020101"].cells[Stage.REVIEW].yellow_card is Decision.CONFIRMED
    assert rows["XW020102"].cells[Stage.REVIEW].yellow_card is Decision.CONFIRMED
    assert rows["XW0101"].admonishment is None
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "flag", AuditEntry.object_id == str(admonishment.id))).all()
    assert actions == ["flag.propose.admonishment", "flag.confirmed"]


def test_yellow_cards_in_different_units_do_not_add_up(app, demo):
    office = user("office")
    for code in ("XW0101", "XW0102"):  # 县委办公室 and 县政府办公室
        flags.confirm(office, yellow_card_for(code))
    assert flag_count(FlagKind.YELLOW_CARD) == 2
    assert flag_count(FlagKind.ADMONISHMENT) == 0


def test_overriding_needs_a_reason_and_an_overridden_card_does_not_count(app, demo):
    office = user("office")
    first, second = yellow_card_for("XW020101"), yellow_card_for("XW020102")
    for reason in ("", "   "):
        with pytest.raises(Invalid) as info:
            flags.override(office, first, reason)
        assert "reason" in info.value.errors
        db.session.rollback()
    assert first.status is Decision.PROPOSED

    flags.override(office, first, "测评期间遭遇洪灾，参评人数不足，情况特殊")
    assert first.status is Decision.OVERRIDDEN and first.reason.startswith("测评期间")
    flags.confirm(office, second)
    assert flag_count(FlagKind.ADMONISHMENT) == 0
    rows = {row.org.code: row for row in dashboard.overview(office)}
    assert rows["XW020101"].cells[Stage.REVIEW].yellow_card is None
    assert rows["XW020102"].cells[Stage.REVIEW].yellow_card is Decision.CONFIRMED
    assert rows["XW020102"].admonishment is None
    with pytest.raises(Invalid):  # decided once, decided for good
        flags.confirm(office, first)
    db.session.rollback()
    audit = db.session.scalars(sa.select(AuditEntry.detail).where(
        AuditEntry.action == "flag.overridden")).all()
    assert len(audit) == 1 and "洪灾" in audit[0]


# -- who decides ---------------------------------------------------------------------------

def test_only_supervisors_review_and_only_the_office_decides(app, demo):
    office, supervisor, secretary = user("office"), user("supervisor"), user("secretary")
    pass_review_rounds(secretary)
    request = stages.apply(secretary, org("XW0101"))

    with pytest.raises(Invalid) as info:  # the office waits for supervision
        stages.decide(office, request, approve=True)
    assert "state" in info.value.errors
    db.session.rollback()
    for actor in (secretary, office):
        with pytest.raises(OutOfScope):
            stages.review(actor, request, agree=True, opinion="")
        db.session.rollback()

    stages.review(supervisor, request, agree=True, opinion="同意转段")
    for actor in (supervisor, secretary):
        with pytest.raises(OutOfScope):
            stages.decide(actor, request, approve=True)
        db.session.rollback()
    with pytest.raises(Forbidden):
        stages.apply(supervisor, org("XW0101"))
    db.session.rollback()

    assert request.state is TransitionState.AGREED
    assert state_of("XW0101", Stage.REVIEW) is StageState.AWAITING_REVIEW
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "transition")).all()
    assert actions == ["transition.apply", "transition.review"]

    with pytest.raises(Invalid) as info:  # returning needs a reason
        stages.decide(office, request, approve=False, note="")
    assert "note" in info.value.errors
    db.session.rollback()
    stages.decide(office, request, approve=True)
    assert state_of("XW0101", Stage.REVIEW) is StageState.PASSED


def test_supervisors_and_secretaries_cannot_decide_verdicts(app, demo):
    round_ = run_round(None, "XW0101", "stage_review", Stage.REVIEW, positive=2, negative=8)
    for username in ("supervisor", "secretary"):
        with pytest.raises(OutOfScope):
            flags.confirm_verdict(user(username), round_)
        db.session.rollback()
        with pytest.raises(OutOfScope):
            flags.override_verdict(user(username), round_, "我认为不需要补课")
        db.session.rollback()
    assert round_.verdict_status is Decision.PROPOSED and round_.passed is False
    assert flag_count(FlagKind.MAKE_UP) == 0 and flag_count(FlagKind.YELLOW_CARD) == 0


def test_supervisor_reviews_only_assigned_branches(app, demo):
    # XW030101 (batch 2, studying) is under XW03, which the demo supervisor does not cover.
    office = user("office")
    run_round(office, "XW030101", "stage_review", Stage.STUDY, positive=8, negative=2)
    request = stages.apply(office, org("XW030101"))
    with pytest.raises(OutOfScope):
        stages.review(user("supervisor"), request, agree=True, opinion="")
    db.session.rollback()
    assert request.state is TransitionState.APPLIED


def test_returned_first_request_proposes_a_yellow_card(app, demo):
    office, supervisor, secretary = user("office"), user("supervisor"), user("secretary")
    pass_review_rounds(secretary)
    request = stages.apply(secretary, org("XW0101"))
    stages.review(supervisor, request, agree=False, opinion="民主评议走过场")
    stages.decide(office, request, approve=False, note="请重新组织民主评议")
    assert request.state is TransitionState.RETURNED
    assert state_of("XW0101", Stage.REVIEW) is StageState.IN_PROGRESS
    card = only_flag(FlagKind.YELLOW_CARD)
    assert card.stage is Stage.REVIEW and card.status is Decision.PROPOSED

    # The second request, returned again, does not add another card for the stage.
    again = stages.apply(secretary, org("XW0101"))
    stages.review(supervisor, again, agree=True, opinion="")
    stages.decide(office, again, approve=False, note="材料仍不齐全")
    assert flag_count(FlagKind.YELLOW_CARD) == 1


def test_unconfirmed_pass_keeps_the_gate_shut(app, demo):
    secretary, office = user("secretary"), user("office")
    review = run_round(secretary, "XW0101", "member_review", Stage.REVIEW, positive=6,
                       negative=0, confirm_pass=False)
    stage = run_round(secretary, "XW0101", "stage_review", Stage.REVIEW, confirm_pass=False)
    with pytest.raises(Invalid) as info:
        stages.apply(secretary, org("XW0101"))
    assert "转段测评（第1次）的判定待先教办确认" in info.value.errors["stage"]
    db.session.rollback()
    with pytest.raises(Invalid):  # a 补课 or an unknown round in the lot refuses it all
        flags.confirm_passes(office, [review.id, stage.id, 10**6])
    db.session.rollback()
    assert db.session.get(Round, review.id).verdict_status.value == "proposed"
    assert flags.confirm_passes(office, [review.id, stage.id]) == 2
    actions = [a for a, _who in audit_trail(org("XW0101").id)]
    assert actions.count("round.verdict.confirm") == 2
    assert stages.apply(secretary, org("XW0101")).stage is Stage.REVIEW
