"""PostgreSQL: a reporting account with SELECT rights cannot pair a card or a receipt with
a ballot while a round is open (no xmin, no ballot rows), yet reads closed results."""
import secrets

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Card, GroupCode, Receipt
from evalsvc.services import closing
from tests.anonymity.test_suppression import _cast
from tests.conftest import PG_URL
from tests.helpers import new_round

pytestmark = pytest.mark.skipif(not PG_URL, reason="database roles are PostgreSQL's")


@pytest.fixture
def reporting(runner, demo):
    """A reporting role and schema of this test's own (role names are cluster-wide)."""
    role, schema = f"rep_{secrets.token_hex(4)}", f"rep_{secrets.token_hex(4)}"
    result = runner.invoke(args=["roles", "--role", role, "--schema", schema])
    assert result.exit_code == 0, result.output
    # The test's own database (tests run in copies of a template), as the reporting role.
    engine = sa.create_engine(db.engine.url.set(username=role, password=None))
    try:
        yield engine, schema
    finally:
        engine.dispose()
        assert runner.invoke(args=["roles", "--role", role, "--schema", schema,
                                   "--drop"]).exit_code == 0


def _readable(conn) -> list[str]:
    """Every table or view, in any schema, the role may SELECT from."""
    return conn.execute(sa.text(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'v', 'm', 'p')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND has_table_privilege(c.oid, 'SELECT')")).scalars().all()


def _xmins(conn, relation: str) -> set[str] | None:
    """The xmin of every row of a relation, or None when it cannot be read."""
    try:
        with conn.begin_nested():
            return set(conn.exec_driver_sql(f"SELECT xmin::text FROM {relation}").scalars())
    except sa.exc.DBAPIError:
        return None


def test_a_reporting_account_cannot_pair_cards_or_receipts_with_ballots(reporting):
    engine, schema = reporting
    round_, cards = new_round(groups={GroupCode.MASSES: 10})
    _cast(round_, cards[:8], "satisfied")
    db.session.commit()
    app_schema = db.session.execute(sa.text("SELECT current_schema()")).scalar()
    spending = set(db.session.execute(sa.text(
        "SELECT xmin::text FROM ballots WHERE round_id = :r"), {"r": round_.id}).scalars())
    secrets_of_round = (db.session.scalars(sa.select(Ballot.id)).all()
                        + db.session.scalars(sa.select(Receipt.code)).all()
                        + db.session.scalars(sa.select(Card.code_hash)).all())
    db.session.commit()
    assert len(spending) == 8  # what the same query gives with SELECT on the tables

    with engine.connect() as conn:
        for table in ("ballots", "cards", "receipts"):
            assert _xmins(conn, f"{app_schema}.{table}") is None, table
        readable = _readable(conn)
        assert readable and all(name.startswith(schema + ".") for name in readable)
        paired = set()
        for relation in readable:
            paired |= (_xmins(conn, relation) or set()) & spending
            rows = repr(conn.exec_driver_sql(f"SELECT * FROM {relation}").all())
            assert not any(value in rows for value in secrets_of_round), relation
        assert paired == set()
        assert conn.exec_driver_sql(
            f"SELECT ballots FROM {schema}.participation WHERE round_id = {round_.id}"
        ).scalar() == 8

    closing.close_round(None, round_)
    with engine.connect() as conn:
        result = conn.exec_driver_sql(
            f"SELECT result_json FROM {schema}.rounds WHERE id = {round_.id}").scalar()
    assert result and '"groups"' in result  # closed results are for reporting


def test_the_roles_command_refuses_a_bad_name(runner, demo):
    result = runner.invoke(args=["roles", "--role", "x; DROP TABLE ballots"])
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0
