"""Migrations build the schema the models describe, on the engine under test.

These tests run the migrations themselves, on an empty database: the other tests get copies
of a database the same migrations built once per run (tests/databases.py).
"""
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
