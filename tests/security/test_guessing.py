"""Nobody guesses their way in: card codes, receipts and staff passwords."""
import secrets

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Card, GroupCode
from evalsvc.services import codes
from tests.helpers import new_round

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def test_a_hundred_thousand_random_codes_find_no_card(app, demo):
    new_round(groups={GroupCode.MEMBER: 500, GroupCode.MASSES: 500})
    issued = set(db.session.scalars(sa.select(Card.code_hash)))
    assert len(issued) == 1000
    # Well-formed codes made with a key the guesser invented: the best a guesser can do.
    guesser_key = secrets.token_hex(32)
    hits = sum(codes.hash_code(code) in issued for code in codes.card_codes(
        guesser_key, 1, "masses", range(100_000), version=codes.CODE_VERSION))
    assert hits == 0


def test_card_guessing_is_rate_limited_per_client(make_app):
    app = make_app(CARD_GUESS_LIMIT="5/600")
    with app.app_context():
        from evalsvc.services.demo import load_demo

        load_demo()
        _, cards = new_round()
    guesser = app.test_client()
    statuses = [guesser.get("/C/" + "A" * 25 + ALPHABET[i]).status_code for i in range(7)]
    assert statuses == [404] * 5 + [429] * 2
    assert "尝试次数过多" in guesser.get("/C/" + cards[0]).get_data(as_text=True)
    other = guesser.get("/C/" + cards[0], environ_overrides={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200  # another client is not blocked


def test_an_ipv6_client_cannot_escape_the_limit_by_changing_address(make_app):
    # A phone on IPv6 holds a whole /64: each guess from a new address is still its guess.
    app = make_app(CARD_GUESS_LIMIT="5/600")
    with app.app_context():
        from evalsvc.services.demo import load_demo

        load_demo()
    guesser = app.test_client()
    statuses = [guesser.get("/C/" + "A" * 25 + ALPHABET[i], environ_overrides={
        "REMOTE_ADDR": f"2001:db8:1:2::{i + 1:x}"}).status_code for i in range(7)]
    assert statuses == [404] * 5 + [429] * 2
    neighbour = guesser.get("/C/" + "A" * 26, environ_overrides={"REMOTE_ADDR": "2001:db8:1:3::1"})
    assert neighbour.status_code == 404  # another /64 is another client


def test_valid_scans_never_count_toward_the_limit(make_app):
    app = make_app(CARD_GUESS_LIMIT="3/600")
    with app.app_context():
        from evalsvc.services.demo import load_demo

        load_demo()
        _, cards = new_round(groups={GroupCode.MASSES: 10})
    hall = app.test_client()  # a whole hall behind one address
    assert all(hall.get(f"/C/{c}").status_code == 200 for c in cards)


@pytest.mark.parametrize("storage", ["memory", "redis://127.0.0.1:6379/0"])
def test_login_is_locked_after_repeated_failures(make_app, storage):
    app = make_app(RATELIMIT_STORAGE=storage, LOGIN_ACCOUNT_LIMIT="3/900",
                   RATELIMIT_PREFIX=f"test-{secrets.token_hex(4)}")
    with app.app_context():
        from evalsvc.services.demo import load_demo

        load_demo()
    client = app.test_client()
    for _ in range(3):
        response = client.post("/login", data={"username": "office", "password": "wrong-pass"})
        assert response.status_code == 200
    locked = client.post("/login", data={"username": "office", "password": "demo-office-pass"})
    assert locked.status_code == 429 and "暂时锁定" in locked.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302  # still not logged in
    other = client.post("/login", data={"username": "secretary",
                                        "password": "demo-secretary-pass"})
    assert other.status_code == 302  # other accounts are unaffected


def test_receipt_guessing_is_rate_limited(make_app):
    app = make_app(RECEIPT_GUESS_LIMIT="2/600")
    with app.app_context():
        from evalsvc.services.demo import load_demo

        load_demo()
    client = app.test_client()
    statuses = [client.post("/receipt", data={"code": f"AAAA-BBBB-CCC{c}"}).status_code
                for c in "DEFG"]
    assert statuses == [404, 404, 429, 429]
