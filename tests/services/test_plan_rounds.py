"""A satisfaction round built from the approved 整改方案: one question per item, frozen at
opening; its result published on the public page (suppressed as staff see it), then
withdrawn."""
import json
import secrets

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, GroupCode, Organisation, Round, Stage, StageState
from evalsvc.services import ballots, closing, flags, public_pages, rounds, stages
from evalsvc.services.errors import Invalid, OutOfScope
from tests.helpers import SATISFACTION, new_round, org_id
from tests.services.test_plans import approved_plan, user


def _page_token() -> str:
    from evalsvc.models import PublicPage

    return db.session.scalar(sa.select(PublicPage.token))


def in_rectify_stage(code="XW0101") -> None:
    """The branch has passed 学习动员 and 分析评议, so a 整改提高 round may open."""
    branch = db.session.get(Organisation, org_id(code))
    for stage in (Stage.STUDY, Stage.REVIEW):
        stages._progress(branch, stage).state = StageState.PASSED
    db.session.commit()


def plan_round(plan, ballots_cast=6, open_it=True, kind="satisfaction", stage=Stage.RECTIFY):
    ids = tuple(i.id for i in plan.items)
    if open_it:
        in_rectify_stage()
    return new_round(kind=kind, stage=stage, groups={GroupCode.MASSES: ballots_cast},
                     open_it=open_it, plan_item_ids=ids)


def test_each_plan_item_becomes_a_question_beside_the_standard_items(demo):
    plan = approved_plan(problems=("会议制度坚持不够", "服务群众不主动"))
    round_, _codes = plan_round(plan, open_it=False)
    layout = rounds.layout(round_)
    texts = [q.text for q in layout]
    assert texts[4:6] == ["对“会议制度坚持不够”整改情况的评价", "对“服务群众不主动”整改情况的评价"]
    assert texts[:4] == ["提高党员素质", "加强基层组织", "服务人民群众", "促进各项工作"]
    assert layout[6].rated and not any(q.rated for q in layout[4:6])
    assert [o.label for o in layout[4].options] == [o.label for o in layout[6].options]


def test_the_layout_is_frozen_at_opening(demo):
    plan = approved_plan(problems=("会议制度坚持不够",))
    round_, _codes = plan_round(plan)
    plan.items[0].problem = "改过的问题"
    db.session.commit()
    assert "对“会议制度坚持不够”整改情况的评价" in [q.text for q in rounds.layout(round_)]
    frozen = json.loads(round_.layout_json)
    assert any(q["key"] == f"plan_item_{plan.items[0].id}" for q in frozen)


def test_a_kind_that_takes_no_extra_items_ignores_them(demo):
    plan = approved_plan()
    round_, _codes = plan_round(plan, open_it=False, kind="stage_review")
    assert round_.extra_items_json is None
    assert not any(q.key.startswith("plan_item_") for q in rounds.layout(round_))


@pytest.mark.parametrize("stage", [Stage.STUDY, Stage.REVIEW])
def test_plan_items_are_asked_in_the_rectify_stage_only(demo, stage):
    plan = approved_plan()
    round_, _codes = plan_round(plan, open_it=False, stage=stage)
    assert round_.extra_items_json is None
    assert not any(q.key.startswith("plan_item_") for q in rounds.layout(round_))


def test_only_the_branchs_approved_items_may_be_asked(demo):
    other = approved_plan("XW0102")
    with pytest.raises(Invalid, match="已批准的整改方案"):
        rounds.create_round(None, rounds.RoundData(
            org_id("XW0101"), "satisfaction", Stage.RECTIFY, {GroupCode.MASSES: 5},
            plan_item_ids=(other.items[0].id,)))


def _cast(round_, plan, codes):
    for code in codes:
        rows = [(k, v, "") for k, v in SATISFACTION.items()]
        rows += [(f"plan_item_{i.id}", "fairly", "") for i in plan.items]
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), rows)
    closing.close_round(None, round_)


def test_a_closed_round_is_published_with_each_items_result_then_withdrawn(demo):
    plan = approved_plan(problems=("会议制度坚持不够",))
    round_, codes = plan_round(plan)
    _cast(round_, plan, codes)
    office = user("office")
    with pytest.raises(OutOfScope):
        public_pages.publish(user("secretary"), round_)
    public_pages.publish(office, round_)
    view = public_pages.view(_page_token())
    [shown] = view.rounds
    assert not shown.took_place_only and shown.ballots == 6 and shown.rate == 1.0
    assert shown.verdict == ""  # proposed, not yet confirmed by the office
    [(_title, item_result, label)] = view.items[0].results
    assert item_result.valid == 6 and label == "满意率"
    flags.confirm_verdict(office, round_)
    assert public_pages.view(_page_token()).rounds[0].verdict == "通过"
    assert shown.comments == []  # free text is never shown unless a setting allows it

    public_pages.withdraw(office, round_)
    view = public_pages.view(_page_token())
    assert view.rounds == [] and view.items[0].results == []
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_id == str(round_.id), AuditEntry.action.like("round.%_result"))).all()
    assert actions == ["round.publish_result", "round.withdraw_result"]


def test_a_tiny_round_shows_only_that_it_took_place(demo):
    round_, codes = new_round(groups={GroupCode.MASSES: 3})
    for code in codes:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12),
                                 [(k, v, "") for k, v in SATISFACTION.items()])
    closing.close_round(None, round_)
    public_pages.publish(user("office"), round_)
    [shown] = public_pages.view(_page_token()).rounds
    assert shown.took_place_only and shown.ballots is None and shown.items == []


def test_a_page_with_nothing_published_is_unknown(demo):
    round_, codes = new_round(groups={GroupCode.MASSES: 5})
    closing.close_round(None, round_)
    public_pages.publish(user("office"), round_)
    token = _page_token()
    assert public_pages.view(token) is not None
    public_pages.withdraw(user("office"), round_)
    assert public_pages.view(token) is None and public_pages.view("unknown") is None


@pytest.mark.parametrize("ballots_cast, allowed, shown", [
    (10, False, 0),  # enough texts, but the setting is off (the default)
    (6, True, 0),  # the setting allows them, but fewer than 10: withheld
    (10, True, 10),
])
def test_free_text_only_when_a_setting_allows_it_and_the_threshold_is_met(
        app, demo, ballots_cast, allowed, shown):
    from tests.helpers import closed_satisfaction_round

    app.config["PUBLIC_FREE_TEXT"] = allowed
    round_ = closed_satisfaction_round(ballots_cast, with_text=True)
    public_pages.publish(user("office"), round_)
    [published] = public_pages.view(_page_token()).rounds
    assert len(published.comments) == shown


def test_the_command_line_asks_about_the_plan_items_too(runner, demo):
    plan = approved_plan(problems=("会议制度坚持不够",))
    result = runner.invoke(args=["round", "create", "--org", "XW0101", "--kind", "satisfaction",
                                 "--stage", "rectify", "--group", "masses=5", "--plan-items"])
    assert result.exit_code == 0, result.output
    round_ = db.session.get(Round, int(result.output))
    assert f"plan_item_{plan.items[0].id}" in {q.key for q in rounds.layout(round_)}


def test_a_draft_asks_in_the_plans_current_words(demo):
    plan = approved_plan(problems=("会议制度坚持不够",))
    round_, _codes = plan_round(plan, open_it=False)
    plan.items[0].problem = "三会一课制度坚持不够"
    db.session.commit()
    assert "对“三会一课制度坚持不够”整改情况的评价" in [q.text for q in rounds.layout(round_)]
