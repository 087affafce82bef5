"""Engine tuning: SQLite pragmas for durability and concurrency; writer transactions."""
import functools
import os
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from evalsvc.extensions import db

_SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}
P = ParamSpec("P")
R = TypeVar("R")


def init_app(app: Flask) -> None:
    """Install the SQLite connection pragmas when the app runs on SQLite."""
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
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
