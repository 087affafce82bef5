"""组织评定 after 民主评议: every listed member graded, 优秀 capped at a third, the office
confirms, and a confirmed 不合格 is followed up in order."""
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Member, MemberGrade, MemberStatus, User
from evalsvc.services import member_grades
from evalsvc.services.errors import Invalid, OutOfScope
from evalsvc.services.today import today
from tests.helpers import closed_member_review, org_id


def user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def closed_review(grade: str = "qualified"):
    """A closed 民主评议 round of XW0101 where every ballot gives every member ``grade``."""
    return closed_member_review(grade=grade)


def stored_grades() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(MemberGrade))


def grade_all(round_, grade="qualified", excellent=0):
    """The secretary grades every listed member: the first ``excellent`` as 优秀."""
    secretary = user("secretary")
    for i, (member_id, _name) in enumerate(member_grades.graded_members(round_)):
        member_grades.record_grade(secretary, round_, member_id,
                                   "excellent" if i < excellent else grade)


def test_the_list_is_the_rounds_full_members(app, demo):
    round_ = closed_review()
    listed = {m for m, _ in member_grades.graded_members(round_)}
    branch = db.session.scalars(sa.select(Member).where(
        Member.organisation_id == round_.organisation_id)).all()
    assert listed == {m.id for m in branch if m.status is MemberStatus.FULL and m.active}
    assert any(m.status is MemberStatus.PROBATIONARY for m in branch)


def test_a_grade_for_someone_not_on_the_list_is_refused_and_nothing_stored(app, demo):
    round_ = closed_review()
    probationary = db.session.scalar(sa.select(Member.id).where(
        Member.organisation_id == round_.organisation_id,
        Member.status == MemberStatus.PROBATIONARY))
    elsewhere = db.session.scalar(sa.select(Member.id).where(
        Member.organisation_id == org_id("XW0102")))
    for member_id in (probationary, elsewhere, 999999):
        with pytest.raises(Invalid) as info:
            member_grades.record_grade(user("secretary"), round_, member_id, "qualified")
        assert "不在本次评议的正式党员名单中" in info.value.errors["member"]
    assert stored_grades() == 0


def test_an_unknown_grade_is_refused(app, demo):
    round_ = closed_review()
    member_id = member_grades.graded_members(round_)[0][0]
    with pytest.raises(Invalid) as info:
        member_grades.record_grade(user("secretary"), round_, member_id, "perfect")
    assert "优秀、合格、基本合格或不合格" in info.value.errors["grade"]
    assert stored_grades() == 0


def test_excellent_beyond_a_third_is_refused_with_the_reason(app, demo):
    round_ = closed_review()
    members = member_grades.graded_members(round_)
    limit = len(members) // 3
    grade_all(round_, excellent=limit)
    assert sum(g.grade == "excellent" for g in member_grades.grades_of(round_).values()) \
        == limit
    with pytest.raises(Invalid) as info:
        member_grades.record_grade(user("secretary"), round_, members[-1][0], "excellent")
    message = info.value.errors["grade"]
    assert "不得超过" in message and f"最多 {limit} 名" in message
    db.session.expire_all()
    assert member_grades.grades_of(round_)[members[-1][0]].grade == "qualified"
    # Changing one 优秀 down frees the place for another member.
    member_grades.record_grade(user("secretary"), round_, members[0][0], "qualified")
    member_grades.record_grade(user("secretary"), round_, members[-1][0], "excellent")


def test_only_the_branch_records_and_only_the_office_confirms(app, demo):
    round_ = closed_review()
    member_id = member_grades.graded_members(round_)[0][0]
    for name in ("supervisor",):
        with pytest.raises((OutOfScope, PermissionError)):
            member_grades.record_grade(user(name), round_, member_id, "qualified")
    grade_all(round_)
    with pytest.raises(OutOfScope):
        member_grades.confirm_grades(user("secretary"), round_)
    assert not any(g.confirmed for g in member_grades.grades_of(round_).values())


def test_the_office_confirms_only_a_complete_list_and_it_is_audited(app, demo):
    round_ = closed_review()
    members = member_grades.graded_members(round_)
    member_grades.record_grade(user("secretary"), round_, members[0][0], "qualified")
    with pytest.raises(Invalid) as info:
        member_grades.confirm_grades(user("office"), round_)
    assert f"尚有 {len(members) - 1} 名党员未评定等次" in info.value.errors["grades"]
    grade_all(round_)
    member_grades.confirm_grades(user("office"), round_)
    db.session.expire_all()
    assert all(g.confirmed_by == "office" for g in member_grades.grades_of(round_).values())
    confirmed = db.session.scalars(sa.select(AuditEntry.detail).where(
        AuditEntry.action == "member_grade.confirm")).all()
    assert len(confirmed) == len(members)
    with pytest.raises(Invalid) as info:
        member_grades.record_grade(user("secretary"), round_, members[0][0], "basic")
    assert "不能修改" in info.value.errors["grade"]


def _confirmed_failing(round_):
    members = member_grades.graded_members(round_)
    grade_all(round_)
    member_grades.record_grade(user("secretary"), round_, members[0][0], "unqualified")
    member_grades.confirm_grades(user("office"), round_)
    return member_grades.grades_of(round_)[members[0][0]]


def test_followup_runs_in_order_with_a_future_deadline_and_an_outcome_after_it(
        app, demo, monkeypatch):
    round_ = closed_review("unqualified")
    row = _confirmed_failing(round_)
    secretary = user("secretary")
    with pytest.raises(Invalid) as info:
        member_grades.record_followup(secretary, row, "correcting", "限期一个月",
                                      today() + timedelta(days=30))
    assert info.value.errors["step"] == "请先登记「帮助教育」"
    member_grades.record_followup(secretary, row, "educated", "支部书记谈心谈话")
    for deadline in (None, today(), today() - timedelta(days=1)):
        with pytest.raises(Invalid) as info:
            member_grades.record_followup(secretary, row, "correcting", "限期改正", deadline)
        assert info.value.errors["deadline"] == "限期改正的期限须晚于今天"
    with pytest.raises(Invalid):
        member_grades.record_followup(secretary, row, "transformed", "已转化")
    deadline = today() + timedelta(days=30)
    member_grades.record_followup(secretary, row, "correcting", "限期改正", deadline)
    with pytest.raises(Invalid) as info:
        member_grades.record_followup(secretary, row, "handled", "组织处理")
    assert "期满后再登记结果" in info.value.errors["step"]
    monkeypatch.setattr(member_grades, "today", lambda: deadline + timedelta(days=1))
    member_grades.record_followup(secretary, row, "handled", "经教育无明显转化，劝退")
    db.session.expire_all()
    assert (row.followup, row.deadline) == ("handled", deadline)
    steps = [json.loads(d)["step"] for d in db.session.scalars(
        sa.select(AuditEntry.detail).where(AuditEntry.action == "member_grade.followup")
        .order_by(AuditEntry.id))]
    assert steps == ["educated", "correcting", "handled"]
    with pytest.raises(Invalid) as info:
        member_grades.record_followup(secretary, row, "transformed", "再次登记")
    assert "已经办结" in info.value.errors["step"]


def test_no_followup_before_the_office_confirms_or_for_a_passing_grade(app, demo):
    round_ = closed_review()
    members = member_grades.graded_members(round_)
    grade_all(round_)
    member_grades.record_grade(user("secretary"), round_, members[0][0], "unqualified")
    grades = member_grades.grades_of(round_)
    for member_id in (members[0][0], members[1][0]):
        with pytest.raises(Invalid) as info:
            member_grades.record_followup(user("secretary"), grades[member_id], "educated",
                                          "谈话")
        assert "确认为不合格" in info.value.errors["step"]
    assert all(g.followup is None for g in member_grades.grades_of(round_).values())


def test_a_review_summary_with_a_proposed_unqualified_member_does_not_read_passed(app, demo):
    from evalsvc.services.results import result_of

    round_ = closed_review("unqualified")
    result = result_of(round_)
    assert "初步评为不合格，待支部组织评定" in result.verdict["summary"]
    assert "通过" not in result.verdict_words


def test_grades_of_an_earlier_campaign_are_read_only(app, demo):
    from evalsvc.services.campaigns import create_campaign

    round_ = closed_review()
    members = member_grades.graded_members(round_)
    create_campaign(None, "第二次教育活动", 2027, 2027)
    with pytest.raises(Invalid) as info:
        member_grades.record_grade(user("secretary"), round_, members[0][0], "qualified")
    assert "已不是当前活动" in info.value.errors["campaign"]
    with pytest.raises(Invalid):
        member_grades.confirm_grades(user("office"), round_)
    assert stored_grades() == 0
