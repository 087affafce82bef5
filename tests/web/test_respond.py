"""The respondent's phone pages: answer, get a receipt, exactly once, with clear refusals."""
import re

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Card, GroupCode, Round, Stage
from evalsvc.services import closing
from tests.helpers import SATISFACTION, ballot_for, counts, new_round, receipt_of

KINDS = [("satisfaction", Stage.REVIEW), ("member_review", Stage.REVIEW),
         ("opinion", Stage.REVIEW), ("stage_review", Stage.REVIEW)]


def _page(client, code):
    response = client.get(f"/C/{code}")
    html = response.get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', html)
    return response, html, nonce.group(1) if nonce else None


@pytest.mark.parametrize("kind, stage", KINDS)
def test_every_kind_renders_accepts_a_ballot_and_shows_a_receipt(client, demo, kind, stage):
    round_, cards = new_round(kind=kind, stage=stage)
    response, html, nonce = _page(client, cards[0])
    assert response.status_code == 200
    assert round_.title in html and 'lang="zh-CN"' in html and "<script" not in html
    data = {**ballot_for(round_), "nonce": nonce}
    response = client.post(f"/C/{cards[0]}", data=data)
    assert response.status_code == 200
    assert "提交成功" in response.get_data(as_text=True)
    assert re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}",
                        receipt_of(response.get_data(as_text=True)))
    assert counts(round_.id) == (1, 1)


def test_member_review_lists_full_members_only_one_block_each(client, demo):
    from evalsvc.models import Member, MemberStatus

    round_, cards = new_round(kind="member_review")
    html = _page(client, cards[0])[1]
    members = db.session.scalars(sa.select(Member).where(
        Member.organisation_id == round_.organisation_id)).all()
    for m in members:
        shown = f">{m.name}<" in html
        assert shown == (m.status is MemberStatus.FULL), m.name
    full = [m for m in members if m.status is MemberStatus.FULL]
    assert html.count('class="q member"') == len(full)
    assert "<table" not in html  # never a wide table on a phone
    for grade in ("优秀", "合格", "基本合格", "不合格"):
        assert html.count(f"<span>{grade}</span>") == len(full)


def test_invalid_submission_keeps_answers_and_names_each_problem(client, demo):
    round_, cards = new_round()
    _, _, nonce = _page(client, cards[0])
    response = client.post(f"/C/{cards[0]}", data={
        "nonce": nonce, "quality": "fairly", "organisation": "no-such-option",
        "advice": "请多下基层" * 120})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "「加强基层组织」的选项无效" in html
    assert "请选择「服务人民群众」" in html and "请选择「总体评价」" in html
    assert "不能超过 500 字" in html
    assert re.search(r'checked[^>]*value="fairly"|value="fairly"[^>]*checked', html)
    assert "请多下基层请多下基层" in html  # the long text is kept for editing
    assert counts(round_.id) == (0, 0)
    assert not db.session.scalar(sa.select(Card.spent).where(Card.round_id == round_.id,
                                                             Card.spent.is_(True)))


def test_spent_card_is_refused_and_stores_nothing(client, demo):
    round_, cards = new_round()
    _, _, nonce = _page(client, cards[0])
    client.post(f"/C/{cards[0]}", data={**SATISFACTION, "nonce": nonce})
    response = client.get(f"/C/{cards[0]}")
    assert response.status_code == 409 and "此二维码已使用" in response.get_data(as_text=True)
    other_page = {**SATISFACTION, "nonce": "another-page-value-123"}
    response = client.post(f"/C/{cards[0]}", data=other_page)
    assert response.status_code == 409 and "此二维码已使用" in response.get_data(as_text=True)
    assert counts(round_.id) == (1, 1)


def test_resubmitting_the_same_page_shows_the_same_receipt(client, demo):
    round_, cards = new_round()
    _, _, nonce = _page(client, cards[0])
    data = {**SATISFACTION, "nonce": nonce}
    first = receipt_of(client.post(f"/C/{cards[0]}", data=data).get_data(as_text=True))
    again = client.post(f"/C/{cards[0]}", data=data)
    assert again.status_code == 200
    assert receipt_of(again.get_data(as_text=True)) == first
    assert counts(round_.id) == (1, 1)


def test_typed_code_opens_the_ballot_forgiving_case_spaces_and_lookalikes(client, demo):
    round_, cards = new_round()
    typed = "-".join(cards[0][i:i + 4] for i in range(0, 12, 4)).lower()
    response = client.post("/c", data={"code": typed})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200
    response = client.post("/c", data={"code": "ABCD"})
    assert response.status_code == 422 and "26 位" in response.get_data(as_text=True)


def test_unknown_code_is_404_in_chinese(client, demo):
    response = client.get("/C/" + "A" * 26)
    assert response.status_code == 404 and "二维码无效" in response.get_data(as_text=True)


@pytest.mark.parametrize("state", ["draft", "closed"])
def test_outside_the_window_nothing_is_stored(client, demo, state):
    round_, cards = new_round(open_it=state != "draft")
    if state == "closed":
        closing.close_round(None, round_)
    message = "测评尚未开始" if state == "draft" else "测评已经结束"
    response = client.get(f"/C/{cards[0]}")
    assert response.status_code == 409 and message in response.get_data(as_text=True)
    response = client.post(f"/C/{cards[0]}", data={**SATISFACTION, "nonce": "x" * 22})
    assert response.status_code == 409 and message in response.get_data(as_text=True)
    assert counts(round_.id) == (0, 0)


def test_poster_allows_one_ballot_per_device_within_the_cap(make_app, demo_database):
    app = make_app()
    with app.app_context():
        round_, _ = new_round(kind="opinion", groups={}, poster=True,
                              poster_cap=2)
        token = round_.poster_token
    phone_a, phone_b, phone_c = (app.test_client() for _ in range(3))
    page = phone_a.get(f"/p/{token}").get_data(as_text=True)
    assert "不是一人一票" in page
    response = phone_a.post(f"/p/{token}", data={"nonce": "a" * 22, "comment": "希望公开账目"})
    assert response.status_code == 200
    receipt = receipt_of(response.get_data(as_text=True))
    again = phone_a.get(f"/p/{token}")
    assert again.status_code == 409 and receipt in again.get_data(as_text=True)
    assert phone_b.post(f"/p/{token}", data={"nonce": "b" * 22}).status_code == 200
    full = phone_c.post(f"/p/{token}", data={"nonce": "c" * 22})
    assert full.status_code == 409 and "名额已满" in full.get_data(as_text=True)
    with app.app_context():
        assert counts(round_.id) == (2, 2)
        group = db.session.scalar(sa.select(Ballot.group_id).where(
            Ballot.round_id == round_.id, Ballot.answers.contains("希望公开账目")))
        assert group == db.session.get(Round, round_.id).group(GroupCode.PUBLIC).id


def test_poster_double_click_counts_once_with_the_same_receipt(make_app, demo_database):
    app = make_app()
    with app.app_context():
        round_, _ = new_round(kind="opinion", groups={}, poster=True)
        token, round_id = round_.poster_token, round_.id
    first, second = app.test_client(), app.test_client()  # the cookie has not arrived yet
    page = {"nonce": "d" * 22, "comment": "同一页面提交两次"}
    receipts = {receipt_of(c.post(f"/p/{token}", data=page).get_data(as_text=True))
                for c in (first, second)}
    assert len(receipts) == 1
    with app.app_context():
        assert counts(round_id) == (1, 1)


def test_phone_pages_send_security_headers_and_no_external_requests(client, demo):
    round_, cards = new_round(kind="member_review")
    response = client.get(f"/C/{cards[0]}")
    html = response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "Set-Cookie" not in response.headers  # respondents get no session
