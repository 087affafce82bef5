"""Engine tuning: SQLite pragmas for durability and concurrency; a cheap liveness check of
PostgreSQL connections; writer transactions."""
import fcntl
import functools
import os
import select
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from evalsvc.extensions import db

_SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}
P = ParamSpec("P")
R = TypeVar("R")


def init_app(app: Flask) -> None:
    """Install the SQLite connection pragmas when the app runs on SQLite, the liveness check
    when it runs on PostgreSQL."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        with app.app_context():
            _install_liveness_check(db.engine, float(app.config["DATABASE_IDLE_PING_SECONDS"]))
        return
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    synchronous = str(app.config["SQLITE_SYNCHRONOUS"]).upper()
    if synchronous not in _SYNCHRONOUS:
        raise ValueError(f"SQLITE_SYNCHRONOUS must be one of {sorted(_SYNCHRONOUS)}")
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    with app.app_context():
        engine = db.engine
    _create_owner_only(engine.url.database)
    _install_pragmas(engine, synchronous, busy_ms)


def _create_owner_only(path: str | None) -> None:
    """Create the database file with mode 0600 before SQLite first opens it: SQLite gives
    its -wal and -shm files the database file's mode, and all three hold ballots."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return  # SQLite will say so at connect
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # an existing database keeps the mode its operator gave it


def _install_pragmas(engine: Engine, synchronous: str, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN (pysqlite's own handling
        # defers it oddly and breaks SAVEPOINTs).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # Writers that read first ask for the write lock at BEGIN: a deferred
        # transaction that later tries to write can fail at once with SQLITE_BUSY.
        options = conn.get_execution_options()
        if options.get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get("isolation_level") != "AUTOCOMMIT":  # each statement on its own
            conn.exec_driver_sql("BEGIN")


_IDLE_SINCE = "evalsvc_idle_since"


def _install_liveness_check(engine: Engine, idle_ping_seconds: float) -> None:
    """Check a pooled PostgreSQL connection at checkout without a round trip.

    SQLAlchemy's pre-ping sends a ``SELECT 1`` at every checkout: on the hall rush's hot
    path that was a tenth of a ballot. When PostgreSQL restarts, crashes or ends a backend,
    the server closes the connection's socket (and usually says why on it): an idle
    connection whose socket has something to read, or has hung up, is dead. That look at the
    socket costs a system call. A connection left idle longer than ``idle_ping_seconds`` (a
    firewall may drop one silently) is still pinged. A dead one invalidates every connection
    pooled before it, as pre-ping does, and the checkout connects afresh.
    """
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_conn, record, _proxy) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None:
            return  # a fresh connection
        if _hung_up(engine, dbapi_conn) or (time.monotonic() - idle_since > idle_ping_seconds
                                    and not _pings(engine, dbapi_conn)):
            raise exc.InvalidatePoolError("the server closed this pooled connection")


def _hung_up(engine: Engine, dbapi_conn) -> bool:
    """Whether the server closed this idle connection: its socket is readable (an error
    message, or end of file) or in error. A live idle connection has nothing to read."""
    if dbapi_conn.closed or dbapi_conn.broken:
        return True
    try:
        fd = dbapi_conn.pgconn.socket
    except engine.dialect.loaded_dbapi.Error:  # psycopg: no socket, no connection
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _pings(engine: Engine, dbapi_conn) -> bool:
    """A ``SELECT 1`` round trip, leaving no transaction open."""
    try:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        if not dbapi_conn.autocommit:
            dbapi_conn.rollback()
        return True
    except engine.dialect.loaded_dbapi.Error:
        return False


_QUEUES: dict[tuple[int, str], int | None] = {}


@contextmanager
def writers_queue(engine: Engine) -> Iterator[None]:
    """On SQLite, the ballot writers of this machine queue for the write lock in the kernel.

    A writer that finds SQLite's lock taken sleeps in its busy handler (1, 2, 5, 10 … ms)
    and tries again; meanwhile the lock may have been free for most of that time. Taking
    an exclusive ``flock`` on a lock file beside the database first makes the next writer
    wake the moment the previous one is done. The file holds nothing; SQLite's own lock
    stays the rule (writers that skip the queue still wait in their busy handler), and a
    dead process's ``flock`` is released by the kernel. Elsewhere this does nothing.
    """
    fd = _queue_fd(engine)
    if fd is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _queue_fd(engine: Engine) -> int | None:
    """This process's descriptor of the database's lock file (opened once per process, as
    a descriptor inherited across fork would share its lock with the parent)."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    key = (os.getpid(), path)
    if key not in _QUEUES:
        try:
            _QUEUES[key] = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                   0o600)
        except OSError:  # a read-only directory: no queue, the busy handler alone
            _QUEUES[key] = None
    return _QUEUES[key]


def begin_write() -> None:
    """Start the session's next transaction as a writer (SQLite: BEGIN IMMEDIATE).

    Ends whatever read transaction the session had, so that a read-then-write service
    cannot fail half-way when ballots are being written concurrently.
    """
    db.session.commit()
    db.session.connection(execution_options={"sqlite_immediate": True})


_DEPTH = "evalsvc_unit_of_work_depth"


def in_unit_of_work() -> bool:
    """True while a ``@writes`` service is running in this session."""
    return db.session().info.get(_DEPTH, 0) > 0


def writes(service: Callable[P, R]) -> Callable[P, R]:
    """One unit of work per use case.

    The outermost ``@writes`` call begins a writer transaction (see begin_write), commits
    when the service returns and rolls back when it raises; a ``@writes`` service called
    from inside another joins the caller's transaction and never commits half-way.
    Service bodies therefore never call ``commit()`` or ``rollback()`` themselves.
    """
    @functools.wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        info = db.session().info
        if info.get(_DEPTH, 0):
            info[_DEPTH] += 1
            try:
                return service(*args, **kwargs)
            finally:
                info[_DEPTH] -= 1
        begin_write()
        info[_DEPTH] = 1
        try:
            result = service(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            info[_DEPTH] = 0

    return wrapper


# SQLite's page cache while it inserts many rows (negative: KiB), back to the default after:
# rows keyed by random ids (cards) land all over their table, and 2 MiB of cache would
# read the same pages back again and again.
BULK_CACHE_KIB = -65536


def insert_rows(table, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Insert many plain rows into ``table`` inside the session's transaction, at driver
    speed: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite. For thousands of rows
    nothing needs to track (cards, audit entries), where the ORM's per-row bookkeeping
    would cost more than the database. Values go through their column types' bind
    processing, as SQLAlchemy would store them; no Python-side column default applies.
    ``rows`` may be a generator: rows made as they are written are freed as they go, so
    thousands of them never wake the garbage collector. It must not use the database:
    PostgreSQL's connection is in COPY while it is read."""
    connection = db.session.connection()
    dialect = connection.dialect
    processors = [(i, p) for i, name in enumerate(columns)
                  if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  is not None]
    if processors:
        rows = (_processed(row, processors) for row in rows)
    cursor = connection.connection.dbapi_connection.cursor()
    quote = dialect.identifier_preparer
    target = quote.format_table(table)
    names = ", ".join(quote.quote(table.c[name].name) for name in columns)
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            (previous,) = cursor.execute("PRAGMA cache_size").fetchone()
            cursor.execute(f"PRAGMA cache_size={BULK_CACHE_KIB}")
            try:
                cursor.executemany(f"INSERT INTO {target} ({names}) VALUES ({marks})",
                                   rows)
            finally:
                cursor.execute(f"PRAGMA cache_size={int(previous)}")
    finally:
        cursor.close()


def _processed(row: tuple, processors) -> tuple:
    values = list(row)
    for i, process in processors:
        values[i] = process(values[i])
    return tuple(values)
