"""组织评定 pages and the member-review ballot rules, as staff and respondents use them."""
import re

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Campaign, GroupCode, Member, MemberStatus, User
from evalsvc.services import campaign_rules, member_grades
from tests.helpers import (
    ballot_for, closed_member_review, counts, login, new_round,
)


def _grades(round_) -> dict[int, str]:
    db.session.expire_all()
    return {m: g.grade for m, g in member_grades.grades_of(round_).items()}


def test_the_secretary_grades_the_office_confirms_the_supervisor_only_reads(client, demo):
    round_ = closed_member_review()
    members = member_grades.graded_members(round_)
    login(client, "secretary")
    html = client.get(f"/rounds/{round_.id}/grades").get_data(as_text=True)
    assert all(name in html for _, name in members) and "保存" in html
    for member_id, _ in members:
        assert client.post(f"/rounds/{round_.id}/grades",
                           data={"member_id": member_id, "grade": "qualified"}).status_code == 302
    assert set(_grades(round_).values()) == {"qualified"}
    probationary = db.session.scalar(sa.select(Member.id).where(
        Member.organisation_id == round_.organisation_id,
        Member.status == MemberStatus.PROBATIONARY))
    client.post(f"/rounds/{round_.id}/grades", data={"member_id": probationary,
                                                      "grade": "excellent"})
    html = client.get(f"/rounds/{round_.id}/grades").get_data(as_text=True)
    assert "不在本次评议的正式党员名单中" in html and probationary not in _grades(round_)
    assert client.post(f"/rounds/{round_.id}/grades/confirm").status_code == 404  # office only
    assert not any(g.confirmed for g in member_grades.grades_of(round_).values())
    client.post("/logout")

    login(client, "supervisor")
    html = client.get(f"/rounds/{round_.id}/grades").get_data(as_text=True)
    assert "合格" in html and "保存" not in html and "确认组织评定" not in html
    response = client.post(f"/rounds/{round_.id}/grades",
                           data={"member_id": members[0][0], "grade": "unqualified"})
    assert response.status_code in (302, 403)
    assert _grades(round_)[members[0][0]] == "qualified"
    client.post("/logout")

    login(client, "office")
    client.post(f"/rounds/{round_.id}/grades/confirm")
    db.session.expire_all()
    assert all(g.confirmed_by == "office" for g in member_grades.grades_of(round_).values())


def test_a_secretary_cannot_see_or_grade_another_branch(client, demo):
    round_ = closed_member_review("XW0102")
    member_id = member_grades.graded_members(round_)[0][0]
    login(client, "secretary")
    assert client.get(f"/rounds/{round_.id}/grades").status_code == 404
    assert client.post(f"/rounds/{round_.id}/grades",
                       data={"member_id": member_id, "grade": "qualified"}).status_code == 404
    assert _grades(round_) == {}


def test_grading_needs_a_csrf_token(make_app, demo):
    round_ = closed_member_review()
    member_id = member_grades.graded_members(round_)[0][0]
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    login(client, "secretary")
    response = client.post(f"/rounds/{round_.id}/grades",
                           data={"member_id": member_id, "grade": "qualified"})
    assert response.status_code == 400
    assert _grades(round_) == {}


def test_a_ballot_with_more_than_a_third_excellent_is_shown_again_when_the_campaign_asks(
        client, demo):
    campaign = db.session.scalar(sa.select(Campaign))
    round_, cards = new_round(kind="member_review")
    response = client.post(f"/C/{cards[0]}", data=ballot_for(round_, "excellent"))
    assert response.status_code == 200 and counts(round_.id) == (1, 1)  # off by default

    campaign_rules.set_kind_settings(None, campaign, round_.kind, {"ballot_excellent_cap": "1"})
    response = client.post(f"/C/{cards[1]}", data=ballot_for(round_, "excellent"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "评为优秀的党员不得超过参评党员的三分之一" in html
    assert counts(round_.id) == (1, 1)
    checked = re.findall(r'<input[^>]*checked[^>]*value="excellent"|'
                         r'<input[^>]*value="excellent"[^>]*checked', html)
    assert len(checked) == len(member_grades.graded_members(round_))  # answers kept
    response = client.post(f"/C/{cards[1]}", data=ballot_for(round_, "qualified"))
    assert response.status_code == 200 and counts(round_.id) == (2, 2)


def test_results_show_members_and_masses_tallied_apart(client, demo):
    round_ = closed_member_review(groups={GroupCode.MEMBER: 5, GroupCode.MASSES: 5})
    login(client, "office")
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "党员评议与群众评议分开统计" in html
    assert html.count("<td>党员评议</td>") == html.count("<td>群众评议</td>") > 0
    assert "票数过少" not in html
    few = closed_member_review(groups={GroupCode.MEMBER: 6, GroupCode.MASSES: 3})
    html = client.get(f"/rounds/{few.id}").get_data(as_text=True)
    assert "票数过少，不单独显示" in html


def test_the_branch_page_shows_a_confirmed_unqualified_members_followup(client, demo):
    round_ = closed_member_review(grade="unqualified")
    members = member_grades.graded_members(round_)
    secretary = db.session.scalar(sa.select(User).where(User.username == "secretary"))
    office = db.session.scalar(sa.select(User).where(User.username == "office"))
    for member_id, _ in members:
        member_grades.record_grade(secretary, round_, member_id, "qualified")
    member_grades.record_grade(secretary, round_, members[0][0], "unqualified")
    member_grades.confirm_grades(office, round_)
    login(client, "secretary")
    row = member_grades.grades_of(round_)[members[0][0]]
    client.post(f"/grades/{row.id}/followup", data={"step": "correcting", "note": "跳过教育",
                                                   "deadline": "2999-01-01"})
    html = client.get(f"/orgs/{demo['XW0101']}").get_data(as_text=True)
    assert "不合格党员后续处理" in html and members[0][1] in html and "待帮助教育" in html
    client.post(f"/grades/{row.id}/followup", data={"step": "educated", "note": "谈心谈话"})
    html = client.get(f"/orgs/{demo['XW0101']}").get_data(as_text=True)
    assert "<td>帮助教育</td>" in html
