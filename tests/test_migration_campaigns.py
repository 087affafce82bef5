"""The many-campaigns migration backfills existing rows: flags and stage progress to the
existing campaign, free-text units into unit records."""
import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from evalsvc.extensions import db

BEFORE = "c3d5e7f9a1b2"


@pytest.fixture
def database_url(databases, tmp_path):
    """An empty database, migrated by the test itself."""
    with databases.empty(tmp_path) as url:
        yield url


def test_existing_rows_belong_to_the_existing_campaign_and_units_become_records(make_app):
    app = make_app()
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO campaigns (id, name, start_year, end_year, satisfaction_threshold,"
                " stage_pass_threshold, unqualified_threshold, excellent_cap, min_cell,"
                " min_text_cell, admonish_after_cards) VALUES (7, '先进性教育', 2005, 2006,"
                " 0.6, 0.6, 0.5, 0.33, 5, 10, 2)"))
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
