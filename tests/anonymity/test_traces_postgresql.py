"""PostgreSQL: after close, no page of the ballot tables pairs a card or a receipt with a
ballot, read from the pages themselves (pageinspect), not through the ORM."""
import logging
import re
import secrets
import time

import psycopg
import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Card, GroupCode, Receipt
from evalsvc.services import ballots, closing, traces
from tests.anonymity import pages
from tests.anonymity.test_suppression import _cast
from tests.helpers import new_round

pytestmark = pytest.mark.skipif(not pages.PG_URL, reason="reads PostgreSQL pages")


def _spending_xids(round_id: int) -> set[int]:
    """What an insider notes while the round is open: each ballot's transaction id, which
    is also the one that marked its card spent and stored its receipt."""
    return {int(x) for x in db.session.execute(sa.text(
        "SELECT xmin::text FROM ballots WHERE round_id = :r"), {"r": round_id}).scalars()}


def _cast_long_texts(round_, codes) -> list[str]:
    """Ballots whose packed answers are too long (and too random to compress) to stay in
    the row: PostgreSQL stores them out of line, in the table's TOAST table, under the
    same transaction id. Returns the texts."""
    texts = [secrets.token_urlsafe(4500) for _ in codes]
    for code, text in zip(codes, texts):
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16),
                                 [("overall", "satisfied", ""), ("advice", "", text)])
    return texts


def test_after_close_no_page_pairs_a_card_or_receipt_with_a_ballot(app, demo):
    round_, cards = new_round(groups={GroupCode.MASSES: 30})
    _cast(round_, cards[:24], "satisfied")
    texts = _cast_long_texts(round_, cards[24:27])
    db.session.commit()
    spending = _spending_xids(round_.id)
    assert len(spending) == 27  # the pairing is there while the round is open
    closing.close_round(None, round_)
    _until_cleared()
    db.session.refresh(round_)
    assert round_.traces_pending is False
    ballot_ids = db.session.scalars(sa.select(Ballot.id)).all()
    receipts = db.session.scalars(sa.select(Receipt.code)).all()
    hashes = db.session.scalars(sa.select(Card.code_hash)).all()
    schema = pages.current_schema()
    db.session.commit()
    engine = pages.superuser_engine()
    try:
        with engine.connect() as conn:
            paired, stale, toasted = set(), {}, 0
            found = pages.relations(conn, schema)
            assert {"ballots", "ballots toast", "receipts", "cards"} <= {n for n, *_ in found}
            for name, kind, qualified in found:
                if kind == "heap":
                    paired |= pages.tuple_xids(conn, qualified) & spending
                data = b"".join(pages.raw_pages(conn, qualified))
                if name == "ballots toast":
                    toasted = sum(data.count(t[:64].encode()) for t in texts)
                # A value stored more often than live rows hold it is an old row version.
                for value, live in _expected_copies(name, ballot_ids, receipts, hashes,
                                                    texts):
                    if data.count(value.encode()) > live:
                        stale.setdefault(name, set()).add(value)
    finally:
        engine.dispose()
    assert (len(paired), {name: len(v) for name, v in stale.items()}) == (0, {}), \
        "spending transactions, and stale copies per relation, still in the pages"
    assert toasted == len(texts)  # the long answers were read where they are: out of line


def _until_cleared(seconds: float = 60) -> None:
    """Other sessions on the shared test server may hold old snapshots for a moment: retry
    as the background thread would, deterministically."""
    deadline = time.monotonic() + seconds
    while not traces.scrub_pending(attempts=5):
        assert time.monotonic() < deadline, "traces still pending"


def _expected_copies(relation, ballot_ids, receipts, hashes, texts):
    """(value, how many times live rows hold it) for the values a relation stores."""
    if relation == "ballots toast":
        return [(t[:64], 1) for t in texts]
    if relation.startswith("ballots"):
        return [(b, 1) for b in ballot_ids]
    if relation.startswith("receipts"):
        return [(r, 1) for r in receipts]
    if relation.startswith("cards") or "code_hash" in relation:
        return [(h, 1) for h in hashes]
    return []


def _close_pending_while(older: sa.Connection) -> None:
    """Close a round while ``older`` holds what it holds: the close and a retry say pending
    instead of claiming the traces are gone; once ``older`` ends, the retry finishes."""
    round_, cards = new_round()
    _cast(round_, cards, "satisfied")
    db.session.commit()
    older.exec_driver_sql("SELECT count(*) FROM pg_class").all()  # opens its transaction
    started = time.monotonic()
    closing.close_round(None, round_)
    assert time.monotonic() - started < 10
    db.session.refresh(round_)
    assert round_.traces_pending is True
    db.session.commit()
    assert traces.scrub_pending(attempts=1) is False
    older.rollback()
    _until_cleared()
    db.session.refresh(round_)
    assert round_.traces_pending is False


def test_a_transaction_older_than_the_close_postpones_the_rewrite(app, demo):
    """VACUUM FULL keeps what an older transaction may still see."""
    with db.engine.connect() as older:
        older.exec_driver_sql("SELECT pg_current_xact_id()")  # an xid, seen by the check
        _close_pending_while(older)


def test_a_rewrite_that_kept_old_row_versions_is_not_called_done(app, demo, monkeypatch):
    """Whatever holds old row versions back (a snapshot the activity check does not see),
    the rewrite's own report decides: old versions kept, the round stays pending (a flaky
    page test once found card-spending transactions after a scrub that said done)."""
    monkeypatch.setattr(traces, "_OLDER_TRANSACTIONS",
                        "SELECT 0 WHERE CAST(:cutoff AS text) IS NOT NULL")
    # A snapshot held to the end of its transaction, and no lock on the ballot tables
    # (which would postpone the rewrite anyway).
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as older:
        _close_pending_while(older)


class _InChinese:
    """A notice as a server with ``lc_messages = 'zh_CN.UTF-8'`` sends it (PostgreSQL's
    own zh_CN translation of VACUUM VERBOSE's report), made from the English one."""

    def __init__(self, notice):
        self.severity, self.message_primary = notice.severity, notice.message_primary
        self.message_detail = notice.message_detail
        report = re.match(r'"(.+)": found (\d+) removable, (\d+) nonremovable row versions'
                          r" in (\d+) pages", notice.message_primary or "")
        if report:
            self.message_primary = (f'"{report[1]}": 在 {report[4]} 页中找到 {report[2]} 个可删除、'
                                    f"{report[3]} 个不可删除的行版本")
        vacuuming = re.match(r'vacuuming "(.+)"', notice.message_primary or "")
        if vacuuming:
            self.message_primary = f'正在清理 "{vacuuming[1]}"'
        kept = re.match(r"(\d+) dead row versions cannot be removed yet\.\n(.*)\.",
                        notice.message_detail or "", re.S)
        if kept:
            self.message_detail = f"仍有 {kept[1]} 个死行版本暂时不能删除。\n{kept[2]}。"


def test_a_rewrite_reported_in_chinese_that_kept_old_row_versions_is_not_called_done(
        app, demo, monkeypatch):
    """A server set up in a Chinese locale reports VACUUM in Chinese (initdb takes
    lc_messages from the environment): the rewrite's report is read whatever its language,
    so kept row versions still keep the round pending."""
    handlers = {}
    add = psycopg.Connection.add_notice_handler
    remove = psycopg.Connection.remove_notice_handler

    def add_in_chinese(self, callback):
        handlers[callback] = lambda notice: callback(_InChinese(notice))
        add(self, handlers[callback])

    monkeypatch.setattr(psycopg.Connection, "add_notice_handler", add_in_chinese)
    monkeypatch.setattr(psycopg.Connection, "remove_notice_handler",
                        lambda self, callback: remove(self, handlers.pop(callback)))
    monkeypatch.setattr(traces, "_OLDER_TRANSACTIONS",
                        "SELECT 0 WHERE CAST(:cutoff AS text) IS NOT NULL")
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as older:
        _close_pending_while(older)


@pytest.mark.parametrize("setting, value", [("log_statement", "mod"),
                                            ("log_min_duration_statement", "0")])
def test_a_server_that_logs_ballot_statements_with_their_parameters_is_reported(
        app, caplog, setting, value):
    """With ``log_statement = 'mod'`` (a common auditing setting) or a duration log, the
    server log keeps each ballot's statement with its parameters: the card's hash, the
    answers and the moment, for good, whatever the close rewrites. The app cannot turn it
    off for its own sessions (only a superuser may): it says so in its log, loudly, at
    its first request."""
    engine = pages.superuser_engine()
    database = db.engine.url.database
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" SET {setting} = \'{value}\'')
        db.engine.dispose()  # new sessions take the database's settings
        with caplog.at_level(logging.WARNING, logger="evalsvc.services.traces"):
            app.test_client().get("/c")
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any(setting in message and "ballot" in message for message in warned), warned
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" RESET {setting}')
        engine.dispose()
        db.engine.dispose()


def test_a_server_that_logs_no_ballot_parameters_is_not_reported(app, caplog):
    with caplog.at_level(logging.WARNING, logger="evalsvc.services.traces"):
        app.test_client().get("/c")
    assert not [r for r in caplog.records if r.name == "evalsvc.services.traces"]
