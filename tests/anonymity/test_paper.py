"""Paper ballots, read the way an insider would: once a sheet is agreed nothing held pairs it
with its card or its keyers; after the close no file of the database holds a key-in."""
import os

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Base, GroupCode, Role
from evalsvc.services import closing, codes as card_codes, paper, users
from tests.anonymity import pages
from tests.anonymity.test_suppression import _cast
from tests.conftest import PG_URL
from tests.helpers import SATISFACTION, new_round

ROWS = [(k, v, "") for k, v in SATISFACTION.items()]


def _keyers():
    return [users.create_user(None, users.UserData(f"keyer{n}", Role.OFFICE, ""),
                              "long-enough-pass-1") for n in (1, 2)]


def _held() -> list[tuple]:
    db.session.commit()
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT sheet, keyer FROM paper_entries").all()


def _paper_round(sheets: int, phone: int = 0):
    """An open round with ``sheets`` paper sheets keyed in by two people, and what the
    insider noted of the key-ins while they were held."""
    first, second = _keyers()
    round_, codes = new_round(groups={GroupCode.MASSES: sheets + phone + 2})
    _cast(round_, codes[sheets:sheets + phone], "satisfied")
    noted = []
    for code in codes[:sheets]:
        paper.enter_sheet(first, round_, code, ROWS)
        noted += [value for row in _held() for value in row]
        paper.enter_sheet(second, round_, code, ROWS)
    return round_, codes[:sheets], set(noted)


def test_no_column_of_a_held_key_in_names_a_card_or_a_person():
    table = Base.metadata.tables["paper_entries"]
    referenced = {fk.column.table.name for fk in table.foreign_keys}
    assert not referenced & {"cards", "users", "ballots"}
    assert {c.name for c in table.columns} == {"id", "round_id", "sheet", "keyer", "group_id",
                                               "mark", "answers"}


def test_once_agreed_nothing_is_held_and_the_audit_log_names_no_card(app, demo):
    round_, codes, noted = _paper_round(sheets=3)
    assert len(noted) == 6 and _held() == []
    details = " ".join(db.session.scalars(sa.select(AuditEntry.detail).where(
        AuditEntry.action == "round.paper_entry")))
    for code in codes:
        for secret in (code, card_codes.hash_code(code), paper.sheet_of(round_.id, code)):
            assert secret not in details
    assert "satisfied" not in details


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's files")
def test_sqlite_after_close_no_file_holds_a_key_in(app, demo):
    round_, _codes, noted = _paper_round(sheets=3, phone=2)
    database = db.engine.url.database
    wal = open(database + "-wal", "rb").read()
    assert any(v.encode() in wal for v in noted)  # what stays until the close
    closing.close_round(None, round_)
    assert os.path.getsize(database + "-wal") == 0
    data = open(database, "rb").read()
    assert [v for v in noted if v.encode() in data] == []


@pytest.mark.skipif(not PG_URL, reason="reads PostgreSQL pages")
def test_postgresql_after_close_no_page_holds_a_key_in_or_its_transaction(app, demo):
    from tests.anonymity.test_traces_postgresql import _until_cleared

    round_, _codes, noted = _paper_round(sheets=3, phone=2)
    db.session.commit()
    spending = {int(x) for x in db.session.execute(sa.text(
        "SELECT xmin::text FROM ballots WHERE round_id = :r"), {"r": round_.id}).scalars()}
    assert len(spending) == 5
    closing.close_round(None, round_)
    _until_cleared()
    schema = pages.current_schema()
    db.session.commit()
    engine = pages.superuser_engine()
    try:
        with engine.connect() as conn:
            paired, found = set(), set()
            found_relations = pages.relations(conn, schema)
            assert {"ballots", "paper_entries", "cards"} <= {n for n, *_ in found_relations}
            for name, kind, qualified in found_relations:
                if kind == "heap":
                    paired |= pages.tuple_xids(conn, qualified) & spending
                data = b"".join(pages.raw_pages(conn, qualified))
                found |= {v for v in noted if v.encode() in data}
    finally:
        engine.dispose()
    assert (paired, found) == (set(), set())
