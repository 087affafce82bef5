"""Clearing what the database files still tell once a round is closed.

While a round is open the files pair each ballot with its card: SQLite's write-ahead log
holds each ballot's commit beside its card's page; PostgreSQL's row versions carry the id
of the transaction that spent the card and stored the ballot. The close rewrites the
round's rows in one transaction; then the old copies must go: SQLite rewrites the database
file (VACUUM) and checkpoints and truncates its log, PostgreSQL rewrites the tables into new
files in key order (CLUSTER on the primary key). Either way the pages a closed round's rows
sit on are then a function of the rows alone. The close's own insert is not: SQLite reuses
the pages its delete freed, which sat where arrival put them (a ballot over about 1 KB
spills into overflow pages taken in arrival order), and PostgreSQL drops short rows into
the room pages filled in arrival order had left.

A reader can hold this up. The close sets ``Round.traces_pending`` in its own commit, tries
briefly, and reports the round as still pending if it could not finish; a background
thread (and ``evalsvc round scrub``) keeps trying and clears the flag, audited, when done.
"""
import logging
import re
import threading
import time
from collections.abc import Collection

import sqlalchemy as sa
from flask import Flask, current_app

from evalsvc.database import writes
from evalsvc.extensions import db
from evalsvc.models import Round
from evalsvc.services import audit

log = logging.getLogger(__name__)

TABLES = ("ballots", "receipts", "cards", "paper_entries")
QUICK_ATTEMPTS = 3  # what a web request can afford: well under a second on SQLite
SQLITE_WAIT_MS = 100  # how long one checkpoint waits for readers
PG_LOCK_TIMEOUT = "2s"  # how long one table rewrite waits for its lock
BACKOFF_SECONDS = (1, 2, 5, 10, 30, 60)


def pending_round_ids() -> list[int]:
    """Rounds whose traces are not cleared yet (read outside the session, so no read
    transaction stays open to hold up the checkpoint)."""
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(Round.id).where(Round.traces_pending)
                                 .order_by(Round.id)).scalars())


def scrub_pending(attempts: int = QUICK_ATTEMPTS, just_closed: Collection[int] = ()) -> bool:
    """Clear the traces of every pending round; True when none is left pending. A round
    cleared by its own close (``just_closed``) needs no audit entry of its own
    (``round.close`` says it)."""
    ids = pending_round_ids()
    if not ids:
        return True
    if not clear_traces(db.engine, attempts):
        return False
    _mark_cleared(ids, just_closed)
    if db.engine.dialect.name == "sqlite":
        _truncate_wal(db.engine, attempts)  # the flag's own commit: nothing to pair, tidy
    return True


@writes
def _mark_cleared(round_ids: list[int], just_closed: Collection[int]) -> None:
    for round_id in round_ids:
        cleared = db.session.execute(sa.update(Round).where(
            Round.id == round_id, Round.traces_pending).values(traces_pending=False)).rowcount
        if cleared and round_id not in just_closed:  # another worker may have got there first
            audit.record(None, "round.traces_cleared", db.session.get(Round, round_id),
                         system="traces", engine=db.engine.dialect.name)


def clear_traces(engine: sa.Engine, attempts: int) -> bool:
    """Drop the old row copies: True once no file of the database pairs a card with a
    ballot any more (short of PostgreSQL's own WAL; see the README)."""
    if engine.dialect.name == "sqlite":
        return _rewrite_file(engine, attempts)
    return _rewrite_tables(engine, attempts)


def _rewrite_file(engine: sa.Engine, attempts: int) -> bool:
    """VACUUM the database (a new file, every table in key order, no free page left), then
    truncate the log. Only once the log could be truncated: while a reader holds it, the
    rewrite would only add a copy of the whole database to the log."""
    if not _truncate_wal(engine, attempts):
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        configured = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")
        try:
            conn.exec_driver_sql("VACUUM")
        except sa.exc.OperationalError as exc:  # a writer held the lock: try again later
            log.info("database rewrite postponed: %s", exc.orig)
            return False
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(configured)}")
    return _truncate_wal(engine, attempts)


def _truncate_wal(engine: sa.Engine, attempts: int) -> bool:
    """Checkpoint the whole log into the database and truncate it. Each attempt waits at
    most SQLITE_WAIT_MS for readers (the configured busy timeout could be seconds)."""
    for attempt in range(attempts):
        with engine.connect() as conn:
            configured = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")
            try:
                busy, _log, _done = conn.exec_driver_sql(
                    "PRAGMA wal_checkpoint(TRUNCATE)").one()
            finally:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(configured)}")
        if not busy:
            return True
        if attempt + 1 < attempts:
            time.sleep(0.05 * (attempt + 1))
    return False


# Transactions that began before this one may still see the old row versions, and the
# rewrite keeps what they may see: wait until none is left (ballots take milliseconds). An
# autovacuum worker's ANALYZE of any table of the database holds such a snapshot too.
_NEXT_XID = ("SELECT mod(pg_snapshot_xmax(pg_current_snapshot())::text::numeric,"
             " 4294967296)::text")
_OLDER_TRANSACTIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND coalesce(backend_type, 'client backend')  -- null: hidden (another user's session)
      IN ('client backend', 'autovacuum worker')
  AND (age(backend_xmin) >= age(CAST(:cutoff AS xid))
       OR age(backend_xid) >= age(CAST(:cutoff AS xid)))
"""


def _rewrite_tables(engine: sa.Engine, attempts: int) -> bool:
    """CLUSTER the ballot tables on their primary keys: each is written into a new file
    holding only the live rows, in key order (and new indexes); the old files, with every
    dead row version, are deleted. (VACUUM FULL would copy the rows in the order it found
    them, and the close's insert had put short ballots into room left on pages filled in
    arrival order.)"""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        cutoff = conn.exec_driver_sql(_NEXT_XID).scalar()
        conn.exec_driver_sql(f"SET lock_timeout = '{PG_LOCK_TIMEOUT}'")
        try:
            for attempt in range(attempts):
                if attempt:
                    time.sleep(0.2 * attempt)
                if conn.execute(sa.text(_OLDER_TRANSACTIONS), {"cutoff": cutoff}).scalar():
                    continue
                try:
                    kept = sum(_rewrite(conn, table) for table in TABLES)
                except sa.exc.OperationalError as exc:  # lock_timeout: busy, try again
                    log.info("table rewrite postponed: %s", exc.orig)
                    continue
                if kept:  # a snapshot the check above did not see still holds them
                    log.info("table rewrite kept %d old row versions: trying again", kept)
                    continue
                return True
            return False
        finally:
            conn.exec_driver_sql("RESET lock_timeout")


_RECENTLY_DEAD = re.compile(r"(\d+)")


_PRIMARY_KEY = ("SELECT quote_ident(c.relname) FROM pg_index i JOIN pg_class c"
                " ON c.oid = i.indexrelid WHERE i.indrelid = CAST(:t AS regclass)"
                " AND i.indisprimary")


def _rewrite(conn, table: str) -> int:
    """CLUSTER one table on its primary key; how many dead row versions it had to keep
    because some transaction may still see them. Its VERBOSE report is the one notice with
    a detail, and the detail starts with that number: "N dead row versions cannot be
    removed yet", and so in every language the server may speak (``lc_messages``; zh_CN:
    "仍有 N 个死行版本暂时不能删除"). Anything but 0 is not cleared, and neither is a rewrite
    that sent no report (what it kept is unknown)."""
    details: list[str] = []
    driver = conn.connection.dbapi_connection

    def heard(diagnostic) -> None:
        if diagnostic.message_detail:
            details.append(diagnostic.message_detail)
    driver.add_notice_handler(heard)
    try:
        key = conn.execute(sa.text(_PRIMARY_KEY), {"t": table}).scalar_one()
        conn.exec_driver_sql(f"CLUSTER (VERBOSE) {table} USING {key}")
    finally:
        driver.remove_notice_handler(heard)
    counts = [int(m.group(1)) for d in details if (m := _RECENTLY_DEAD.search(d))]
    if not counts:
        log.warning("CLUSTER %s sent no report of the row versions it kept", table)
        return 1
    return sum(counts)


_background = threading.Lock()


def keep_trying(app: Flask) -> None:
    """Start (once per process) a thread that retries with backoff until no round is
    pending. Tests drive ``scrub_pending`` themselves instead."""
    if app.config.get("TRACE_SCRUB_IN_BACKGROUND") is False or app.testing:
        return
    if not _background.acquire(blocking=False):
        return  # already running in this process
    threading.Thread(target=_retry_loop, args=(app,), name="evalsvc-traces",
                     daemon=True).start()


def init_app(app: Flask) -> None:
    """At the first request of each process: say whether the server logs ballots
    (``statement_logging``), and resume clearing after a restart (the background thread
    starts when some round is still pending, e.g. the last process died)."""
    state = {"checked": False}

    @app.before_request
    def _resume_pending() -> None:
        if state["checked"]:
            return
        state["checked"] = True
        try:
            _warn_of_statement_logging()
            if not app.testing and pending_round_ids():
                keep_trying(app)
        except sa.exc.SQLAlchemyError:
            log.exception("could not look for rounds with pending traces")


# Server settings under which PostgreSQL writes every ballot's statement to its own log
# with the parameters (the spent card's hash, the packed answers) and the time. Only a
# superuser can change them, not the app for its own sessions.
_STATEMENT_LOG = """
SELECT name || ' = ' || setting FROM pg_settings
WHERE ((name = 'log_statement' AND setting IN ('mod', 'all'))
       OR (name IN ('log_min_duration_statement', 'log_min_duration_sample')
           AND setting <> '-1')
       OR (name = 'log_transaction_sample_rate' AND setting <> '0'))
  AND (SELECT setting FROM pg_settings WHERE name = 'log_parameter_max_length') <> '0'
ORDER BY name
"""


def statement_logging() -> list[str]:
    """The settings that make PostgreSQL log each ballot's statement with its parameters
    ("log_statement = mod", ...); none on SQLite."""
    if db.engine.dialect.name != "postgresql":
        return []
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text(_STATEMENT_LOG)).scalars())


def _warn_of_statement_logging() -> None:
    found = statement_logging()
    if found:
        log.warning("PostgreSQL logs every ballot statement with its parameters (%s): its "
                    "log pairs each spent card's hash with the ballot's answers and time, and "
                    "no close clears it. Have a superuser turn these off, or set "
                    "log_parameter_max_length = 0 (see the README)", ", ".join(found))


def _retry_loop(app: Flask) -> None:
    try:
        for delay in _delays():
            with app.app_context():
                try:
                    if scrub_pending(attempts=1):
                        return
                except Exception:  # noqa: BLE001 - keep trying; say why in the log
                    log.exception("clearing database traces failed; will retry")
                finally:
                    db.session.remove()
            time.sleep(delay)
    finally:
        _background.release()


def _delays():
    """1 s, 2 s, 5 s … then every minute, for as long as it takes."""
    yield from BACKOFF_SECONDS
    while True:
        yield BACKOFF_SECONDS[-1]


def after_close(*round_ids: int) -> bool:
    """Called once the close (or a bulk close's closes) has committed: a few quick
    attempts, then the background. One pass clears every round just closed."""
    done = scrub_pending(just_closed=set(round_ids))
    if not done:
        log.warning("database traces of a closed round are still pending; retrying")
        keep_trying(current_app._get_current_object())
    return done
