"""Rewriting a closed round's ballots in random order.

Rows are keyed by random ids, but a database also keeps where and when each row was
written: PostgreSQL's heap order and transaction ids follow arrival order, and would
pair each ballot with the card update of the same transaction. Closing rewrites the
round's ballots, answers and receipts in one transaction, in a random order, so every
row carries the same transaction and no position that reflects arrival.
"""
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from evalsvc.models import Answer, Ballot, Card, Receipt


def reshuffle_round(conn: Connection, round_id: int) -> None:
    """Delete and re-insert the round's ballot rows in a random order, inside the database
    (no rows travel through Python: a 100,000-ballot round closes in seconds)."""
    names = {t: f"evalsvc_shuffle_{t}" for t in ("ballots", "answers", "receipts")}
    # The temporary tables are created in the closing transaction: a failure rolls them
    # back with everything else.
    for table, temp in names.items():
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {temp} AS SELECT t.*, random() AS k"
                             f" FROM {table} t WHERE t.round_id = {int(round_id)}")
    for model in (Answer, Ballot, Receipt):
        conn.execute(sa.delete(model).where(model.round_id == round_id))
    _copy_back(conn, Ballot, f"FROM {names['ballots']} s ORDER BY s.k")
    _copy_back(conn, Answer, f"FROM {names['answers']} s JOIN {names['ballots']} b"
                             f" ON b.id = s.ballot_id ORDER BY b.k, s.question, s.value")
    _copy_back(conn, Receipt, f"FROM {names['receipts']} s ORDER BY s.k")
    for temp in names.values():
        conn.exec_driver_sql(f"DROP TABLE {temp}")
    # Touch every card of the round too, so no card row keeps its own spending transaction.
    conn.execute(sa.update(Card).where(Card.round_id == round_id).values(spent=Card.spent))


def _copy_back(conn: Connection, model, source: str) -> None:
    columns = ", ".join(c.name for c in model.__table__.columns)
    selected = ", ".join(f"s.{c.name}" for c in model.__table__.columns)
    conn.exec_driver_sql(f"INSERT INTO {model.__tablename__} ({columns}) SELECT {selected} "
                         + source)

