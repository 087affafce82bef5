"""Typed card codes: 12 characters in groups of four, no look-alikes; old cards still work."""
import re

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Card, GroupCode
from evalsvc.services import codes, rounds
from tests.helpers import new_round

LOOKALIKES = set("0O1IL")


def test_new_cards_have_twelve_characters_without_lookalikes(app, demo):
    _round, cards = new_round(groups={GroupCode.MASSES: 200})
    assert all(len(c) == 12 and set(c) <= set(codes.SHORT_ALPHABET) for c in cards)
    assert not LOOKALIKES & set(codes.SHORT_ALPHABET)
    assert len(set(cards)) == 200
    shown = codes.display_code(cards[0])
    assert re.fullmatch(r"\w{4} \w{4} \w{4}", shown)
    assert codes.normalise_code(shown.lower()) == cards[0]


def test_a_typed_short_code_with_a_lookalike_is_refused_not_guessed(app):
    assert codes.normalise_code("ABCD EFGH JK0M") is None  # 0 is never printed
    assert codes.normalise_code("ABCD-EFGH-JKMN") == "ABCDEFGHJKMN"


def test_short_codes_open_the_ballot_by_scan_and_by_typing(client, demo):
    _round, cards = new_round()
    assert client.get(f"/C/{cards[0]}").status_code == 200
    typed = client.post("/c", data={"code": codes.display_code(cards[1]).lower()})
    assert typed.status_code == 303
    assert client.get(typed.headers["Location"]).status_code == 200


def test_rounds_printed_with_long_codes_keep_working(client, demo):
    round_, _ = new_round(open_it=False)
    # A round made before short codes: version 1, its cards issued as they were then.
    db.session.execute(sa.delete(Card).where(Card.round_id == round_.id))
    round_.code_version = 1
    rounds.issue_cards([round_])
    db.session.commit()
    rounds.open_round(None, round_)
    old = [code for _group, code in rounds.card_codes(round_)]
    assert all(len(c) == 26 for c in old)
    assert client.get(f"/C/{old[0]}").status_code == 200
    typed = client.post("/c", data={"code": codes.display_code(old[1])})
    assert typed.status_code == 303
    assert client.get(typed.headers["Location"]).status_code == 200


def test_a_code_typed_in_full_width_opens_the_ballot(client, demo):
    # A Chinese input method in full-width mode types ＡＢＣＤ　１２３４ (U+FF21…, U+3000).
    _round, cards = new_round()
    wide = "".join(chr(ord(c) + 0xFEE0) for c in cards[0].lower()[:4]) + "\u3000" + \
        "".join(chr(ord(c) + 0xFEE0) for c in cards[0][4:8]) + "－" + cards[0][8:]
    assert codes.normalise_code(wide) == cards[0]
    typed = client.post("/c", data={"code": wide})
    assert typed.status_code == 303
    assert client.get(typed.headers["Location"]).status_code == 200
    assert codes.normalise_receipt("ＡＢＣＤ－ＥＦＧＨ－ＪＫＭＮ") == "ABCDEFGHJKMN"


def test_a_typed_code_with_a_character_never_printed_says_which(client, demo):
    page = client.post("/c", data={"code": "abcd efgh jk0m"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "测评卡代码里没有 0" in html
    assert "代码应为 12 位" not in html
    short = client.post("/c", data={"code": "abcd efgh"})
    assert short.status_code == 422 and "代码应为 12 位" in short.get_data(as_text=True)
