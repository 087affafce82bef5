"""Rounds in bulk: a batch or a committee's branches created, opened and closed at once."""
import json
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Card, GroupCode, Member, Organisation, Round, RoundState
from evalsvc.models import Stage, User
from evalsvc.services import batches, bulk_rounds, campaigns, rounds
from evalsvc.services.bulk_rounds import Selection
from evalsvc.services.campaigns import batch_by_number
from evalsvc.services.errors import Invalid, OutOfScope
from tests.helpers import at_once, org_id

BATCH_1 = ["XW0101", "XW0102", "XW0103", "XW020101", "XW020102"]


def _template(kind="satisfaction", stage=Stage.REVIEW, **groups):
    return rounds.RoundData(0, kind, stage, {GroupCode(k): n for k, n in groups.items()})


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _codes_of(round_ids) -> list[str]:
    return list(db.session.scalars(sa.select(Organisation.code).join(
        Round, Round.organisation_id == Organisation.id).where(Round.id.in_(round_ids))
        .order_by(Organisation.code)))


def test_a_batch_gets_one_round_per_branch_sized_from_active_members(app, demo):
    db.session.execute(sa.update(Member).where(Member.id == db.session.scalar(
        sa.select(sa.func.min(Member.id)).where(Member.organisation_id == org_id("XW0101"))))
        .values(active=False))
    outcome = bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=10))
    assert not outcome.refused
    assert _codes_of([r.id for r in outcome.done]) == BATCH_1
    first = next(r for r in outcome.done if r.organisation.code == "XW0101")
    assert {g.code: g.card_count for g in first.groups} == {GroupCode.MEMBER: 17,
                                                            GroupCode.MASSES: 10}
    cards = db.session.scalar(sa.select(sa.func.count()).select_from(Card)
                              .where(Card.round_id == first.id))
    assert cards == 27
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "round.create"))
    assert sorted(int(e.object_id) for e in entries) == sorted(r.id for r in outcome.done)
    entries = list(db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "round.create")))
    assert all(json.loads(e.detail)["bulk"] == "第1批次" for e in entries)
    assert all(e.actor == "cli" and e.organisation_id == r.organisation_id and
               abs((datetime.now(timezone.utc) - (e.at if e.at.tzinfo else
                                                  e.at.replace(tzinfo=timezone.utc)))
                   .total_seconds()) < 600
               for e, r in zip(sorted(entries, key=lambda e: int(e.object_id)),
                               sorted(outcome.done, key=lambda r: r.id)))


def test_branches_the_gate_refuses_get_nothing_and_the_reason_is_given(app, demo):
    outcome = bulk_rounds.create_rounds(None, Selection(under="XW"), _template(masses=5))
    assert _codes_of([r.id for r in outcome.done]) == BATCH_1
    refused = dict(outcome.refused)
    assert len(refused) == 7  # batches 2 and 3 have not passed the study stage
    assert "学习动员阶段尚未通过转段审批" in refused["古宋镇机关党支部"]
    assert "未创建" in outcome.summary("创建")
    assert _count(Round) == 5


def test_a_dry_run_lists_creations_and_refusals_and_creates_nothing(app, demo):
    audited = _count(AuditEntry)
    preview = bulk_rounds.preview_create(Selection(under="XW03"), _template(
        stage=Stage.STUDY, kind="stage_review", masses=3))
    assert [org.code for org, _data in preview.done] == ["XW030101", "XW030102"]
    refused = bulk_rounds.preview_create(Selection(under="XW01"), _template(
        stage=Stage.STUDY, kind="stage_review", masses=3))
    assert not refused.done and "学习动员阶段已经通过" in refused.refused[0][1]
    assert _count(Round) == 0 and _count(Card) == 0 and _count(AuditEntry) == audited


def test_under_a_general_branch_takes_its_branches_only(app, demo):
    outcome = bulk_rounds.create_rounds(None, Selection(under="XW0201"), _template(masses=2))
    assert _codes_of([r.id for r in outcome.done]) == ["XW020101", "XW020102"]


def test_bad_selections_are_refused_in_chinese(app, demo):
    with pytest.raises(Invalid, match="批次 9 不存在"):
        bulk_rounds.create_rounds(None, Selection(batch=9), _template(masses=2))
    with pytest.raises(Invalid, match="不存在"):
        bulk_rounds.plan_open(None, Selection(under="NOPE"))
    with pytest.raises(Invalid, match="不能批量选择"):  # a plan is one branch's own
        bulk_rounds.create_rounds(None, Selection(batch=1), replace(
            _template(masses=2), plan_item_ids=(1,)))
    assert _count(Round) == 0


def test_open_and_close_a_batch_each_round_audited(app, demo):
    created = bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2)).done
    preview = bulk_rounds.plan_open(None, Selection(batch=1))
    assert len(preview.done) == 5 and _count_state(RoundState.OPEN) == 0
    opened = bulk_rounds.open_rounds(None, Selection(batch=1))
    assert len(opened.done) == 5 and _count_state(RoundState.OPEN) == 5
    assert len(bulk_rounds.plan_close(Selection(under="XW02")).done) == 2
    closed = bulk_rounds.close_rounds(None, Selection(under="XW02"))
    assert _codes_of([r.id for r in closed.done]) == ["XW020101", "XW020102"]
    assert _count_state(RoundState.CLOSED) == 2 and _count_state(RoundState.OPEN) == 3
    for action, expected in (("round.open", 5), ("round.close", 2)):
        ids = set(db.session.scalars(sa.select(AuditEntry.object_id)
                                     .where(AuditEntry.action == action)))
        assert len(ids) == expected and ids <= {str(r.id) for r in created}


def test_a_round_the_rules_keep_closed_is_listed_and_the_rest_open(app, demo):
    bulk_rounds.create_rounds(None, Selection(under="XW02"), _template(masses=2))
    # member_review needs full members on the ballot: a branch without any cannot open.
    db.session.execute(sa.update(Member).where(Member.organisation_id == org_id("XW020102"))
                       .values(active=False))
    rounds.create_round(None, rounds.RoundData(org_id("XW020102"), "member_review",
                                               Stage.REVIEW, {GroupCode.MASSES: 2}))
    outcome = bulk_rounds.open_rounds(None, Selection(under="XW0201"))
    assert len(outcome.done) == 2
    assert outcome.refused and "没有在册的正式党员" in outcome.refused[0][1]
    assert _count_state(RoundState.DRAFT) == 1


def test_only_the_office_acts_in_bulk(app, demo):
    secretary = db.session.scalar(sa.select(User).where(User.username == "secretary"))
    with pytest.raises(OutOfScope):
        bulk_rounds.create_rounds(secretary, Selection(batch=1), _template(masses=2))
    assert _count(Round) == 0


def _count_state(state) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Round)
                             .where(Round.state == state))


def test_outside_the_batch_window_a_bulk_open_needs_the_office_and_a_reason(app, demo):
    bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2))
    batches.set_window(None, batch_by_number(1), date.today() + timedelta(days=10), None)
    office = db.session.scalar(sa.select(User).where(User.username == "office"))
    refused = bulk_rounds.open_rounds(office, Selection(batch=1))
    assert not refused.done and len(refused.refused) == 5
    assert all("破例开始须写明理由" in reason for _name, reason in refused.refused)
    assert _count_state(RoundState.OPEN) == 0

    opened = bulk_rounds.open_rounds(office, Selection(batch=1), "县委要求提前开展")
    assert len(opened.done) == 5 and _count_state(RoundState.OPEN) == 5
    assert set(db.session.scalars(sa.select(Round.window_override))) == {"县委要求提前开展"}
    overrides = db.session.scalars(sa.select(AuditEntry.object_id).where(
        AuditEntry.action == "round.window_override"))
    assert sorted(overrides) == sorted(str(r.id) for r in opened.done)


def test_an_earlier_campaigns_drafts_are_left_alone(app, demo):
    old = bulk_rounds.create_rounds(None, Selection(under="XW0201"), _template(masses=2)).done
    campaigns.create_campaign(None, "第二批集中教育", 2027, 2027, single_stage=True)
    assert not bulk_rounds.plan_open(None, Selection(under="XW0201")).done
    new = bulk_rounds.create_rounds(None, Selection(under="XW0201"), _template(masses=2)).done
    assert [r.attempt for r in new] == [1, 1]  # attempts count within the campaign
    opened = bulk_rounds.open_rounds(None, Selection(under="XW0201"))
    assert {r.id for r in opened.done} == {r.id for r in new}
    assert {db.session.get(Round, r.id).state for r in old} == {RoundState.DRAFT}


def test_a_planned_close_date_is_set_in_bulk_and_audited_per_round(app, demo):
    day = date.today() + timedelta(days=30)
    created = bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2), day).done
    assert {r.planned_close_on for r in created} == {day}
    later = day + timedelta(days=5)
    opened = bulk_rounds.open_rounds(None, Selection(batch=1), planned_close_on=later).done
    assert {db.session.get(Round, r.id).planned_close_on for r in opened} == {later}
    planned = list(db.session.scalars(sa.select(AuditEntry.object_id).where(
        AuditEntry.action == "round.plan_close")))
    assert len(planned) == 10 and set(planned) == {str(r.id) for r in created}


def test_a_past_planned_close_date_is_refused_and_nothing_is_created(app, demo):
    with pytest.raises(Invalid) as info:
        bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2),
                                  date.today() - timedelta(days=1))
    assert "不能早于今天" in info.value.errors["planned_close_on"]
    assert _count(Round) == 0 and _count(Card) == 0


def test_a_bulk_creation_confirmed_twice_makes_no_second_set(app, demo):
    first = bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2))
    again = bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2))
    assert len(first.done) == 5 and not again.done
    assert len(again.refused) == 5
    assert all("已有尚未结束的同类测评（第1次，草稿）" in reason for _name, reason in again.refused)
    assert _count(Round) == 5
    # Another kind is not a duplicate; nor is a new attempt once the first has closed.
    other = bulk_rounds.create_rounds(None, Selection(batch=1), _template(kind="opinion",
                                                                          masses=2))
    assert len(other.done) == 5
    bulk_rounds.open_rounds(None, Selection(batch=1))
    bulk_rounds.close_rounds(None, Selection(batch=1))
    retest = bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2))
    assert [r.attempt for r in retest.done] == [2] * 5


def test_a_bulk_close_clears_the_database_traces_once_for_all_its_rounds(app, demo,
                                                                         monkeypatch):
    # Clearing rewrites whole tables on PostgreSQL (VACUUM FULL): once per round made a
    # batch's close take minutes in one web request.
    from evalsvc.services import traces

    bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2))
    bulk_rounds.open_rounds(None, Selection(batch=1))
    passes = []
    real = traces.clear_traces
    monkeypatch.setattr(traces, "clear_traces", lambda *a: passes.append(1) or real(*a))
    closed = bulk_rounds.close_rounds(None, Selection(batch=1))
    assert len(closed.done) == 5 and len(passes) == 1
    # On PostgreSQL a snapshot elsewhere (another suite's connections starting) can make
    # the rewrite keep old row versions: then the rounds stay pending, and the retry the
    # background thread makes clears them, saying so itself.
    still_pending = traces.pending_round_ids()
    if still_pending:
        from tests.anonymity.test_traces_postgresql import _until_cleared
        _until_cleared()
    assert not traces.pending_round_ids()
    cleared = _count(AuditEntry.__table__.select().where(
        AuditEntry.action == "round.traces_cleared").subquery())
    assert cleared == len(still_pending)  # the close's own pass: each round's close says it


def test_the_same_bulk_creation_confirmed_twice_at_once_makes_one_set(app, demo, monkeypatch):
    """A double click sends the confirmation twice together: one set of rounds is made, the
    other request makes none (on PostgreSQL both read "no round yet" without a lock)."""
    made = {}

    def confirm():
        outcome = bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2))
        made[threading.current_thread().name] = len(outcome.done)

    at_once(app, monkeypatch, rounds, "issue_cards", confirm)
    assert made == {"first": 5, "second": 0}
    assert _count(Round) == 5


def test_the_same_bulk_open_confirmed_twice_at_once_opens_each_round_once(app, demo,
                                                                          monkeypatch):
    bulk_rounds.create_rounds(None, Selection(batch=1), _template(masses=2))
    opened = {}

    def confirm():
        outcome = bulk_rounds.open_rounds(None, Selection(batch=1))
        opened[threading.current_thread().name] = len(outcome.done)

    at_once(app, monkeypatch, rounds, "mark_open", confirm)
    assert opened == {"first": 5, "second": 0}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "round.open")) == 5
