"""Migrations that move existing rows, each run from the revision before it on rows written
the old way:

- many campaigns: flags and stage progress go to the existing campaign, free-text units
  become unit records;
- the verdict kept in one place: an undecided 补课 flag goes (the round's own proposal says
  the same), a decided one stays for the branch's follow-up, and the round's verdict status
  is typed (a value outside proposed / confirmed / overridden is refused). On SQLite that
  migration rebuilds the rounds table, which must not cascade into the rows that refer to it."""
import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from evalsvc.extensions import db



@pytest.fixture
def database_url(databases, tmp_path):
    """An empty database, migrated by the test itself."""
    with databases.empty(tmp_path) as url:
        yield url


def test_existing_rows_belong_to_the_existing_campaign_and_units_become_records(make_app):
    app = make_app()
    with app.app_context():
        upgrade(revision="c3d5e7f9a1b2")
        with db.engine.begin() as conn:
            _campaign(conn)
            for id_, code, unit in ((1, "A1", "兴文中学"), (2, "A2", "兴文中学"), (3, "A3", "")):
                conn.execute(sa.text(
                    "INSERT INTO organisations (id, code, name, type, unit) VALUES"
                    " (:i, :c, :c, 'branch', :u)"), {"i": id_, "c": code, "u": unit})
            conn.execute(sa.text(
                "INSERT INTO stage_progress (organisation_id, stage, state) VALUES"
                " (1, 'study', 'passed')"))
            conn.execute(sa.text(
                "INSERT INTO flags (kind, status, organisation_id, unit, summary, raised_on,"
                " reason) VALUES ('yellow_card', 'confirmed', 1, '兴文中学', '', '2005-10-01',"
                " '')"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT campaign_id FROM flags")) == 7
            assert conn.scalar(sa.text("SELECT campaign_id FROM stage_progress")) == 7
            assert conn.execute(sa.text("SELECT name FROM units")).scalars().all() == ["兴文中学"]
            linked = conn.execute(sa.text(
                "SELECT o.code, u.name FROM organisations o LEFT JOIN units u"
                " ON u.id = o.unit_id ORDER BY o.code")).all()
        assert [tuple(r) for r in linked] == [("A1", "兴文中学"), ("A2", "兴文中学"), ("A3", None)]


def _campaign(conn) -> None:
    conn.execute(sa.text(
        "INSERT INTO campaigns (id, name, start_year, end_year, satisfaction_threshold,"
        " stage_pass_threshold, unqualified_threshold, excellent_cap, min_cell,"
        " min_text_cell, admonish_after_cards) VALUES (7, '先进性教育', 2005, 2006,"
        " 0.6, 0.6, 0.5, 0.33, 5, 10, 2)"))


def _round(conn, id_, passed, status):
    conn.execute(sa.text(
        "INSERT INTO rounds (id, organisation_id, campaign_id, stage, kind, definition_name,"
        " attempt, title, state, poster_used, created_on, passed, verdict_status,"
        " verdict_reason, rehearsal, card_epoch, receipts_published, print_delegated,"
        " traces_pending) VALUES (:i, 1, 7, 'review', 'stage_review', 'stage_review', 1,"
        " '转段测评', 'closed', 0, '2005-10-01', :p, :s, '', :f, 0, :f, :f, :f)"),
        {"i": id_, "p": passed, "s": status, "f": False})


def _make_up(conn, round_id, status):
    conn.execute(sa.text(
        "INSERT INTO flags (kind, status, organisation_id, campaign_id, stage, round_id, unit,"
        " summary, raised_on, reason) VALUES ('make_up', :s, 1, 7, 'review', :r, '', '',"
        " '2005-10-01', '')"), {"s": status, "r": round_id})


def test_undecided_make_up_flags_go_and_the_verdict_status_is_typed(make_app):
    app = make_app()
    with app.app_context():
        upgrade(revision="d7a1c0e5b3f9")
        with db.engine.begin() as conn:
            _campaign(conn)
            conn.execute(sa.text("INSERT INTO organisations (id, code, name, type, unit)"
                                 " VALUES (1, 'A1', 'A1', 'branch', '')"))
            _round(conn, 1, False, "proposed")
            _make_up(conn, 1, "proposed")
            _round(conn, 2, False, "confirmed")
            _make_up(conn, 2, "confirmed")
        upgrade()
        with db.engine.connect() as conn:
            left = conn.execute(sa.text(
                "SELECT round_id, status FROM flags WHERE kind = 'make_up'")).all()
            assert [tuple(r) for r in left] == [(2, "confirmed")]
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE rounds SET verdict_status = 'maybe' WHERE id = 1"))
