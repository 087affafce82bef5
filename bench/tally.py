"""2. Tally: counting a closed member_review round of N ballots × 30 members.

``results.compute(round)`` is timed against the baseline of reading the round's answers:
one plain SELECT of its ballots' packed answers (``SELECT group_id, answers FROM ballots
WHERE round_id = :r``, fully fetched) with each value decoded (``json.loads``) and dropped,
best of 3 each, alternating; the SELECT alone is shown too. Then the round is closed through the real service
(reshuffle, tally, store, seal; then the clearing of old row copies), against the floor of
issue 16 §2: at most 10 × compute() and 200 MiB of peak memory growth. ``GET /rounds/ID``
is timed with the SQL it issues watched:
it must show what closing stored and never read the answers again. Finally the campaign
overview of the 100 branches (``dashboard.overview``) is timed, service and page.
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from contextlib import contextmanager

import sqlalchemy as sa

from bench.biground import BRANCHES, BigRound
from bench.inproc import logged_in_client
from bench import memory
from bench.report import Report, mib, ms, ratio
from bench.timing import paired, timed

SECTION = "2. tally"
MAX_RATIO = 3.0
MAX_CLOSE_RATIO = 10.0  # issue 16 §2: closing ≤ 10 × results.compute() of the round
MAX_CLOSE_GROWTH = 200 * 2**20  # … with peak memory growth ≤ 200 MB
REPEATS = 3


@contextmanager
def watched_sql(engine, durations: list | None = None):
    """Collect every SQL statement the engine runs inside the block (and, when a list is
    given, (seconds, statement) for each, the cursor's execution time)."""
    statements: list[str] = []
    starts: list[float] = []

    def before(_conn, _cursor, statement, *_args):
        statements.append(statement)
        starts.append(time.perf_counter())

    def after(_conn, _cursor, statement, *_args):
        if durations is not None:
            durations.append((time.perf_counter() - starts.pop(), statement))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)


def run_on(report: Report, data: BigRound) -> None:
    """Every tally figure on one data set (the round is closed at the end)."""
    from evalsvc.extensions import db
    from evalsvc.models import Round, User
    from evalsvc.services import results

    section = f"{SECTION} / {data.database.kind}"
    report.note(f"data set: {data.ballots:,} ballots, {data.answers:,} answer rows, "
                f"{BRANCHES} branches; built in {data.build_seconds:.0f} s", section)
    app = data.app
    with app.app_context():
        round_ = db.session.get(Round, data.round_id)

        def select_only():
            return db.session.execute(sa.text(
                "SELECT group_id, answers FROM ballots WHERE round_id = :r"),
                {"r": data.round_id}).all()

        def baseline():  # decoded and dropped, as compute() does: nothing kept
            return sum(len(json.loads(packed)) for _group, packed in select_only())

        def tally():
            db.session.expire_all()
            return results.compute(db.session.get(Round, data.round_id))

        took, base = paired(tally, baseline, REPEATS)
        report.check(section, "results.compute(round)", ms(took), took <= MAX_RATIO * base,
                     f"≤ {MAX_RATIO:.0f}× baseline", ratio(took, base))
        report.figure(section, "baseline: SELECT the round's ballots, decode", ms(base),
                      f"{len(select_only()):,} ballots fetched, json.loads each "
                      f"({baseline():,} answers)")
        select, _ = paired(select_only, baseline, REPEATS)
        report.figure(section, "  ↳ the SELECT alone", ms(select),
                      f"compute() is {ratio(took, select)} of it")
        durations: list[tuple[float, str]] = []
        with watched_sql(db.engine, durations):
            tally()
        slowest, statement = max(durations)
        report.note(f"compute()'s slowest SQL statement, cursor time {ms(slowest)} (all "
                    f"{len(durations)}: {ms(sum(d for d, _ in durations))}): "
                    + " ".join(statement.split())[:150])
        db.session.commit()
        _close(report, section, round_, took)
        office = db.session.scalar(sa.select(User).where(User.username == "office"))
        office_id = office.id
        db.session.commit()
    _results_page(report, section, data, took)
    _overview(report, section, data, office_id)


def _close(report: Report, section: str, round_, compute_time: float) -> None:
    """Close the round as ``closing.close_round`` does: the closing transaction (shuffle,
    tally, seal), then the clearing of the old row copies, each timed, and the whole
    against the floor. The slowest statements show where the time goes."""
    from evalsvc.extensions import db
    from evalsvc.services import closing, traces

    round_id = round_.id
    rss = memory.status("VmRSS")
    exact = memory.reset_peak()
    durations: list[tuple[float, str]] = []
    with watched_sql(db.engine, durations):
        sealed, _ = timed(lambda: closing.close_round(None, round_, scrub=False))
        sealed_growth = memory.status("VmHWM") - rss
        scrub, cleared = timed(lambda: traces.after_close(round_id))
    growth = memory.status("VmHWM") - rss
    total = sealed + scrub
    since = "" if exact else " (since start)"
    report.check(section, "closing the round (real service)", f"{total:.1f} s",
                 total <= MAX_CLOSE_RATIO * compute_time and growth <= MAX_CLOSE_GROWTH,
                 f"≤ {MAX_CLOSE_RATIO:.0f}× compute(), ≤ {mib(MAX_CLOSE_GROWTH)}",
                 f"{total / compute_time:.1f}× compute(), peak RSS +{mib(growth)}{since}")
    report.figure(section, "  ↳ the closing transaction", f"{sealed:.1f} s",
                  f"{sealed / compute_time:.1f}× compute(), peak RSS +{mib(sealed_growth)}",
                  "shuffle, tally, seal")
    report.figure(section, "  ↳ clearing old row copies", f"{scrub:.1f} s",
                  f"{scrub / compute_time:.1f}× compute()",
                  "traces.after_close" + ("" if cleared else ": still pending"))
    if not cleared and db.engine.dialect.name == "postgresql":
        # An older transaction of someone else's on the shared server held the clearing
        # up: time the rewrite itself (what the clearing runs once nothing holds it up).
        rewrite, _ = timed(lambda: _rewrite_tables(db.engine, traces.TABLES))
        report.figure(section, "  ↳ its table rewrite alone (VACUUM FULL)", f"{rewrite:.1f} s",
                      f"{rewrite / compute_time:.1f}× compute()",
                      f"{', '.join(traces.TABLES)} (what-if)")
    in_sql = sum(d for d, _ in durations)
    report.note(f"closing: {in_sql:.1f} s of {total:.1f} s in {len(durations)} SQL "
                "statements (cursor time); the slowest:", section)
    for seconds, statement in sorted(durations, reverse=True)[:6]:
        report.note(f"  {seconds:6.2f} s  " + " ".join(statement.split())[:110], section)


def _rewrite_tables(engine, tables) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f"VACUUM (FULL) {table}")


def _results_page(report: Report, section: str, data: BigRound, compute_time: float) -> None:
    from evalsvc.extensions import db

    app = data.app
    client = logged_in_client(app)
    with app.app_context():
        engine = db.engine
    client.get(f"/rounds/{data.round_id}")  # compile the template once
    times = []
    for _ in range(REPEATS):
        with watched_sql(engine) as statements:
            start = time.perf_counter()
            response = client.get(f"/rounds/{data.round_id}")
            times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"GET /rounds/{data.round_id}: {response.status_code}")
    page = min(times)
    reads = [s for s in statements if re.search(r"\bballots\.answers\b", s)]
    report.figure(section, "GET /rounds/ID of the closed round", ms(page),
                  f"{page / compute_time:.3f}× compute()", f"{len(statements)} SQL statements")
    report.check(section, "statements reading answers on that GET", str(len(reads)),
                 not reads, "= 0 (no recount)")


def _overview(report: Report, section: str, data: BigRound, office_id: int) -> None:
    from evalsvc.extensions import db
    from evalsvc.models import User
    from evalsvc.services import dashboard

    app = data.app
    with app.app_context():
        engine = db.engine
        office = db.session.get(User, office_id)
        dashboard.overview(office, parent_id=data.committee_id)
        times = []
        for _ in range(REPEATS):
            db.session.expire_all()
            with watched_sql(engine) as statements:
                took, rows = timed(lambda: list(dashboard.overview(
                    office, parent_id=data.committee_id)))
            times.append(took)
        report.figure(section, f"dashboard.overview(office), {len(rows)} branches",
                      ms(min(times)), f"{len(statements)} SQL statements")
        tables = Counter(m.group(1) for s in statements if (m := re.search(r"FROM (\w+)", s)))
        table, count = tables.most_common(1)[0]
        report.note(f"{count} of those {len(statements)} statements are SELECT … FROM {table}",
                    section)
    client = logged_in_client(app)
    url = f"/dashboard?parent={data.committee_id}"
    client.get(url)
    page = min(timed(lambda: client.get(url))[0] for _ in range(REPEATS))
    report.figure(section, "GET /dashboard (those branches)", ms(page))
