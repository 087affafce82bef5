"""Test databases copied from templates built once per test run.

Migrating a database takes longer than most tests; copying one takes milliseconds. So each
run builds its templates once, on first use, by running the real migrations (and, for the
``demo`` template, the demo county) into an empty database; every test then gets a copy:

- SQLite: the template file, checkpointed and closed, is copied into the test's directory;
- PostgreSQL: ``CREATE DATABASE t_… TEMPLATE evalsvc_test_…`` (a file-level copy, triggers
  and ``alembic_version`` included), dropped in the background after the test. The role
  needs CREATEDB.

Templates are rebuilt by every run, so a new migration is picked up without any step.
"""
from __future__ import annotations

import contextlib
import fcntl
import secrets
import shutil
import time
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

Fill = Callable[[str, Path], None]  # (url, instance path): brings an empty database to a
# template's state


@dataclass(frozen=True)
class Derived:
    """A template made from a copy of another template (``base``, built first if need be),
    which ``fill`` (url, instance path) then brings on: the base's work is not done again."""
    base: str
    fill: Fill


class SqliteDatabases:
    """Databases as files: templates in ``root`` (one folder for all of a run's xdist
    workers: each template is built once per run), copies in each test's directory."""

    def __init__(self, root: Path, fills: dict[str, Fill | Derived]):
        self.root = root
        self.fills = fills
        self.templates: dict[str, Path] = {}

    @contextlib.contextmanager
    def empty(self, directory: Path) -> Iterator[str]:
        """A URL to an empty database in ``directory``."""
        yield f"sqlite:///{directory / 'test.sqlite3'}"

    @contextlib.contextmanager
    def fresh(self, directory: Path, template: str = "migrated") -> Iterator[str]:
        """A URL to a copy of ``template`` in ``directory``."""
        target = directory / "test.sqlite3"
        shutil.copyfile(self._template(template), target)
        yield f"sqlite:///{target}"

    def _template(self, name: str) -> Path:
        if name not in self.templates:
            path = self.root / f"{name}.sqlite3"
            ready = self.root / f"{name}.ready"
            # The root may be shared by the run's xdist workers: the first to ask builds the
            # template while the others wait on the lock, then all copy it.
            with (self.root / f"{name}.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not ready.exists():
                    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                        leftover.unlink(missing_ok=True)  # of a build that failed
                    fill = self.fills[name]
                    if isinstance(fill, Derived):
                        shutil.copyfile(self._template(fill.base), path)
                        fill = fill.fill
                    fill(f"sqlite:///{path}", self.root / f"instance-{name}")
                    # Every change is in the main file once the write-ahead log is
                    # checkpointed and the last connection closed, so copying that one file
                    # copies the database.
                    with contextlib.closing(sqlite3.connect(path)) as conn:
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    ready.touch()
            self.templates[name] = path
        return self.templates[name]

    def close(self) -> None:
        """Nothing to drop: the files live in pytest's temporary directory."""


class PostgresDatabases:
    """A database per test on the server at ``url``, created from template databases."""

    def __init__(self, url: str, root: Path, fills: dict[str, Fill | Derived]):
        self.url = sa.engine.make_url(url)
        self.root = root
        self.fills = fills
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT",
                                      poolclass=sa.pool.NullPool)
        self.run = secrets.token_hex(4)  # keeps parallel runs on one server apart
        self.templates: dict[str, str] = {}
        # A busy server takes a second or more to drop a database: drop in the background
        # while the next tests run, and wait for all of it at the end of the run.
        self.dropper = ThreadPoolExecutor(max_workers=1)
        self.drops: list[Future] = []

    def _url(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(sql)

    @contextlib.contextmanager
    def _database(self, template: str | None) -> Iterator[str]:
        name = f"t_{secrets.token_hex(6)}"
        # WAL_LOG (PostgreSQL 15's default) copies a small database without a checkpoint.
        self._copy(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""),
                   template)
        try:
            yield self._url(name)
        finally:
            # FORCE: a test that failed half-way may have left a connection behind.
            self.drops.append(self.dropper.submit(
                self._execute, f"DROP DATABASE {name} WITH (FORCE)"))

    def _copy(self, create: str, template: str | None, attempts: int = 5) -> None:
        """CREATE DATABASE, refused while a session is still on the template: the fill's
        processes have exited, but on a loaded server a backend can outlive its client by
        more than the 5 s PostgreSQL waits. Nothing of the tests' own should be there:
        end such sessions and try again."""
        for attempt in range(attempts):
            try:
                return self._execute(create)
            except sa.exc.OperationalError as exc:
                if template is None or "being accessed by other users" not in str(exc) \
                        or attempt + 1 == attempts:
                    raise
            with self.admin.connect() as conn:
                print("sessions on the template:", conn.exec_driver_sql(
                    "SELECT pid, backend_type, application_name, state, left(query, 80)"
                    f" FROM pg_stat_activity WHERE datname = '{template}'").all())
            self._execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          f" WHERE datname = '{template}' AND pid <> pg_backend_pid()")
            time.sleep(0.5 * (attempt + 1))

    def empty(self, directory: Path) -> contextlib.AbstractContextManager[str]:
        """A URL to an empty database of its own, dropped afterwards."""
        return self._database(None)

    def fresh(self, directory: Path,
              template: str = "migrated") -> contextlib.AbstractContextManager[str]:
        """A URL to a copy of ``template``, dropped afterwards."""
        return self._database(self._template(template))

    def _template(self, name: str) -> str:
        if name not in self.templates:
            database = f"evalsvc_test_{self.run}_{name}"
            fill = self.fills[name]
            if isinstance(fill, Derived):
                base = self._template(fill.base)
                self._copy(f"CREATE DATABASE {database} TEMPLATE {base}", base)
                fill = fill.fill
            else:
                self._execute(f"CREATE DATABASE {database}")
            self.templates[name] = database  # dropped by close() even if the fill fails
            fill(self._url(database), self.root / "instance")
        return self.templates[name]

    def close(self) -> None:
        """Finish the tests' drops (a failed one fails here), then drop the templates."""
        self.dropper.shutdown(wait=True)
        for drop in self.drops:
            drop.result()
        for database in self.templates.values():
            self._execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        self.admin.dispose()


def open_databases(pg_url: str | None, root: Path,
                   fills: dict[str, Fill | Derived]) -> SqliteDatabases | PostgresDatabases:
    """The engine under test: PostgreSQL at ``pg_url`` when given, else SQLite files."""
    return PostgresDatabases(pg_url, root, fills) if pg_url else SqliteDatabases(root, fills)
