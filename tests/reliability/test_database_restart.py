"""PostgreSQL goes away under a running server: pooled connections die, nobody sees an error.

The app does not ping a connection before each use (a round trip per checkout, a tenth of
a ballot); it looks at the pooled connection's socket instead. These tests end every
backend the server holds, as a restart of PostgreSQL does to its clients, and check that
the next respondents and staff pages are served as if nothing happened.
"""
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.reliability.traffic import (
    assert_log_clean, ballot, card_path, describe, new_round, post, request)

pytestmark = pytest.mark.server

TERMINATE_TIMEOUT = 30  # seconds for the ended backends to be gone


@pytest.fixture(autouse=True)
def _postgresql_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server's connections (set EVALSVC_TEST_DATABASE_URL; CI's "
                    "PostgreSQL pass runs this)")


def _end_every_backend(database_url: str) -> int:
    """Terminate every other session on the server's database (what a restart does to the
    app's pooled connections) and wait until they are gone; how many there were."""
    engine = sa.create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    others = ("FROM pg_stat_activity WHERE datname = current_database() "
              "AND pid <> pg_backend_pid()")
    try:
        with engine.connect() as conn:
            ended = conn.exec_driver_sql(f"SELECT count(pg_terminate_backend(pid)) {others}"
                                         ).scalar()
            deadline = time.monotonic() + TERMINATE_TIMEOUT
            while conn.exec_driver_sql(f"SELECT count(*) {others}").scalar():
                assert time.monotonic() < deadline, "the ended backends did not go away"
                time.sleep(0.05)
        return ended
    finally:
        engine.dispose()


@pytest.mark.parametrize("live_server", [{"workers": 2}], indirect=True)
def test_ballots_and_pages_are_served_after_postgresql_ends_every_connection(
        live_server, stored_in):
    round_id, urls = new_round(live_server, cards=30)
    # Both workers have pooled connections: the lookup and the write of ten ballots.
    before = [post(live_server, card_path(url), ballot()) for url in urls[:10]]
    assert all(r.thanked for r in before), describe(before)

    assert _end_every_backend(live_server.database_url) >= 1

    after = [post(live_server, card_path(url), ballot()) for url in urls[10:20]]
    assert all(r.thanked for r in after), describe(after)
    pages = [request(live_server, "GET", card_path(url)) for url in urls[20:30]]
    assert [r.status for r in pages] == [200] * 10, describe(pages)
    login = [request(live_server, "GET", "/login") for _ in range(4)]
    assert [r.status for r in login] == [200] * 4, describe(login)

    # Again, with every pooled connection idle and dead at once.
    _end_every_backend(live_server.database_url)
    again = [post(live_server, card_path(url), ballot()) for url in urls[20:30]]
    assert all(r.thanked for r in again), describe(again)

    db = stored_in(live_server, round_id)
    assert db.ballots() == db.spent_cards() == 30
    assert len(db.receipts()) == 30
    assert_log_clean(live_server)
