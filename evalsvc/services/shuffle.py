"""Rewriting a closed round's ballots so where and when each row was written is lost.

Rows are keyed by random ids, but a database also keeps where and when each row was
written: PostgreSQL's heap order and transaction ids follow arrival order, and would
pair each ballot with the card update of the same transaction; SQLite's page numbers
follow the page splits arrival caused. Closing deletes the round's ballots (each one row,
its answers packed in it) and receipts (on PostgreSQL its cards too, whose updated
versions sit in spending order) and writes them again in one transaction, so every row
carries the closing transaction.

They are written back in primary-key order (ballot id; receipt code). The keys are
random (``secrets``), so that order is a random permutation of arrival, and the rewritten
tables are a function of the set of rows alone: any two arrival orders of the same
ballots leave the same row order. Key order also turns scattered index insertions into
appends.

Nothing travels through Python; on SQLite the rows are held in a temporary table of the
closing transaction, on PostgreSQL each table moves in one statement, so a failure rolls
everything back.
"""
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from evalsvc.models import Ballot, Card, Receipt

SQLITE_CACHE_KIB = -65536  # 64 MiB of page cache for the rewrite, then back


def reshuffle_round(conn: Connection, round_id: int) -> None:
    """Delete and re-insert the round's ballot rows in primary-key order, inside the
    database, in the caller's transaction."""
    if conn.dialect.name == "postgresql":
        _rewrite_postgresql(conn, int(round_id))
    else:
        _rewrite_sqlite(conn, int(round_id))
        # Touch every card of the round too, so no card page keeps its own spending commit
        # (cards sit in key order: their table has no rowid).
        conn.execute(sa.update(Card).where(Card.round_id == round_id).values(spent=Card.spent))


def _columns(model) -> str:
    return ", ".join(c.name for c in model.__table__.columns)


def _key(model) -> str:
    return ", ".join(c.name for c in model.__table__.primary_key.columns)


def _rewrite_postgresql(conn: Connection, round_id: int) -> None:
    """Each table moves in one statement (DELETE … RETURNING feeding the INSERT): the
    deleted rows are all read before the first is written back. Cards move too: a card
    updated in place keeps the spending transaction, and its new version sits where
    spending put it (beside the old one, in spending order), which with the ballots' day
    would tell which card cast a ballot of a day."""
    for model in (Ballot, Receipt, Card):
        cols, table = _columns(model), model.__tablename__
        conn.exec_driver_sql(
            f"WITH gone AS (DELETE FROM {table} WHERE round_id = {round_id} RETURNING *)"
            f" INSERT INTO {table} ({cols}) SELECT {cols} FROM gone ORDER BY {_key(model)}")


def _rewrite_sqlite(conn: Connection, round_id: int) -> None:
    """Each table's rows are copied, in key order, into a temporary table, deleted (the
    database zeroes deleted content: ``secure_delete``) and copied back in that order."""
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size={SQLITE_CACHE_KIB}")
    try:
        held = {}
        for model in (Ballot, Receipt):
            table = model.__tablename__
            held[model] = f"evalsvc_shuffle_{table}"
            conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {held[model]} AS SELECT {_columns(model)}"
                f" FROM {table} WHERE round_id = {round_id} ORDER BY {_key(model)}")
        for model in (Ballot, Receipt):
            conn.execute(sa.delete(model).where(model.round_id == round_id))
        for model in (Ballot, Receipt):
            cols = _columns(model)
            conn.exec_driver_sql(f"INSERT INTO {model.__tablename__} ({cols})"
                                 f" SELECT {cols} FROM {held[model]} ORDER BY rowid")
            conn.exec_driver_sql(f"DROP TABLE {held[model]}")
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")
