"""Second look at the close (issue 16): ballots in flight while it runs, and a close that
fails inside the rewrite itself."""
import secrets
import threading

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Card, GroupCode, Receipt, RoundState
from evalsvc.services import ballots, closing, verification
from tests.helpers import SATISFACTION, new_round
from tests.services.test_closing import _rows

ROWS = [(k, v, "") for k, v in SATISFACTION.items()]


def test_ballots_in_flight_during_the_close_count_exactly_once(app, demo):
    """Phones keep submitting while the round closes: every ballot acknowledged is in the
    sealed round, once; every other one was refused; the seal verifies."""
    round_, cards = new_round(groups={GroupCode.MASSES: 120})
    round_id = round_.id
    db.session.commit()
    accepted, refused, errors = [], [], []
    started = threading.Event()

    def phone(codes):
        with app.app_context():
            try:
                for n, code in enumerate(codes):
                    if n == 3:
                        started.set()
                    try:
                        with ballots.connection() as conn:  # as respond.card does
                            got = ballots.cast_card_ballot(round_id, code,
                                                           secrets.token_urlsafe(16), ROWS, conn)
                        accepted.append(got.receipt)
                    except ballots.Refused as exc:
                        refused.append(exc.reason)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=phone, args=(cards[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    assert started.wait(30)
    closing.close_round(None, round_)
    for thread in threads:
        thread.join(60)
    assert errors == []
    db.session.expire_all()
    db.session.refresh(round_)
    assert round_.state is RoundState.CLOSED
    stored = set(db.session.scalars(sa.select(Receipt.code).where(Receipt.round_id == round_id)))
    assert stored == set(accepted) and len(accepted) == len(stored)
    assert set(refused) <= {"not_open"} and len(accepted) + len(refused) == len(cards)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)
                             .where(Ballot.round_id == round_id)) == len(accepted)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Card).where(
        Card.round_id == round_id, Card.spent)) == len(accepted)
    assert verification.verify(round_).ok


@pytest.mark.parametrize("statement", ["INSERT INTO receipts", "INSERT INTO ballots"])
def test_a_close_failing_inside_the_rewrite_leaves_nothing_behind(app, demo, statement):
    """A statement of the rewrite itself fails: the round stays open with its rows, no
    temporary table is left on the connection, and SQLite's page cache is set back."""
    round_, cards = new_round(groups={GroupCode.MASSES: 8})
    for code in cards[:5]:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), ROWS)
    db.session.commit()
    before = _rows(round_.id)
    engine = db.engine
    connection = db.session.connection()
    sqlite = engine.dialect.name == "sqlite"
    cache = connection.exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
    db.session.commit()

    def fail(_conn, _cursor, sql, *_args):
        if statement in sql and ("gone" in sql or "evalsvc_shuffle" in sql):
            raise RuntimeError("disk full")

    sa.event.listen(engine, "before_cursor_execute", fail)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            closing.close_round(None, round_)
    finally:
        sa.event.remove(engine, "before_cursor_execute", fail)
    db.session.expire_all()
    db.session.refresh(round_)
    assert round_.state is RoundState.OPEN and _rows(round_.id) == before
    connection = db.session.connection()
    if sqlite:
        left = connection.exec_driver_sql(
            "SELECT name FROM sqlite_temp_master WHERE name LIKE 'evalsvc_shuffle%'").all()
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == cache
    else:
        left = connection.exec_driver_sql(
            "SELECT relname FROM pg_class WHERE relname LIKE 'evalsvc_shuffle%%'"
            " AND relpersistence = 't'").all()
    assert left == []
    db.session.commit()
    closing.close_round(None, round_)  # and it closes once the fault is gone
    assert round_.state is RoundState.CLOSED and _rows(round_.id) == before
