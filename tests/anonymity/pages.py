"""Reading PostgreSQL's table pages the way someone with a copy of the data files would:
every line pointer (live or dead) with ``pageinspect``, and the raw bytes of every page,
including the free space where pruned row versions may linger."""
import sqlalchemy as sa

from evalsvc.extensions import db
from tests.conftest import PG_URL

BALLOT_TABLES = ("cards", "ballots", "receipts", "paper_entries")


def superuser_engine() -> sa.Engine:
    """A connection to this test's own database (each test has one, copied from a
    template: not the database ``PG_URL`` names) as the suite's role, a superuser, with
    pageinspect installed in ``public``."""
    url = sa.make_url(PG_URL).set(database=db.engine.url.database)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.exec_driver_sql(
                "SELECT 1 FROM pg_extension WHERE extname = 'pageinspect'").first():
            try:
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public")
            except sa.exc.IntegrityError:
                pass  # another test created it at the same moment
    return engine


def relations(conn, schema: str) -> list[tuple[str, str, str]]:
    """(name, kind, qualified name) of the ballot tables, their indexes and their TOAST
    tables (where a long value, such as a ballot's packed answers, is stored out of line):
    kind 'heap' or 'btree'; a TOAST table is named "<table> toast"."""
    rows = conn.execute(sa.text(
        "SELECT c.relname, CASE c.relkind WHEN 'r' THEN 'heap' ELSE 'btree' END,"
        "       quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_index i ON i.indexrelid = c.oid"
        " LEFT JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE n.nspname = :s AND (c.relname = ANY(:t) OR t.relname = ANY(:t))"
        " UNION ALL"
        " SELECT c.relname || ' toast', 'heap', 'pg_toast.' || quote_ident(toast.relname)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_class toast ON toast.oid = c.reltoastrelid"
        " WHERE n.nspname = :s AND c.relname = ANY(:t)"),
        {"s": schema, "t": list(BALLOT_TABLES)}).all()
    return [(name, kind, qualified) for name, kind, qualified in rows]


def raw_pages(conn, qualified: str) -> list[bytes]:
    """Every page of a relation's main fork, byte for byte."""
    blocks = conn.execute(sa.text("SELECT pg_relation_size(:r) / 8192"),
                          {"r": qualified}).scalar()
    return [bytes(conn.execute(sa.text("SELECT public.get_raw_page(:r, :n)"),
                               {"r": qualified, "n": n}).scalar()) for n in range(blocks)]


def tuple_xids(conn, qualified: str) -> set[int]:
    """Every xmin and xmax in the heap's line pointers, dead versions included."""
    xids: set[int] = set()
    for page in raw_pages(conn, qualified):
        for xmin, xmax in conn.execute(sa.text(
                "SELECT t_xmin, t_xmax FROM public.heap_page_items(:p)"), {"p": page}):
            xids.update(int(x) for x in (xmin, xmax) if x)
    return xids


def current_schema() -> str:
    """The schema this test's tables live in."""
    return db.session.execute(sa.text("SELECT current_schema()")).scalar()
