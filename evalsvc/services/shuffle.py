"""Rewriting a closed round's ballots in random order.

Rows are keyed by random ids, but a database also keeps where and when each row was
written: PostgreSQL's heap order and transaction ids follow arrival order, and would
pair each ballot with the card update of the same transaction. Closing rewrites the
round's ballots, answers and receipts in one transaction, in a random order, so every
row carries the same transaction and no position that reflects arrival.
"""
import random

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from evalsvc.models import Answer, Ballot, Card, Receipt


def reshuffle_round(conn: Connection, round_id: int) -> None:
    """Delete and re-insert the round's ballot rows in a random order."""
    rng = random.SystemRandom()
    ballots = [dict(r._mapping) for r in conn.execute(
        sa.select(Ballot).where(Ballot.round_id == round_id))]
    answers: dict[str, list[dict]] = {}
    for row in conn.execute(sa.select(Answer).where(Answer.round_id == round_id)):
        answers.setdefault(row.ballot_id, []).append(dict(row._mapping))
    receipts = [dict(r._mapping) for r in conn.execute(
        sa.select(Receipt).where(Receipt.round_id == round_id))]
    conn.execute(sa.delete(Answer).where(Answer.round_id == round_id))
    conn.execute(sa.delete(Ballot).where(Ballot.round_id == round_id))
    conn.execute(sa.delete(Receipt).where(Receipt.round_id == round_id))
    rng.shuffle(ballots)
    rng.shuffle(receipts)
    _insert(conn, Ballot, ballots)
    _insert(conn, Answer, [a for b in ballots for a in answers.get(b["id"], ())])
    _insert(conn, Receipt, receipts)
    # Touch every card of the round too, so no card row keeps its own spending transaction.
    conn.execute(sa.update(Card).where(Card.round_id == round_id).values(spent=Card.spent))


def _insert(conn: Connection, model, rows: list[dict], batch: int = 5000) -> None:
    for start in range(0, len(rows), batch):
        conn.execute(sa.insert(model), rows[start:start + batch])


def vacuum(engine: sa.Engine) -> None:
    """Reclaim the dead copies the rewrite left behind (PostgreSQL; SQLite's
    secure_delete already overwrote them)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("answers", "ballots", "receipts", "cards"):
            conn.exec_driver_sql(f"VACUUM {table}")
