"""Receipts resolve publicly without revealing answers; receipt lists can be published."""
import re

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Receipt
from evalsvc.services import closing
from tests.helpers import SATISFACTION, login, new_round, receipt_of


def _vote(client, code):
    page = client.get(f"/C/{code}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    return receipt_of(client.post(f"/C/{code}", data={**SATISFACTION, "nonce": nonce})
                      .get_data(as_text=True))


def test_a_receipt_resolves_to_its_round_and_never_to_answers(client, demo):
    round_, cards = new_round()
    receipt = _vote(client, cards[0])
    page = client.post("/receipt", data={"code": receipt.lower().replace("-", " ")})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "已计入" in html and round_.title in html
    for answer_label in ("比较满意", "基本满意", "不满意"):
        assert answer_label not in html
    assert "测评进行中" in html


def test_unknown_and_malformed_receipts_are_explained(client, demo):
    assert client.post("/receipt", data={"code": "AAAA-BBBB-CCCC"}).status_code == 404
    response = client.post("/receipt", data={"code": "xyz"})
    assert response.status_code == 422 and "12 位" in response.get_data(as_text=True)
    assert client.get("/receipt").status_code == 200


def test_published_receipt_list_shows_codes_only_after_closing(client, demo):
    round_, cards = new_round()
    shown = {_vote(client, code) for code in cards[:3]}
    assert client.get(f"/receipts/{round_.id}").status_code == 404
    closing.close_round(None, round_)
    assert client.get(f"/receipts/{round_.id}").status_code == 404  # not yet published
    login(client, "secretary")
    client.post(f"/rounds/{round_.id}/publish-receipts")
    client.post("/logout")
    html = client.get(f"/receipts/{round_.id}").get_data(as_text=True)
    listed = set(re.findall(r"<li>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</li>", html))
    assert listed == shown
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Receipt)) == 3
