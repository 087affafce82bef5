"""A stored ballot cannot be linked to the card, device, person or moment that cast it."""
import json
import re

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Base, Card, Receipt
from evalsvc.services import closing, codes, rounds
from evalsvc.services.today import today
from tests.helpers import SATISFACTION, new_round, receipt_of, stored_answers

BALLOT_TABLES = ("ballots", "receipts")
TIME_TYPES = (sa.DateTime, sa.Time)


def test_no_column_links_a_ballot_to_a_card_device_or_time():
    tables = Base.metadata.tables
    for name in BALLOT_TABLES:
        table = tables[name]
        referenced = {fk.column.table.name for fk in table.foreign_keys}
        assert "cards" not in referenced and "users" not in referenced, name
        for column in table.columns:
            assert not isinstance(column.type, TIME_TYPES), f"{name}.{column.name}"
            assert not re.search(r"card|code_hash|ip|agent|device|token|time|seq|created",
                                 column.name), f"{name}.{column.name}"
    card_refs = {fk.column.table.name for fk in tables["cards"].foreign_keys}
    assert not card_refs & set(BALLOT_TABLES)
    receipt_columns = {c.name for c in tables["receipts"].columns}
    assert receipt_columns == {"code", "round_id"}  # a receipt names no ballot
    assert {c.name for c in tables["ballots"].columns} == {"id", "round_id", "group_id", "day",
                                                          "channel", "answers"}
    assert "answers" not in tables  # a ballot is one row: no answer rows in arrival order


def _submit(client, code, answers, nonce_out=None):
    page = client.get(f"/C/{code}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page).group(1)
    if nonce_out is not None:
        nonce_out.append(nonce)
    return client.post(f"/C/{code}", data={**answers, "nonce": nonce})


def _stored_rows():
    ballots = db.session.execute(sa.select(Ballot.round_id, Ballot.group_id, Ballot.day)).all()
    answers = [(b, q, v, t) for b, _g, q, v, t in stored_answers()]
    return ballots, answers


def test_equal_ballots_cast_in_order_cannot_be_told_apart(client, demo):
    round_, cards = new_round()
    _submit(client, cards[0], SATISFACTION)  # A
    _submit(client, cards[1], SATISFACTION)  # B
    ballots, answers = _stored_rows()
    assert len(ballots) == 2 and ballots[0] == ballots[1]  # same round, group and day
    by_ballot: dict[str, list] = {}
    for ballot_id, *rest in answers:
        by_ballot.setdefault(ballot_id, []).append(tuple(rest))
    first, second = (sorted(v) for v in by_ballot.values())
    assert first == second  # only the random ids differ
    packed = db.session.execute(sa.text("SELECT answers FROM ballots")).scalars().all()
    assert packed[0] == packed[1]  # byte for byte: the packing adds nothing of its own
    for ballot_id in by_ballot:
        assert re.fullmatch(r"[0-9a-f]{32}", ballot_id)


def test_ids_and_storage_order_do_not_follow_submission_order(client, demo):
    round_, cards = new_round(groups={rounds.GroupCode.MASSES: 24})
    receipts_in_order = []
    for code in cards:
        receipts_in_order.append(receipt_of(_submit(client, code, SATISFACTION)
                                            .get_data(as_text=True)).replace("-", ""))
    closing.close_round(None, round_)
    stored_receipts = db.session.scalars(sa.select(Receipt.code)).all()  # storage order
    assert sorted(stored_receipts) == sorted(receipts_in_order)
    assert stored_receipts != receipts_in_order
    ids = db.session.scalars(sa.select(Ballot.id)).all()  # storage order
    assert ids == sorted(ids) or db.engine.dialect.name == "postgresql"
    if db.engine.dialect.name == "postgresql":
        # After closing, every row was rewritten by one transaction in a random order.
        xmins = db.session.execute(sa.text(
            "SELECT count(DISTINCT xmin::text) FROM ballots WHERE round_id = :r"),
            {"r": round_.id}).scalar()
        assert xmins == 1


def test_a_receipt_proves_counting_but_not_which_ballot(client, demo):
    round_, cards = new_round()
    response = _submit(client, cards[0], SATISFACTION)
    receipt = receipt_of(response.get_data(as_text=True)).replace("-", "")
    assert db.session.get(Receipt, receipt).round_id == round_.id
    ballot = db.session.scalars(sa.select(Ballot)).one()
    assert receipt not in ballot.id
    # Nothing in the database contains the card code either.
    dump = repr(db.session.execute(sa.select(Card)).all()) + repr(_stored_rows())
    assert cards[0] not in dump


def test_the_packed_answers_hold_question_value_and_text_only(client, demo):
    """A ballot's packed answers, read raw: a list of [question, value, text] exactly as
    answered, and nothing that could lead back to the card, the page or the moment: no
    card code or hash, no nonce, no receipt, no ballot id, no date or time."""
    round_, cards = new_round(kind="satisfaction")
    nonces = []
    answers = {**SATISFACTION, "advice": "食堂的菜价希望公示"}
    receipt = receipt_of(_submit(client, cards[0], answers, nonces).get_data(as_text=True))
    closing.close_round(None, round_)
    ballot_id, packed = db.session.execute(
        sa.text("SELECT id, answers FROM ballots WHERE round_id = :r"), {"r": round_.id}).one()
    decoded = json.loads(packed)
    assert all(isinstance(a, list) and len(a) == 3 for a in decoded)
    assert sorted(decoded) == sorted([[q, v, None] for q, v in SATISFACTION.items()]
                                     + [["advice", "", "食堂的菜价希望公示"]])
    assert packed == json.dumps(decoded, separators=(",", ":"), ensure_ascii=False)
    assert decoded == sorted(decoded, key=lambda a: (a[0], a[1]))  # canonical: sorted
    forbidden = [cards[0], codes.hash_code(cards[0]), nonces[0], receipt,
                 receipt.replace("-", ""), ballot_id, today().isoformat(), str(today().year)]
    assert not [f for f in forbidden if f in packed]
    assert not re.search(r"\d{1,2}:\d{2}", packed)  # no time of day
