"""SQLite: a close that cannot truncate the write-ahead log (a reader holds it) returns at
once, shows the round as pending, and the log is truncated by the retry once the reader is
gone; the database, its log and shared-memory files are readable by their owner only; after
close the ballots' pages are numbered in key order."""
import json
import os
import secrets
import sqlite3
import stat
import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Ballot, Card, GroupCode, Round
from evalsvc.services import ballots, closing, traces
from tests.anonymity.test_suppression import _cast
from tests.conftest import PG_URL
from tests.helpers import login
from tests.helpers import new_round

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's files (WAL, SHM, modes)")

PENDING = "正在清除数据库痕迹"


def _paths() -> tuple[str, str, str]:
    database = db.engine.url.database
    return database, database + "-wal", database + "-shm"


@contextmanager
def _reader():
    """Someone holding the database open in a read transaction (a backup, a report)."""
    conn = sqlite3.connect(_paths()[0], isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM ballots").fetchone()
        yield conn
    finally:
        conn.close()


def _pairs_in_wal(round_id: int) -> int:
    """Ballots whose id, and the code hash of a spent card, the raw log still holds."""
    wal = _paths()[1]
    data = open(wal, "rb").read() if os.path.exists(wal) else b""
    db.session.commit()  # see the ballots cast since our last read
    ids = db.session.scalars(sa.select(Ballot.id).where(Ballot.round_id == round_id)).all()
    spent = db.session.scalars(sa.select(Card.code_hash).where(
        Card.round_id == round_id, Card.spent)).all()
    db.session.commit()  # and hold no read transaction open
    return min(sum(i.encode() in data for i in ids), sum(h.encode() in data for h in spent))


def test_a_web_close_held_up_by_a_reader_returns_at_once_and_clears_later(client, demo):
    round_, cards = new_round(groups={GroupCode.MASSES: 12})
    _cast(round_, cards, "satisfied")
    assert _pairs_in_wal(round_.id) == 12  # what the attack read while the round was open
    login(client, "secretary")
    with _reader():
        started = time.monotonic()
        response = client.post(f"/rounds/{round_.id}/close", data={"confirmed": "12"})
        assert time.monotonic() - started < 3
        assert response.status_code == 302
        page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
        assert PENDING in page and "已结束" in page
        assert os.path.getsize(_paths()[1]) > 0
        assert traces.scrub_pending(attempts=2) is False  # still held: still pending
    assert traces.scrub_pending() is True  # what the background thread does
    assert os.path.getsize(_paths()[1]) == 0
    assert _pairs_in_wal(round_.id) == 0
    assert db.session.get(Round, round_.id).traces_pending is False
    assert PENDING not in client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    audited = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_id == str(round_.id))).all()
    assert "round.traces_cleared" in audited


def test_the_scrub_command_fails_while_a_reader_holds_the_log(app, runner, demo):
    round_, cards = new_round()
    _cast(round_, cards, "satisfied")
    with _reader():
        closing.close_round(None, round_)
        result = runner.invoke(args=["round", "scrub", "--attempts", "1"])
        assert result.exit_code == 1 and "still pending" in result.output
    result = runner.invoke(args=["round", "scrub"])
    assert result.exit_code == 0, result.output
    assert os.path.getsize(_paths()[1]) == 0
    assert db.session.get(Round, round_.id).traces_pending is False


def test_database_log_and_shared_memory_files_are_owner_only(make_app, tmp_path):
    """A database the app creates itself (not the suite's ready-made copy) is 0600, and so
    are the write-ahead log and shared memory SQLite makes beside it."""
    path = tmp_path / "new.sqlite3"
    app = make_app(DATABASE_URL=f"sqlite:///{path}")
    with app.app_context():
        with db.engine.begin() as conn:  # a write: the log and shared memory exist now
            conn.exec_driver_sql("CREATE TABLE probe (ballot TEXT)")
            conn.exec_driver_sql("INSERT INTO probe VALUES ('x')")
        for file in (path, f"{path}-wal", f"{path}-shm"):
            assert os.path.exists(file), file
            assert stat.S_IMODE(os.stat(file).st_mode) == 0o600, file


def _leaf_pages(table: str) -> list[int]:
    """The page numbers of a table's B-tree leaves, in key order (dbstat walks the tree)."""
    return list(db.session.execute(sa.text(
        "SELECT pageno FROM dbstat WHERE name = :t AND pagetype = 'leaf' ORDER BY path"),
        {"t": table}).scalars())


def test_after_close_the_ballots_pages_are_in_key_order(app, demo):
    """While a round is open, which page holds a ballot follows the page splits arrival
    caused; after close its ballots (answers packed in them) sit on pages numbered in key
    order: the page file says nothing of when a ballot came."""
    round_, cards = new_round(groups={GroupCode.MASSES: 300})
    rows = [("overall", "satisfied", ""), ("quality", "fairly", ""), ("advice", "", "意见" * 60)]
    for code in cards:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(16), rows)
    db.session.commit()
    before = _leaf_pages("ballots")
    assert len(before) > 20 and before != sorted(before)  # arrival shows while open
    closing.close_round(None, round_)
    db.session.commit()
    after = _leaf_pages("ballots")
    assert len(after) > 20 and after == sorted(after)


def _layout(tables) -> list[tuple[str, str, int]]:
    """Each B-tree page and overflow page of ``tables`` (and their indexes): (name, path,
    rank of its page number among them); the ranks, not the numbers, so that other tables
    growing by a page elsewhere in the file do not count."""
    db.session.commit()  # a fresh read: what every ballot cast so far left
    names = db.session.execute(sa.text(
        "SELECT name FROM sqlite_schema WHERE tbl_name IN (SELECT value FROM json_each(:t))"
        " ORDER BY name"), {"t": json.dumps(list(tables))}).scalars().all()
    rows = [row for name in names for row in db.session.execute(sa.text(
        "SELECT name, path, pageno FROM dbstat WHERE name = :n ORDER BY path"),
        {"n": name}).all()]
    db.session.commit()
    rank = {page: n for n, page in enumerate(sorted(p for *_, p in rows))}
    return [(name, path, rank[page]) for name, path, page in rows]


def test_after_close_a_long_ballots_pages_do_not_depend_on_the_arrival(app, demo,
                                                                         monkeypatch):
    """A ballot longer than about 1 KB (a long opinion; a member review with notes) spills
    into overflow pages. The same ballots cast in two orders must leave the same pages
    after close: while the round was open each ballot's overflow pages were taken at the
    end of the file in arrival order, and the rewrite must not reuse them in a way that
    pairs a ballot with another ballot's (and so its own) moment of arrival."""
    round_, cards = new_round(groups={GroupCode.MASSES: 80})
    keys = sorted(secrets.token_hex(16) for _ in cards)
    ballot_of = dict(zip(cards, keys))
    nonce_of = {code: secrets.token_urlsafe(16) for code in cards}
    casting = {}
    monkeypatch.setattr(ballots.secrets, "token_hex", lambda _n: ballot_of[casting["card"]])
    database = _paths()[0]
    db.session.commit()
    db.engine.dispose()
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    pristine = open(database, "rb").read()
    layouts = []
    for arrival in (cards, cards[::-1]):
        db.engine.dispose()
        for path in _paths():
            if os.path.exists(path):
                os.remove(path)
        with open(database, "wb") as copy:
            copy.write(pristine)
        for n, code in enumerate(arrival):
            casting["card"] = code
            text = f"第{keys.index(ballot_of[code])}条意见：" + "工作作风有待改进。" * 60
            ballots.cast_card_ballot(round_.id, code, nonce_of[code],
                                     [("overall", "satisfied", ""), ("advice", "", text)])
        open_layout = _layout(["ballots", "receipts"])
        assert any(t == "overflow" for (t,) in db.session.execute(sa.text(
            "SELECT pagetype FROM dbstat WHERE name = 'ballots'")))  # the texts spilled
        db.session.commit()
        closing.close_round(None, db.session.get(Round, round_.id))
        db.session.commit()
        layouts.append((open_layout, _layout(["ballots", "receipts"])))
    (open_a, closed_a), (open_b, closed_b) = layouts
    assert open_a != open_b  # while open, the pages follow the arrival
    assert closed_a == closed_b
