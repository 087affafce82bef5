"""Fresh, throw-away databases: an SQLite file in a temporary directory, or a PostgreSQL
schema (``CREATE SCHEMA bench_xxx``) selected through ``search_path`` and dropped afterwards."""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KINDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Database:
    """Where one benchmark's data lives, and a scratch directory next to it."""

    kind: str  # "sqlite" or "postgres"
    url: str
    workdir: Path  # scratch space: instance directory, files written by the benchmark

    @property
    def instance(self) -> Path:
        """The evalsvc instance directory for this database."""
        path = self.workdir / "instance"
        path.mkdir(exist_ok=True)
        return path


def postgres_available() -> str | None:
    """None when PostgreSQL answers; otherwise why not."""
    engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


@contextmanager
def fresh_database(kind: str, keep: bool = False):
    """Yield a Database that exists only inside the ``with`` block."""
    workdir = Path(tempfile.mkdtemp(prefix=f"evalsvc-bench-{kind}-"))
    schema = None
    try:
        if kind == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        elif kind == "postgres":
            schema = f"bench_{secrets.token_hex(5)}"
            _admin(f"CREATE SCHEMA {schema}")
            sep = "&" if "?" in PG_ADMIN_URL else "?"
            url = f"{PG_ADMIN_URL}{sep}options=-csearch_path%3D{schema}"
        else:
            raise ValueError(f"unknown database kind {kind!r}")
        yield Database(kind, url, workdir)
    finally:
        if schema and not keep:
            _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _admin(statement: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()
