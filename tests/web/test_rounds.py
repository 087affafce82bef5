"""Staff pages for rounds: a secretary runs a round from the web alone."""
import re

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Round, RoundState
from tests.helpers import SATISFACTION, csrf_token, login, new_round


def test_secretary_creates_opens_prints_and_watches_participation(client, demo):
    from evalsvc.services.printing import set_delegation

    login(client, "secretary")
    response = client.post(f"/orgs/{demo['XW0101']}/rounds/new", data={
        "kind": "satisfaction", "stage": "review", "definition_name": "", "title": "",
        "member_cards": "3", "masses_cards": "5", "service_cards": "0"})
    assert response.status_code == 302, response.get_data(as_text=True)
    round_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/rounds/{round_id}/open").status_code == 302
    set_delegation(None, db.session.get(Round, round_id), True)  # the office lets the branch
    pdf = client.get(f"/rounds/{round_id}/cards.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "no-store"
    round_ = db.session.get(Round, round_id)
    from evalsvc.services.rounds import card_codes

    code = card_codes(round_)[0][1]
    page = client.get(f"/C/{code}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    client.post(f"/C/{code}", data={**SATISFACTION, "nonce": nonce})
    html = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "只显示参与情况" in html
    assert re.search(r"<td>1</td>\s*<td>(20|33)%</td>", html)


def test_round_form_names_problems_and_creates_nothing(client, demo):
    login(client, "secretary")
    response = client.post(f"/orgs/{demo['XW0101']}/rounds/new", data={
        "kind": "satisfaction", "stage": "review", "definition_name": "",
        "member_cards": "0", "masses_cards": "-3", "service_cards": "0"})
    assert "数量应在 0 到 5000 之间" in response.get_data(as_text=True)
    response = client.post(f"/orgs/{demo['XW0101']}/rounds/new", data={
        "kind": "satisfaction", "stage": "review", "definition_name": "",
        "member_cards": "0", "masses_cards": "0", "service_cards": "0"})
    assert "请至少为一类参评对象发放测评卡" in response.get_data(as_text=True)
    response = client.post(f"/orgs/{demo['XW0101']}/rounds/new", data={
        "kind": "satisfaction", "stage": "review", "definition_name": "",
        "member_cards": "3", "masses_cards": "0", "service_cards": "0",
        "attempt": "99999999999999999999", "poster": "y", "poster_cap": "9" * 20})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "应在 1 到 99 之间" in html
    assert "应在 1 到 1000000 之间" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0


def test_preview_shows_the_ballot_as_respondents_see_it(client, demo):
    login(client, "supervisor")
    html = client.get("/definitions").get_data(as_text=True)
    for name in ("satisfaction", "member_review", "opinion", "stage_review_study"):
        assert f"/definitions/{name}/preview" in html
    preview = client.get("/definitions/member_review/preview").get_data(as_text=True)
    assert "预览" in preview and "党员甲" in preview and "disabled" in preview
    round_, _ = new_round(kind="member_review", open_it=False)
    assert client.get(f"/rounds/{round_.id}/preview").status_code == 200


def test_supervisor_sees_rounds_but_cannot_print_cards_or_change_state(client, demo):
    round_, _ = new_round(open_it=False)
    login(client, "supervisor")
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "打印测评卡" not in html and "开始测评" not in html
    assert client.get(f"/rounds/{round_.id}/cards.pdf").status_code == 403
    assert client.post(f"/rounds/{round_.id}/open").status_code == 403
    db.session.expire_all()
    assert db.session.get(Round, round_.id).state is RoundState.DRAFT


def test_open_and_close_need_a_csrf_token(make_app, demo_database):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        round_, _ = new_round(open_it=False)
        round_id = round_.id
    client = app.test_client()
    login(client, "secretary")
    assert client.post(f"/rounds/{round_id}/open").status_code == 400
    detail = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    token = csrf_token(detail)
    assert client.post(f"/rounds/{round_id}/open", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(Round, round_id).state is RoundState.OPEN
