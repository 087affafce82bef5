"""Storing ballots exactly once, anonymously.

One transaction marks the card spent (a conditional UPDATE that must hit one row), stores
the ballot with its answers, and adds the receipt to the round's list. The transaction
commits before the thank-you page is sent. Core statements keep the hot path short.
"""
import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from evalsvc.extensions import db
from evalsvc.models import Answer, Ballot, Card, GroupCode, Receipt, RespondentGroup, Round, \
    RoundState
from evalsvc.services import codes
from evalsvc.services.today import today

AnswerRows = Iterable[tuple[str, str, str]]  # (question, value, text)


class Refused(Exception):
    """The ballot was not stored; ``reason`` says why."""

    def __init__(self, reason: str, state: RoundState | None = None):
        super().__init__(reason)
        self.reason, self.state = reason, state


@dataclass(frozen=True)
class Accepted:
    """A stored ballot's receipt; ``repeated`` when this was a resubmission of it."""

    receipt: str
    repeated: bool = False


@dataclass(frozen=True)
class CardLookup:
    """What a scanned code opens: its round, and whether the card is spent."""

    round: Round
    spent: bool


def find_card(code: str) -> CardLookup | None:
    """The round of a card code, or None for a code that was never issued."""
    row = db.session.execute(
        sa.select(Card.round_id, Card.spent).where(Card.code_hash == codes.hash_code(code))
    ).first()
    if row is None:
        return None
    return CardLookup(db.session.get(Round, row.round_id), row.spent)


@contextmanager
def _write_transaction():
    """A transaction that takes SQLite's write lock up front (no upgrade deadlocks)."""
    with db.engine.connect().execution_options(sqlite_immediate=True) as conn:
        with conn.begin():
            yield conn


def _lock_open_round(conn, round_id: int) -> None:
    """Share-lock the round row (so closing waits for us) and check it is open."""
    state = conn.execute(sa.select(Round.state).where(Round.id == round_id)
                         .with_for_update(read=True)).scalar()
    if state is not RoundState.OPEN:
        raise Refused("not_open", state)


def cast_card_ballot(round_id: int, code: str, nonce: str, rows: AnswerRows) -> Accepted:
    """Spend the card and store its ballot, or say why not."""
    receipt = codes.receipt_code(current_app.config["SECRET_KEY"], round_id, code, nonce)
    with _write_transaction() as conn:
        _lock_open_round(conn, round_id)
        group_id = conn.execute(
            sa.update(Card)
            .where(Card.code_hash == codes.hash_code(code), Card.round_id == round_id,
                   Card.spent.is_(False))
            .values(spent=True)
            .returning(Card.group_id)
        ).scalar()
        if group_id is None:
            if conn.execute(sa.select(Receipt.code).where(Receipt.code == receipt)).first():
                return Accepted(receipt, repeated=True)  # the same page, sent twice
            raise Refused("spent")
        _store(conn, round_id, group_id, rows, receipt)
    return Accepted(receipt)


def cast_poster_ballot(round_id: int, nonce: str, rows: AnswerRows) -> Accepted:
    """Count one ballot against the poster's cap and store it; the same page sent twice
    (a double-click) gets its receipt again and counts once."""
    receipt = codes.poster_receipt(current_app.config["SECRET_KEY"], round_id, nonce)
    with _write_transaction() as conn:
        if conn.execute(sa.select(Receipt.code).where(Receipt.code == receipt)).first():
            return Accepted(receipt, repeated=True)
        # One conditional UPDATE both checks the window and takes the row lock (a share
        # lock first would deadlock against the other posters' updates on PostgreSQL).
        taken = conn.execute(
            sa.update(Round)
            .where(Round.id == round_id, Round.state == RoundState.OPEN,
                   Round.poster_token.is_not(None),
                   sa.or_(Round.poster_cap.is_(None), Round.poster_used < Round.poster_cap))
            .values(poster_used=Round.poster_used + 1)
        ).rowcount
        if taken != 1:
            state = conn.execute(sa.select(Round.state).where(Round.id == round_id)).scalar()
            raise Refused("full") if state is RoundState.OPEN else Refused("not_open", state)
        group_id = conn.execute(sa.select(RespondentGroup.id).where(
            RespondentGroup.round_id == round_id,
            RespondentGroup.code == GroupCode.PUBLIC)).scalar_one()
        _store(conn, round_id, group_id, rows, receipt)
    return Accepted(receipt)


def _store(conn, round_id: int, group_id: int, rows: AnswerRows, receipt: str) -> None:
    """Insert the ballot, its answers and the receipt; no reference joins them."""
    ballot_id = secrets.token_hex(16)
    conn.execute(sa.insert(Ballot).values(id=ballot_id, round_id=round_id, group_id=group_id,
                                          day=today()))
    answers = [{"ballot_id": ballot_id, "round_id": round_id, "group_id": group_id,
                "question": q, "value": v, "text": t or None} for q, v, t in rows]
    if answers:
        conn.execute(sa.insert(Answer), answers)
    conn.execute(sa.insert(Receipt).values(code=receipt, round_id=round_id))


def receipt_exists(receipt: str) -> bool:
    """True when the receipt is in some round's receipt list."""
    return db.session.scalar(sa.select(Receipt.code).where(Receipt.code == receipt)) is not None
