"""Rewriting a closed round's ballots in random order.

Rows are keyed by random ids, but a database also keeps where and when each row was
written: PostgreSQL's heap order and transaction ids follow arrival order, and would
pair each ballot with the card update of the same transaction. Closing rewrites the
round's ballots, answers and receipts in one transaction, in a random order, so every
row carries the same transaction and no position that reflects arrival.
"""
import random
import time

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
    """Drop the old copies the rewrite left behind.

    SQLite: secure_delete zeroed them in the database file, but the write-ahead log still
    holds every ballot's commit (card page and ballot together) until it is checkpointed
    and truncated. PostgreSQL: VACUUM reclaims the dead rows.
    """
    if engine.dialect.name == "sqlite":
        _truncate_wal(engine)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("answers", "ballots", "receipts", "cards"):
            conn.exec_driver_sql(f"VACUUM {table}")


def _truncate_wal(engine: sa.Engine, attempts: int = 20) -> bool:
    """Checkpoint the whole log into the database and truncate it; readers may hold it up
    for a moment, so try a few times. Returns True once the log is empty."""
    for attempt in range(attempts):
        with engine.connect() as conn:
            busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if not busy:
            return True
        time.sleep(0.05 * (attempt + 1))
    return False
