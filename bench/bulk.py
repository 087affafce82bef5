"""Rounds in bulk: creating and opening a round of 40 cards for each of 500 branches
(``bulk_rounds.create_rounds`` then ``open_rounds``, the services the web and CLI call)
against inserting the same number of card rows with plain SQL, in the same run.

The baseline is strict: its rows (random id, round id, group id, a SHA-256 hash) are made
before the clock starts, and one DB-API ``executemany`` inserts them into a table shaped
like ``cards`` (primary key, unique hash, round index; on SQLite WITHOUT ROWID, as ``cards``
is) and commits. On SQLite the same insert into a rowid table is shown too, for comparison
with runs before the baseline followed ``cards``' shape. The bulk side derives
every code, hashes it, and writes rounds, groups, cards and one audit entry per round for
the creation and again for the opening. Each side runs twice, alternating; the best counts.
"""
from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from bench.databases import fresh_database
from bench.inproc import app_on, prepare
from bench.report import Report, ms, ratio
from bench.timing import timed

SECTION = "9. rounds in bulk"
MAX_RATIO = 3.0
CARDS_PER_BRANCH = 40
ROOT = "BENCH"


def add_branches(count: int, root_code: str = ROOT) -> None:
    """A 党委 ``root_code`` with ``count`` branches that have not started a stage (no gate)."""
    from evalsvc.extensions import db
    from evalsvc.models import Organisation, OrgType

    root = Organisation(code=root_code, name=f"基准测试党委{root_code}", type=OrgType.COMMITTEE)
    db.session.add(root)
    db.session.flush()
    db.session.execute(sa.insert(Organisation), [
        {"code": f"{root_code}{n:04d}", "name": f"{root_code}基准测试第{n}党支部",
         "type": OrgType.BRANCH,
         "unit": "", "parent_id": root.id} for n in range(count)])
    db.session.commit()


def create_and_open(cards: int = CARDS_PER_BRANCH, root_code: str = ROOT):
    """One stage_review round of ``cards`` masses' cards per branch under ``root_code``,
    opened."""
    from evalsvc.models import GroupCode, Stage
    from evalsvc.services import bulk_rounds, rounds

    chosen = bulk_rounds.Selection(under=root_code)
    template = rounds.RoundData(0, "stage_review", Stage.STUDY,
                                {GroupCode.MEMBER: 0, GroupCode.MASSES: cards})
    created = bulk_rounds.create_rounds(None, chosen, template)
    opened = bulk_rounds.open_rounds(None, chosen)
    if created.refused or opened.refused or len(opened.done) != len(created.done):
        raise RuntimeError(f"bulk refused: {created.refused[:3]} {opened.refused[:3]}")
    return len(created.done)


def _baseline_table(name: str = "bench_cards", like_cards: bool = True) -> None:
    """A table shaped like ``cards``: on SQLite ``cards`` is WITHOUT ROWID (rows stored
    in the order of their random ids), which makes every insert dearer than into a rowid
    table; ``like_cards=False`` makes the rowid table earlier runs compared against."""
    from evalsvc.extensions import db

    without_rowid = like_cards and db.engine.dialect.name == "sqlite"
    db.session.execute(sa.text(
        f"CREATE TABLE {name} (id VARCHAR(32) NOT NULL PRIMARY KEY, round_id INTEGER NOT NULL, "
        "group_id INTEGER NOT NULL, code_hash VARCHAR(64) NOT NULL UNIQUE, "
        "spent BOOLEAN NOT NULL)" + (" WITHOUT ROWID" if without_rowid else "")))
    db.session.execute(sa.text(f"CREATE INDEX ix_{name}_round ON {name} (round_id)"))
    db.session.commit()


def _plain_insert(rows: list[tuple], table: str = "bench_cards") -> None:
    from evalsvc.extensions import db

    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if db.engine.dialect.name == "sqlite":
            cursor.execute("BEGIN")
        cursor.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)"
                           if db.engine.dialect.name == "sqlite" else
                           f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s)", rows)
        connection.commit()
    finally:
        connection.close()


def _rows(count: int, run: int) -> list[tuple]:
    return [(secrets.token_hex(16), run, run, hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
             False) for _ in range(count)]


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Time bulk create+open against the plain insert, per database."""
    branches = 100 if quick else 500
    total = branches * CARDS_PER_BRANCH
    for kind in kinds:
        with fresh_database(kind) as database:
            prepare(database)
            with app_on(database) as app, app.app_context():
                for attempt in (1, 2):  # a branch holds one open round of a kind at a time
                    add_branches(branches, f"{ROOT}{attempt}")
                _baseline_table()
                rowid = kind == "sqlite"  # the earlier baseline, for comparison only
                if rowid:
                    _baseline_table("bench_rowid_cards", like_cards=False)
                ours, theirs, rowid_times = [], [], []
                for attempt in (1, 2):
                    rows = _rows(total, attempt)
                    theirs.append(timed(lambda: _plain_insert(rows))[0])
                    if rowid:
                        rowid_times.append(timed(
                            lambda: _plain_insert(rows, "bench_rowid_cards"))[0])
                    took, made = timed(lambda: create_and_open(root_code=f"{ROOT}{attempt}"))
                    ours.append(took)
                best, base = min(ours), min(theirs)
                report.note(f"{kind}: {branches} branches × {CARDS_PER_BRANCH} cards = {total} "
                            f"cards, {made} rounds per run; runs: {[ms(t) for t in ours]}",
                            SECTION)
                report.check(SECTION, f"{kind}: create + open {branches} rounds", ms(best),
                             best <= MAX_RATIO * base, f"≤ {MAX_RATIO:g}× baseline",
                             ratio(best, base))
                report.figure(SECTION, f"{kind}: baseline INSERT {total} cards", ms(base))
                if rowid:
                    report.figure(SECTION, f"{kind}: same INSERT into a rowid table "
                                  f"(not the floor's)", ms(min(rowid_times)),
                                  ratio(best, min(rowid_times)))
