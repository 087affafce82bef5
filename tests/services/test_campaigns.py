"""Many campaigns in one database: each has its own flags and stages, earlier ones are
read-only, 集体诫勉 counts one campaign's cards, batches have windows, units are records."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import (
    AuditEntry, Campaign, Decision, Flag, FlagKind, Organisation, Round, Stage, StageState, Unit,
)
from evalsvc.services import batches, campaigns, flags, rounds, stages
from evalsvc.services.errors import Invalid
from evalsvc.services.importing import import_organisations
from tests.helpers import new_round
from tests.services.test_rules import only_flag, org, run_round, user


def cards_in(campaign_id: int, kind: FlagKind) -> list[Flag]:
    return list(db.session.scalars(sa.select(Flag).where(
        Flag.kind == kind, Flag.campaign_id == campaign_id)))


def yellow_card_for(code: str) -> Flag:
    """A confirmed 补课 in the review stage of the current campaign: it proposes a card."""
    campaign_id = campaigns.current_campaign().id
    round_ = run_round(None, code, "stage_review", Stage.REVIEW, positive=1, negative=4)
    flags.confirm_verdict(user("office"), round_)
    return only_flag(FlagKind.YELLOW_CARD, organisation_id=org(code).id,
                     campaign_id=campaign_id)


def start(name="2026年度民主评议党员", year=2026, **extra) -> Campaign:
    return campaigns.create_campaign(None, name, year, year, **extra)


def study_passed(*codes: str) -> None:
    """As in the demo: the branches have passed 学习动员 in the (new) current campaign."""
    for code in codes:
        stages._progress(org(code), Stage.STUDY).state = StageState.PASSED
    db.session.commit()


def test_a_new_campaign_starts_with_clean_stages_and_becomes_current(app, demo):
    first = campaigns.current_campaign()
    run_round(None, "XW0101", "member_review", Stage.REVIEW, positive=6, negative=0)
    assert org("XW0101").stage_state(Stage.REVIEW) is StageState.IN_PROGRESS

    second = start("第二批集中教育", 2027)
    assert campaigns.current_campaign().id == second.id != first.id
    db.session.expire_all()
    assert org("XW0101").stage_state(Stage.REVIEW) is StageState.NOT_STARTED
    listed = campaigns.list_campaigns()
    assert [(c["id"], c["current"]) for c in listed] == [(first.id, False), (second.id, True)]
    # The first campaign's progress row is still there, readable.
    kept = db.session.scalar(sa.select(stages.StageProgress.state).where(
        stages.StageProgress.campaign_id == first.id,
        stages.StageProgress.organisation_id == org("XW0101").id,
        stages.StageProgress.stage == Stage.REVIEW))
    assert kept is StageState.IN_PROGRESS


def test_yellow_cards_of_campaign_one_do_not_count_in_campaign_two(app, demo):
    office = user("office")
    first = campaigns.current_campaign()
    flags.confirm(office, yellow_card_for("XW020101"))
    assert cards_in(first.id, FlagKind.ADMONISHMENT) == []

    second = start("第二批集中教育", 2027)
    study_passed("XW020101")
    # Same branch, same stage: a fresh card (not "already has one"), and one card in the
    # new campaign is not two.
    card = yellow_card_for("XW020101")
    assert card.campaign_id == second.id
    flags.confirm(office, card)
    assert cards_in(second.id, FlagKind.ADMONISHMENT) == []
    assert cards_in(first.id, FlagKind.ADMONISHMENT) == []
    assert len(cards_in(first.id, FlagKind.YELLOW_CARD)) == 1


def test_two_branches_of_one_unit_lead_to_admonishment_and_its_record(app, demo):
    office = user("office")
    current = campaigns.current_campaign()
    flags.confirm(office, yellow_card_for("XW020101"))
    flags.confirm(office, yellow_card_for("XW020102"))
    [admonishment] = cards_in(current.id, FlagKind.ADMONISHMENT)
    assert admonishment.unit == "兴文中学"
    flags.confirm(office, admonishment, "两个支部均需补课")

    with pytest.raises(Invalid) as info:
        flags.record_admonishment(office, admonishment, None, " ")
    assert set(info.value.errors) == {"on", "note"}
    assert admonishment.carried_out_on is None
    flags.record_admonishment(office, admonishment, date(2026, 12, 1), "县委书记约谈班子成员")
    db.session.expire_all()
    stored = db.session.get(Flag, admonishment.id)
    assert (stored.carried_out_on, stored.carried_out_note) == (date(2026, 12, 1),
                                                                 "县委书记约谈班子成员")
    assert db.session.scalar(sa.select(AuditEntry.id).where(
        AuditEntry.action == "flag.admonishment.carried_out")) is not None


def test_earlier_campaign_is_readable_but_refuses_writes(app, demo):
    office = user("office")
    card = yellow_card_for("XW020101")
    draft, _ = new_round(org_code="XW0101", kind="satisfaction", open_it=False)
    start("第二批集中教育", 2027)

    for write in (lambda: flags.confirm(office, card),
                  lambda: rounds.open_round(None, draft)):
        with pytest.raises(Invalid) as info:
            write()
        assert "已不是当前活动" in info.value.errors["campaign"]
    db.session.expire_all()
    assert db.session.get(Flag, card.id).status is Decision.PROPOSED
    assert db.session.get(Round, draft.id).opened_on is None
    # Still readable: the earlier flags are listed when asked for every campaign.
    assert card.id in {f.id for f in flags.flags_for({card.organisation_id})}


def test_a_taken_name_is_refused_in_chinese_and_nothing_is_stored(app, demo):
    taken = campaigns.current_campaign().name
    with pytest.raises(Invalid) as info:
        start(taken, 2027)
    assert info.value.errors["name"] == f"活动名称“{taken}”已被使用，请换一个名称"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1


def test_no_new_campaign_while_rounds_are_open(app, demo):
    new_round(org_code="XW0101")
    with pytest.raises(Invalid) as info:
        start()
    assert "正在进行" in info.value.errors["rounds"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1


def test_single_stage_campaign_has_no_gate(app, demo):
    start(single_stage=True)
    assert stages.missing_for(org("XW0101"), Stage.REVIEW) == []
    round_, _ = new_round(org_code="XW0101", kind="member_review",
                          groups={rounds.GroupCode.MEMBER: 6})
    assert round_.opened_on is not None  # review opened without study being approved


def test_opening_outside_the_batch_window_needs_the_office_and_a_reason(app, demo):
    batch = batches.batch_of(org("XW0101"))
    batches.set_window(None, batch, date.today() + timedelta(days=10),
                       date.today() + timedelta(days=40))
    draft, _ = new_round(org_code="XW0101", open_it=False)
    with pytest.raises(Invalid) as info:
        rounds.open_round(user("secretary"), draft, window_override="急需")
    assert "只有先教办" in info.value.errors["window"]
    with pytest.raises(Invalid) as info:
        rounds.open_round(user("office"), draft)
    assert "须写明理由" in info.value.errors["window"]
    db.session.expire_all()
    assert db.session.get(Round, draft.id).opened_on is None

    rounds.open_round(user("office"), db.session.get(Round, draft.id),
                      window_override="县委要求提前开展")
    stored = db.session.get(Round, draft.id)
    assert stored.opened_on is not None and stored.window_override == "县委要求提前开展"
    assert db.session.scalar(sa.select(AuditEntry.actor).where(
        AuditEntry.action == "round.window_override")) == "office"


def test_org_import_creates_and_links_units(app, demo, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text("编码,名称,类型,上级编码,单位\nXW9901,林业局一支部,党支部,XW01,县林业局\n"
                    "XW9902,林业局二支部,党支部,XW01,县林业局\n", encoding="utf-8")
    import_organisations(path)
    unit = db.session.scalar(sa.select(Unit).where(Unit.name == "县林业局"))
    assert [o.code for o in unit.organisations] == ["XW9901", "XW9902"]
    # The demo's units are records too, shared by the branches of 兴文中学.
    assert db.session.scalar(sa.select(Organisation.unit_id).where(
        Organisation.code == "XW020101")) is not None
