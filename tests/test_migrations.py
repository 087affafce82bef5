"""Migrations build the schema the models describe, on the engine under test.

These tests run the migrations themselves, on an empty database: the other tests get copies
of a database the same migrations built once per run (tests/databases.py).
"""
import json
import secrets

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Base


@pytest.fixture
def database_url(databases, tmp_path):
    """An empty database, not a copy of the migrated template."""
    with databases.empty(tmp_path) as url:
        yield url


@pytest.fixture
def app(make_app):
    """The app, its empty database migrated by this test's own ``upgrade``."""
    app = make_app()
    with app.app_context():
        upgrade()
        yield app


def test_upgrade_starts_from_an_empty_database(database_url, make_app):
    with make_app().app_context():
        assert sa.inspect(db.engine).get_table_names() == []


def test_migrated_schema_matches_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_all_tables_exist_and_are_empty(app):
    names = set(sa.inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= names
    for table in Base.metadata.tables:
        assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table))) == 0


def test_audit_log_refuses_update_and_delete_in_the_database(app):
    db.session.add(AuditEntry(actor="a", role="office", action="x", object_type="t",
                              object_id="1", detail=""))
    db.session.commit()
    for statement in ("UPDATE audit_log SET action = 'y'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(statement)
    assert db.session.scalar(sa.select(AuditEntry.action)) == "x"


def test_audit_log_refuses_orm_changes(app):
    from evalsvc.models.audit import AppendOnlyError

    entry = AuditEntry(actor="a", role="office", action="x", object_type="t", object_id="1",
                       detail="")
    db.session.add(entry)
    db.session.commit()
    entry.action = "changed"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()


# -- 4acf10c853d6: each ballot's answers packed into its row ------------------------------

BEFORE_PACKING = "d5f7a9c1e3b6"


@pytest.fixture
def demo_app(databases, tmp_path):
    """An app on a copy of the demo county (closed rounds sealed, open ones with ballots)."""
    from evalsvc import create_app
    from tests.conftest import TEST_CONFIG

    with databases.fresh(tmp_path, "demo") as url:
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url},
                         instance_path=str(tmp_path / "instance"))
        with app.app_context():
            yield app
            db.session.remove()
        with app.app_context():
            db.engine.dispose()


def _raw(sql: str, **params) -> list[tuple]:
    db.session.commit()
    rows = [tuple(r) for r in db.session.execute(sa.text(sql), params)]
    db.session.commit()
    return rows


def _migrate(direction, *args) -> None:
    db.session.commit()
    db.session.remove()
    direction(*args)


def _packed(rows) -> str:
    """What the migration must store: sorted by question and value, compact JSON."""
    return json.dumps(sorted(([q, v, t] for q, v, t in rows), key=lambda a: (a[0], a[1])),
                      separators=(",", ":"), ensure_ascii=False)


def _old_ballots(round_id: int, group_id: int, n: int) -> dict[str, list]:
    """``n`` ballots written the old way, a ballot row and one row per answer (more than
    one batch of the migration), some blank, some with a free text."""
    day = _raw("SELECT day FROM ballots LIMIT 1")[0][0]
    answers = {}
    with db.engine.begin() as conn:
        for i in range(n):
            ballot_id = secrets.token_hex(16)
            rows = [] if i % 97 == 0 else [("overall", ("satisfied", "fairly")[i % 2], None),
                                            ("quality", "basic", None)]
            if i % 5 == 0:
                rows.append(("advice", "", f"意见 {i}: \"引号\"\n换行\\反斜杠"))
            answers[ballot_id] = rows
        conn.execute(sa.text("INSERT INTO ballots (id, round_id, group_id, day, channel)"
                             " VALUES (:id, :r, :g, :d, 'phone')"),
                     [{"id": b, "r": round_id, "g": group_id, "d": day} for b in answers])
        conn.execute(sa.text("INSERT INTO answers (ballot_id, question, value, round_id,"
                             " group_id, text) VALUES (:b, :q, :v, :r, :g, :t)"),
                     [{"b": b, "q": q, "v": v, "r": round_id, "g": group_id, "t": t}
                      for b, rows in answers.items() for q, v, t in rows])
    return answers


def test_packing_unpacking_and_packing_again_keeps_every_ballot_and_every_seal(demo_app):
    """Down to one row per answer and up again, twice, with more ballots than one batch:
    the same rows each way; the seal of every closed round, computed the old way over the
    answer rows, equals its stored digest, and verifies after packing."""
    from flask_migrate import downgrade

    from evalsvc.models import Round, RoundState
    from evalsvc.services import verification
    from tests.helpers import closed_member_review, closed_satisfaction_round, new_round
    from tests.services.test_closing import _documented_digest

    closed_satisfaction_round(12, 14, with_text=True)
    closed_member_review()
    open_id = new_round()[0].id
    sealed = dict(_raw("SELECT id, digest FROM rounds WHERE state = 'closed'"))
    assert len(sealed) >= 2
    packed = _raw("SELECT id, round_id, group_id, channel, answers FROM ballots ORDER BY id")
    as_rows = sorted((b, r, g, q, v, t) for b, r, g, _c, a in packed
                     for q, v, t in json.loads(a))

    _migrate(downgrade, None, BEFORE_PACKING)
    assert "answers" not in {c["name"] for c in sa.inspect(db.engine).get_columns("ballots")}
    unpacked = _raw("SELECT ballot_id, round_id, group_id, question, value, text FROM answers")
    assert sorted(unpacked) == as_rows
    for round_id, digest in sealed.items():  # the seal as computed over answer rows
        answers_of = {}
        for b, _r, _g, q, v, t in unpacked:
            answers_of.setdefault(b, []).append((q, v, t))
        assert _documented_digest(db.session.get(Round, round_id), answers_of) == digest
    group_id = _raw("SELECT id FROM respondent_groups WHERE round_id = :r",
                    r=open_id)[0][0]
    written_old = _old_ballots(open_id, group_id, 4500)

    _migrate(upgrade)
    repacked = _raw("SELECT id, round_id, group_id, channel, answers FROM ballots ORDER BY id")
    assert [row for row in repacked if row[0] not in written_old] == packed
    assert {b: a for b, *_rest, a in repacked if b in written_old} == \
        {b: _packed(rows) for b, rows in written_old.items()}
    for round_ in db.session.scalars(sa.select(Round).where(Round.state == RoundState.CLOSED)):
        assert round_.digest == sealed[round_.id]
        assert verification.verify(round_).ok, verification.verify(round_).report()

    _migrate(downgrade, None, BEFORE_PACKING)
    assert len(_raw("SELECT ballot_id FROM answers")) == len(as_rows) + sum(
        len(rows) for rows in written_old.values())
    _migrate(upgrade)
    assert _raw("SELECT id, round_id, group_id, channel, answers FROM ballots ORDER BY id") \
        == repacked
