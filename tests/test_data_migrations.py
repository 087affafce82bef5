"""Migrations that move existing rows, each run from the revision before it on rows written
the old way:

- many campaigns: flags and stage progress go to the existing campaign, free-text units
  become unit records;
- the verdict kept in one place: an undecided 补课 flag goes (the round's own proposal says
  the same), a decided one stays for the branch's follow-up, and the round's verdict status
  is typed (a value outside proposed / confirmed / overridden is refused). On SQLite that
  migration rebuilds the rounds table, which must not cascade into the rows that refer to it."""
import json

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


def _campaign_and_branch(conn) -> None:
    _campaign(conn)
    conn.execute(sa.text("INSERT INTO organisations (id, code, name, type, unit)"
                         " VALUES (1, 'A1', 'A1', 'branch', '')"))


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
            _campaign_and_branch(conn)
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


def test_foreign_keys_are_enforced_after_an_upgrade_with_nothing_to_run(make_app):
    """SQLite migrates with foreign keys off; the app's next connection from the pool must
    have them on again, also when the database was already at the head (``evalsvc init``
    on an existing database)."""
    app = make_app()
    with app.app_context():
        upgrade()
        upgrade()  # nothing to run
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text(
                "INSERT INTO flags (kind, status, organisation_id, unit, summary, raised_on,"
                " reason) VALUES ('yellow_card', 'proposed', 999, '', '', '2005-10-01', '')"))
            db.session.flush()
        db.session.rollback()


def test_a_migration_leaving_dangling_rows_is_rolled_back(make_app):
    """SQLite: the foreign keys are checked before each migration commits, so one that finds
    (or leaves) rows pointing nowhere stops with the database still at the revision before."""
    app = make_app()
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return  # PostgreSQL enforces foreign keys inside every migration
        upgrade(revision="d7a1c0e5b3f9")
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or ignored
            with conn.begin():
                _campaign(conn)
                _round(conn, 1, False, "proposed")  # organisation 1 does not exist
            raw.execute("PRAGMA foreign_keys=ON")
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits
            upgrade()
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) \
                == "d7a1c0e5b3f9"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_round_totals_are_filled_in_from_groups_ballots_and_stored_results(make_app):
    """The totals lists read (cards issued, ballots counted, the kind's headline figures)
    are filled in for rounds closed before they were kept: an open round gets its cards but
    no closed-round totals, a closed one its ballots and its kind's figures."""
    from evalsvc.kinds import registry
    from evalsvc.tally import RoundResult

    kind = next(k for k in registry().values() if k.reports_rate)
    result = RoundResult(1, kind.name, "t", 2, False, False, [], [], [], {}, {}, 0.75)
    app = make_app()
    with app.app_context():
        upgrade(revision="c4d7e9a1b2f5")
        with db.engine.begin() as conn:
            _campaign_and_branch(conn)
            _round(conn, 1, True, "proposed")
            _round(conn, 2, None, None)
            conn.execute(sa.text(
                "UPDATE rounds SET kind = :k, result_json = :r WHERE id = 1"),
                {"k": kind.name, "r": json.dumps(result.to_data())})
            conn.execute(sa.text("UPDATE rounds SET state = 'open' WHERE id = 2"))
            for id_, round_id, code, cards in ((1, 1, "member", 12), (2, 1, "masses", 3),
                                               (3, 2, "member", 9)):
                conn.execute(sa.text(
                    "INSERT INTO respondent_groups (id, round_id, code, card_count)"
                    " VALUES (:i, :r, :c, :n)"), {"i": id_, "r": round_id, "c": code, "n": cards})
            for n, round_id in enumerate((1, 1, 2)):
                conn.execute(sa.text(
                    "INSERT INTO ballots (id, round_id, group_id, day, channel) VALUES"
                    " (:i, :r, :g, '2005-10-01', 'phone')"),
                    {"i": f"b{n}", "r": round_id, "g": 1 if round_id == 1 else 3})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT id, cards_issued, ballots_counted, figures_json FROM rounds"
                " ORDER BY id")).all()
    assert [tuple(r[:3]) for r in rows] == [(1, 15, 2), (2, 9, None)]
    assert json.loads(rows[0][3]) == {kind.rate_label: 0.75}
    assert rows[1][3] is None


def test_day_totals_are_filled_in_from_rounds_flags_and_the_audit_log(make_app):
    """The weekly report's kept totals start as a recomputation of what exists: rounds
    closed (not rehearsals), flags, 本期变化 entries, per day and committee; downgrading
    drops them."""
    from flask_migrate import downgrade

    from evalsvc.services import day_totals

    app = make_app()
    with app.app_context():
        upgrade(revision="4acf10c853d6")
        with db.engine.begin() as conn:
            _campaign(conn)
            conn.execute(sa.text("INSERT INTO organisations (id, code, name, type, unit) VALUES"
                                 " (9, 'C', 'C', 'committee', '')"))
            conn.execute(sa.text("INSERT INTO organisations (id, code, name, type, unit,"
                                 " parent_id) VALUES (1, 'A1', 'A1', 'branch', '', 9)"))
            for id_, rehearsal in ((1, False), (2, True)):
                _round(conn, id_, False, "proposed")
                conn.execute(sa.text(
                    "UPDATE rounds SET closed_on = '2005-10-01', cards_issued = 12,"
                    " ballots_counted = 10, rehearsal = :h WHERE id = :i"),
                    {"i": id_, "h": rehearsal})
            _make_up(conn, 1, "confirmed")
            conn.execute(sa.text("UPDATE flags SET decided_on = '2005-10-02'"))
            conn.execute(sa.text(
                "INSERT INTO audit_log (at, actor, role, action, object_type, object_id,"
                " organisation_id, detail) VALUES ('2005-10-01 02:00:00+00:00', 'office',"
                " 'office', 'round.close', 'round', '1', 1, '{}')"))
        upgrade()
        with db.engine.connect() as conn:
            rows = {(str(r.day), r.parent_id): r for r in conn.execute(sa.text(
                "SELECT * FROM day_totals"))}
            assert len(rows) == len(day_totals.compute(conn))
        first, second = rows[("2005-10-01", 9)], rows[("2005-10-02", 9)]
        assert (first.rounds_held, first.cards, first.ballots, first.flags_raised,
                first.make_up, first.changes) == (1, 12, 10, 1, 1, 1)  # not the rehearsal
        assert (second.rounds_held, second.flags_confirmed) == (0, 1)
        downgrade(revision="4acf10c853d6")
        assert "day_totals" not in sa.inspect(db.engine).get_table_names()
