"""Members are listed in the branch's order number, then in 姓氏笔画 order (stroke count of
the surname, then of each next character), never in code-point order: on the ballot, on the
branch page and in the member-review results."""
import secrets

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import GroupCode, Member, Stage
from evalsvc.services import closing, results, rounds
from evalsvc.services.ballots import cast_card_ballot
from evalsvc.strokes import stroke_count, stroke_key
from tests.helpers import login
from tests.helpers import new_round, org_id

# 百家姓's opening surnames, with their mainland stroke counts.
SURNAMES = {"赵": 9, "钱": 10, "孙": 6, "李": 7, "周": 8, "吴": 7, "郑": 8, "王": 4}
# (name, order number): two numbered members, the rest by strokes.
ROSTER = [("赵六", None), ("李四", None), ("钱二", 2), ("王五", None), ("欧阳锋", None),
          ("王小二", None), ("孙一", 1)]
BALLOT_ORDER = ["孙一", "钱二", "王小二", "王五", "李四", "欧阳锋", "赵六"]


def test_stroke_counts_come_from_unihan_mainland_counts():
    assert {c: stroke_count(c) for c in SURNAMES} == SURNAMES
    assert stroke_count("黄") == 11  # mainland form; Taiwan counts 12
    assert stroke_count("A") is None and stroke_count("·") is None


def test_surnames_sort_by_strokes_not_code_point():
    by_strokes = sorted(SURNAMES, key=stroke_key)
    assert [SURNAMES[c] for c in by_strokes] == sorted(SURNAMES.values())
    assert by_strokes.index("王") < by_strokes.index("李") < by_strokes.index("赵")
    assert sorted(SURNAMES) != by_strokes  # code point would put 吴 孙 周 李 王 first
    # Same surname: the next character decides (小 3 strokes before 五 4).
    assert sorted(["王五", "王小二", "王"], key=stroke_key) == ["王", "王小二", "王五"]


def _branch_with_roster(code="XW050103"):
    """The branch's demo members retired from the list, and ROSTER added in file order."""
    branch = org_id(code)
    for member in db.session.scalars(sa.select(Member).where(Member.organisation_id == branch)):
        member.active = False
    db.session.add_all(Member(organisation_id=branch, name=name, sort_order=order)
                       for name, order in ROSTER)
    db.session.commit()
    return branch


def test_ballot_lists_numbered_members_first_then_by_strokes(client, demo):
    _branch_with_roster()
    round_, codes = new_round("XW050103", kind="member_review", stage=Stage.STUDY,
                              groups={GroupCode.MEMBER: 5})
    names = [q.text for q in rounds.layout(round_) if q.member_id is not None
             and q.type == "choice"]
    assert names == BALLOT_ORDER
    # The phone page a respondent reads shows them in that order.
    html = client.get(f"/C/{codes[0]}").get_data(as_text=True)
    positions = [html.index(name) for name in BALLOT_ORDER]
    assert positions == sorted(positions)


def test_results_list_members_in_ballot_order(app, demo):
    _branch_with_roster()
    round_, codes = new_round("XW050103", kind="member_review", stage=Stage.STUDY,
                              groups={GroupCode.MEMBER: 5})
    rows = [(q.key, "qualified", "") for q in rounds.layout(round_) if q.type == "choice"]
    for code in codes:
        cast_card_ballot(round_.id, code, secrets.token_urlsafe(12), rows)
    closing.close_round(None, round_)
    assert [m.name for m in results.result_of(round_).members] == BALLOT_ORDER


def test_branch_page_lists_members_in_ballot_order(client, demo):
    branch = _branch_with_roster()
    login(client, "office")
    html = client.get(f"/orgs/{branch}").get_data(as_text=True)
    positions = [html.index(f"<td>{name}</td>") for name in BALLOT_ORDER]
    assert positions == sorted(positions)


def test_an_order_number_set_on_the_member_form_moves_the_member_up(client, demo):
    branch = _branch_with_roster()
    zhao = db.session.scalar(sa.select(Member).where(Member.organisation_id == branch,
                                                     Member.name == "赵六"))
    login(client, "office")
    response = client.post(f"/members/{zhao.id}/edit", data={
        "name": "赵六", "status": "full", "sort_order": "1", "active": "y"})
    assert response.status_code == 302
    html = client.get(f"/orgs/{branch}").get_data(as_text=True)
    # 赵 now shares order number 1 with 孙: the tie goes by strokes (孙 6, 赵 9).
    assert html.index("<td>孙一</td>") < html.index("<td>赵六</td>") < html.index("<td>钱二</td>")
    # Two active members of one branch may not share a name (the ballot could not tell them).
    html = client.post(f"/orgs/{branch}/members/new", data={
        "name": "李四", "status": "full"}).get_data(as_text=True)
    assert "李四 已是本支部的在册党员" in html
    assert len(db.session.scalars(sa.select(Member).where(
        Member.organisation_id == branch, Member.name == "李四")).all()) == 1
