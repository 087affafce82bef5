"""整改方案: drafted by the secretary, reviewed by supervision (advice), returned then
approved by the office; changes after approval are logged and listed; 回头看 lists the
overdue items; bad input is refused in Chinese with nothing stored."""
import json
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import (
    AuditEntry, GroupCode, ItemStatus, Organisation, PlanItem, PlanState, PublicPage,
    RectificationPlan, User,
)
from evalsvc.services import ballots, closing, plan_changes, plan_sources, plans
from evalsvc.services.errors import Forbidden, Invalid
from evalsvc.services.today import today
from tests.helpers import new_round, org_id


def user(name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == name))


def org(code: str) -> Organisation:
    return db.session.get(Organisation, org_id(code))


def item_data(problem="会议制度坚持不够", days=30, **extra) -> plans.ItemData:
    return plans.ItemData(problem, "每月固定主题党日", "张书记", today() + timedelta(days=days),
                          **extra)


def approved_plan(code="XW0101", problems=("会议制度坚持不够",)) -> RectificationPlan:
    """A plan of the branch with these items, submitted and approved."""
    office = user("office")
    plan = plans.create_plan(office, org(code))
    for problem in problems:
        plans.add_item(office, plan, item_data(problem))
    plans.submit(office, plan)
    for supervisor in plans.reviewers(plan.organisation_id)[:1]:
        plans.review(supervisor, plan, "同意")
    return plans.approve(office, plan)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_plan_is_returned_with_a_reason_then_approved_and_shown(demo):
    secretary, supervisor, office = user("secretary"), user("supervisor"), user("office")
    plan = plans.create_plan(secretary, org("XW0101"))
    item = plans.add_item(secretary, plan, item_data())
    with pytest.raises(Invalid, match="至少要有一项"):
        plans.submit(office, plans.create_plan(office, org("XW0102")))
    plans.submit(secretary, plan)
    plans.review(supervisor, plan, "措施不够具体，建议明确时间节点")
    assert plan.state is PlanState.SUBMITTED  # the review advises; it decides nothing
    with pytest.raises(Invalid, match="理由"):
        plans.return_plan(office, plan, "  ")
    plans.return_plan(office, plan, "请细化整改措施")
    assert plan.state is PlanState.RETURNED and plan.return_reason == "请细化整改措施"
    assert db.session.scalar(sa.select(PublicPage)) is None  # nothing public yet
    plans.update_item(secretary, item, item_data(problem="三会一课制度坚持不够"))
    plans.submit(secretary, plan)
    assert plan.review_opinion == ""  # the review was of the version returned
    with pytest.raises(Invalid, match="督导组尚未审查"):
        plans.approve(office, plan)
    assert plan.state is PlanState.SUBMITTED
    plans.review(supervisor, plan, "已细化，同意")
    plans.approve(office, plan)
    assert plan.state is PlanState.APPROVED
    assert db.session.scalar(sa.select(PublicPage.organisation_id)) == plan.organisation_id

    plans.update_item(secretary, item, item_data(problem="三会一课制度坚持不够",
                                                 status="in_progress"))
    plans.add_note(secretary, item, "已召开专题组织生活会")
    changes = [text for _day, text in plan_changes.changes(plan)]
    assert changes[0] == "方案经先教办批准"
    assert any("状态改为进行中" in c for c in changes) and any("整改进展" in c for c in changes)
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.action.like("plan.%"))).all()
    assert {"plan.review", "plan.return", "plan.approve", "plan.note"} <= set(actions)


@pytest.mark.parametrize("data, field, message", [
    (plans.ItemData("", "", "", None), "problem", "请填写存在问题"),
    (plans.ItemData("问题", "措施", "责任人", today() - timedelta(days=1)), "deadline",
     "整改时限不能早于今天"),
])
def test_a_bad_item_is_refused_in_chinese_and_nothing_is_stored(demo, data, field, message):
    plan = plans.create_plan(user("secretary"), org("XW0101"))
    with pytest.raises(Invalid) as refused:
        plans.add_item(user("secretary"), plan, data)
    assert refused.value.errors[field] == message
    assert count(PlanItem) == 0


def test_no_plan_for_someone_elses_branch(demo):
    with pytest.raises(Forbidden, match="只能为本支部"):
        plans.create_plan(user("secretary"), org("XW0102"))
    with pytest.raises(Forbidden, match="督导组负责审查"):
        plans.create_plan(user("supervisor"), org("XW0101"))
    assert count(RectificationPlan) == 0


def test_a_committee_has_a_plan_for_its_leadership(demo):
    plan = approved_plan("XW01")
    assert plan.state is PlanState.APPROVED and plan.organisation.type.value == "committee"


def test_overdue_items_are_listed_until_done(demo):
    plan = approved_plan(problems=("甲问题", "乙问题", "丙问题"))
    late, done, on_time = plan.items
    late.deadline = done.deadline = today() - timedelta(days=2)  # time has passed
    done.status = ItemStatus.DONE
    db.session.commit()
    assert [i.problem for i in plans.overdue_items(None)] == ["甲问题"]
    assert plans.overdue_items({org_id("XW0102")}) == []


def _closed_opinion_round(ballots_cast: int, texts: int):
    round_, codes = new_round(kind="opinion", groups={GroupCode.MASSES: ballots_cast})
    for n, code in enumerate(codes):
        rows = [("categories", "style", "")]
        if n < texts:
            rows.append(("comment", "", f"第{n}条意见"))
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), rows)
    closing.close_round(None, round_)
    return round_


def test_problems_come_only_from_what_the_shown_result_shows(demo):
    _closed_opinion_round(ballots_cast=3, texts=3)  # below the threshold: nothing shown
    assert plan_sources.suggestions(org_id("XW0101")) == []
    _closed_opinion_round(ballots_cast=6, texts=6)  # categories shown, texts withheld (< 10)
    found = [s.text for s in plan_sources.suggestions(org_id("XW0101"))]
    assert found == ["工作作风方面的问题（6 人次提出）"]
    _closed_opinion_round(ballots_cast=10, texts=10)
    found = [s.text for s in plan_sources.suggestions(org_id("XW0101"))]
    assert "第3条意见" in found and len(found) == 1 + 1 + 10


def test_a_picked_problem_names_its_source_round(demo):
    source = _closed_opinion_round(ballots_cast=6, texts=0)
    plan = plans.create_plan(user("secretary"), org("XW0101"))
    picked = plan_sources.pick(org_id("XW0101"), f"{source.id}:0")
    item = plans.add_item(user("secretary"), plan, item_data(picked.text,
                                                             source_round_id=source.id))
    assert item.source_round_id == source.id and item.problem.startswith("工作作风")


def test_the_weekly_report_names_the_plans_steps_in_chinese(demo):
    from evalsvc.services import report

    plan = approved_plan()
    plans.add_note(user("office"), plan.items[0], "已召开专题组织生活会")
    week = report.weekly(user("office"), today() - timedelta(days=6), today())
    [branch] = [b for b in week.branches if b.code == "XW0101"]
    said = " ".join(branch.changes)
    for words in ("起草整改方案", "新增整改事项", "提交整改方案", "先教办批准整改方案",
                  "登记整改进展"):
        assert words in said, said
    assert "plan." not in said


def test_the_office_cannot_approve_a_plan_the_supervision_group_never_reviewed(demo):
    office = user("office")
    plan = plans.create_plan(office, org("XW0101"))
    plans.add_item(office, plan, item_data())
    plans.submit(office, plan)
    assert plans.reviewers(plan.organisation_id)  # the demo's supervision group oversees it
    with pytest.raises(Invalid, match="督导组尚未审查"):
        plans.approve(office, plan)
    db.session.rollback()
    assert db.session.get(RectificationPlan, plan.id).state is PlanState.SUBMITTED
    assert db.session.scalar(sa.select(PublicPage)) is None


def test_the_audit_log_keeps_every_version_of_an_item(demo):
    secretary = user("secretary")
    plan = plans.create_plan(secretary, org("XW0101"))
    item = plans.add_item(secretary, plan, item_data())
    plans.update_item(secretary, item, plans.ItemData(
        item.problem, "改为每两周一次", item.responsible, item.deadline))
    details = [json.loads(d) for d in db.session.scalars(
        sa.select(AuditEntry.detail).where(AuditEntry.action.like("plan.item_%"))
        .order_by(AuditEntry.id))]
    assert details[0]["measures"] == "每月固定主题党日"  # the first version, before the edit
    assert details[0]["status"] == "not_started"
    assert details[1] == {"measures": "改为每两周一次"}
