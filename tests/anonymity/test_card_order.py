"""After close, where a card row sits says nothing of when it was spent.

An insider who reads the cards table in storage order (PostgreSQL: by ctid) after the close
must not learn the order the cards were spent in: with the ballots' day (kept on purpose),
that order tells which cards were spent on which day, and a day with one ballot names its
card. The ballots are rewritten in key order at close; so are their cards.
"""
import secrets

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Card, GroupCode
from evalsvc.services import ballots, closing, codes
from tests.anonymity.test_traces_postgresql import _until_cleared
from tests.helpers import SATISFACTION, new_round


def _storage_order(round_id: int) -> list[str]:
    query = sa.select(Card.id).where(Card.round_id == round_id)
    if db.engine.dialect.name == "postgresql":
        query = query.order_by(sa.text("ctid"))
    return list(db.session.scalars(query))


def test_cards_sit_in_key_order_after_close_whatever_the_spending_order(app, demo):
    round_, cards = new_round(groups={GroupCode.MASSES: 60})
    ids = dict(db.session.execute(sa.select(Card.code_hash, Card.id)
                                  .where(Card.round_id == round_.id)).all())
    # Spent in the reverse of key order: a storage order that kept spending order shows.
    spending = sorted(cards, key=lambda code: ids[codes.hash_code(code)], reverse=True)
    rows = [(k, v, "") for k, v in SATISFACTION.items()]
    for code in spending:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), rows)
    db.session.commit()
    closing.close_round(None, round_)
    _until_cleared()  # the old copies gone, as an insider reads the table afterwards
    db.session.commit()
    stored = _storage_order(round_.id)
    assert sorted(stored) == sorted(ids.values())
    assert stored == sorted(stored), "the cards still sit in the order they were spent"
