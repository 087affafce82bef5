"""Storing ballots exactly once, anonymously.

One transaction marks the card spent (a conditional UPDATE that must hit one row), stores
the ballot (one row, its answers packed in it: ``services.packed``), and adds the receipt
to the round's list. The transaction
commits before the thank-you page is sent. Core statements keep the hot path short.
"""
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from evalsvc import database
from evalsvc.extensions import db
from evalsvc.models import Ballot, Campaign, Card, GroupCode, Receipt, \
    RespondentGroup, Round, RoundState
from evalsvc.services import codes
from evalsvc.services.packed import AnswerRows, pack
from evalsvc.services.today import today


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
class RoundView:
    """What a respondent's page needs of a round, read in the same statement as the card."""

    id: int
    kind: str
    state: RoundState
    title: str
    definition_name: str
    layout_json: str | None
    poster_token: str | None
    # The campaign's 优秀 cap and kind settings: the ballot rules some kinds check.
    excellent_cap: float = 1 / 3
    campaign_kind_settings: dict | None = None
    definition_version: int | None = None

    @property
    def is_poster(self) -> bool:
        """An open consultation by poster: not one-person-one-vote."""
        return self.poster_token is not None


ROUND_VIEW = (Round.id, Round.kind, Round.state, Round.title, Round.definition_name,
              Round.layout_json, Round.poster_token, Campaign.excellent_cap,
              Campaign.kind_settings, Round.definition_version)


@dataclass(frozen=True)
class CardLookup:
    """What a scanned code opens: its round, and whether the card is spent."""

    round: RoundView
    spent: bool


@contextmanager
def connection() -> Iterator[sa.Connection]:
    """One pooled connection for a respondent's request, in autocommit: the card lookup and
    the ballot's write share it (one checkout instead of two), and no transaction stays open
    between them (on SQLite an open read would keep the write-ahead log from being
    checkpointed). Pass it to ``find_card``, ``cast_card_ballot`` and ``receipt_exists``."""
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def _connection(conn: sa.Connection | None):
    """The caller's connection (left open), or a connection of this call's own."""
    return nullcontext(conn) if conn is not None else connection()


_CARD_LOOKUP = (sa.select(Card.spent, *ROUND_VIEW).join(Round, Round.id == Card.round_id)
                .join(Campaign, Campaign.id == Round.campaign_id)
                .where(Card.code_hash == sa.bindparam("card_hash")))


def find_card(code: str, conn: sa.Connection | None = None) -> CardLookup | None:
    """The round of a card code, or None for a code that was never issued.

    One statement, in autocommit: no read transaction stays open across the write.
    """
    with _connection(conn) as conn:
        row = conn.execute(_CARD_LOOKUP, {"card_hash": codes.hash_code(code)}).first()
        conn.rollback()  # ends SQLAlchemy's own transaction (nothing is sent)
    if row is None:
        return None
    return CardLookup(RoundView(*row[1:]), row.spent)


def find_poster(token: str) -> RoundView | None:
    """The round of a poster token, or None."""
    with connection() as conn:
        row = conn.execute(sa.select(*ROUND_VIEW).join(Campaign, Campaign.id == Round.campaign_id)
                           .where(Round.poster_token == token)).first()
    return RoundView(*row) if row else None


@contextmanager
def _write_transaction(conn: sa.Connection | None = None):
    """A transaction that takes SQLite's write lock up front (no upgrade deadlocks), on the
    caller's connection or on one of its own."""
    with (nullcontext(conn) if conn is not None else db.engine.connect()) as conn:
        conn.execution_options(sqlite_immediate=True)
        with database.writers_queue(db.engine), conn.begin():
            yield conn


def cast_card_ballot(round_id: int, code: str, nonce: str, rows: AnswerRows,
                     conn: sa.Connection | None = None) -> Accepted:
    """Spend the card and store its ballot, or say why not (on ``conn``, the request's
    ``connection()``, when given)."""
    receipt = codes.receipt_code(current_app.config["SECRET_KEY"], round_id, code, nonce)
    if db.engine.dialect.name == "postgresql":
        with _connection(conn) as conn:  # one statement: atomic and durable on its own
            return _cast_in_one_statement(conn, round_id, code, rows, receipt)
    # SQLite has one writer at a time: everything is prepared before the write lock is
    # taken, and the statements inside it go straight to the driver's cursor (SQLAlchemy
    # still begins and commits), so the lock is held for the SQL alone.
    card, ballot_id, day = codes.hash_code(code), secrets.token_hex(16), today().isoformat()
    answers = pack(rows)
    with _write_transaction(conn) as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            # One statement checks the window and spends the card; it hits one row or none.
            spent = cursor.execute(_SPEND_SQL, (card, round_id, round_id)).fetchone()
            if spent is None:
                _explain_refusal(conn, round_id, receipt)
                return Accepted(receipt, repeated=True)  # the same page, sent twice
            group_id = spent[0]
            cursor.execute(_BALLOT_SQL, (ballot_id, round_id, group_id, day, answers))
            cursor.execute(_RECEIPT_SQL, (receipt, round_id))
        finally:
            cursor.close()
    return Accepted(receipt)


_SPEND_SQL = ("UPDATE cards SET spent = 1 WHERE code_hash = ? AND round_id = ? AND spent = 0"
              " AND round_id IN (SELECT id FROM rounds WHERE id = ? AND state = 'open')"
              " RETURNING group_id")
_BALLOT_SQL = ("INSERT INTO ballots (id, round_id, group_id, day, answers)"
               " VALUES (?, ?, ?, ?, ?)")
_RECEIPT_SQL = "INSERT INTO receipts (code, round_id) VALUES (?, ?)"


# PostgreSQL: spend the card and store the ballot and the receipt in one round trip.
# Each step feeds on the previous one, so nothing is written unless the card was spent.
_CAST_SQL = """
WITH spent AS (
    UPDATE cards SET spent = true
    WHERE code_hash = %(card)s AND round_id = %(round)s AND spent = false
      AND round_id IN (SELECT id FROM rounds WHERE id = %(round)s AND state = 'open'
                       FOR SHARE)
    RETURNING group_id
), ballot AS (
    INSERT INTO ballots (id, round_id, group_id, day, answers)
    SELECT %(ballot)s, %(round)s, group_id, %(day)s, %(answers)s FROM spent
    RETURNING group_id
), receipt AS (
    INSERT INTO receipts (code, round_id) SELECT %(receipt)s, %(round)s FROM ballot
)
SELECT group_id FROM ballot
"""


def _cast_in_one_statement(conn, round_id: int, code: str, rows: AnswerRows,
                           receipt: str) -> Accepted:
    stored = conn.exec_driver_sql(_CAST_SQL, {
        "card": codes.hash_code(code), "round": round_id, "ballot": secrets.token_hex(16),
        "day": today(), "receipt": receipt, "answers": pack(rows),
    }).scalar()
    if stored is None:
        _explain_refusal(conn, round_id, receipt)
        return Accepted(receipt, repeated=True)
    return Accepted(receipt)


def _explain_refusal(conn, round_id: int, receipt: str) -> None:
    """Why the card was not spent: the round is not open, or the card was; returns only
    when this very page was accepted before (its receipt is in the list)."""
    state = conn.execute(sa.select(Round.state).where(Round.id == round_id)).scalar()
    if state is not RoundState.OPEN:
        raise Refused("not_open", state)
    if not conn.execute(sa.select(Receipt.code).where(Receipt.code == receipt)).first():
        raise Refused("spent")


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


def _store(conn, round_id: int, group_id: int, rows: AnswerRows, receipt: str,
           channel: str = "phone") -> None:
    """Insert the ballot (its answers packed in it) and the receipt; no reference joins
    them."""
    conn.execute(BALLOTS.insert(), {"id": secrets.token_hex(16), "round_id": round_id,
                                    "group_id": group_id, "day": today(), "channel": channel,
                                    "answers": pack(rows)})
    conn.execute(RECEIPTS.insert(), {"code": receipt, "round_id": round_id})


def store_paper_ballot(conn, round_id: int, group_id: int, rows: AnswerRows,
                       receipt: str) -> None:
    """Inside the caller's write transaction (``write_transaction``), after it spent the
    card: store an agreed paper sheet's ballot exactly as a phone ballot, channel "paper"."""
    _store(conn, round_id, group_id, rows, receipt, channel="paper")


write_transaction = _write_transaction


# Plain tables: the hot path skips the ORM's bulk-insert machinery.
BALLOTS, RECEIPTS = Ballot.__table__, Receipt.__table__


def receipt_exists(receipt: str, conn: sa.Connection | None = None) -> bool:
    """True when the receipt is in some round's receipt list."""
    with _connection(conn) as conn:
        found = conn.execute(sa.select(Receipt.code).where(Receipt.code == receipt)).first()
        conn.rollback()
    return found is not None
