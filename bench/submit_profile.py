"""1b. Where one card submission's time goes (``--only profile``; also run automatically
when the hall rush misses its throughput floor).

One process, the Flask test client, ballots posted one after another (no concurrency):
each phase of evalsvc's submit path is timed by wrapping the function the view calls
(monkeypatched here, in the benchmark process only; the app code is untouched), SQL time
and COMMIT time come from SQLAlchemy's engine events and the dialect's ``do_commit``, and
cProfile attributes the CPU time to libraries. On SQLite the same ballots are then sent
with ``synchronous=NORMAL`` and ``OFF`` to isolate the fsync. The bare-Flask baseline app
handles the same requests through its own test client.
"""
from __future__ import annotations

import cProfile
import functools
import pstats
import random
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

from bench.databases import fresh_database
from bench.inproc import app_on, prepare
from bench.report import Report, ms
from bench.rush import ORG, ballot_body
from bench.server import evalsvc_cli

SECTION = "1b. per-ballot cost, one process"
WARM_UP = 20
ROUNDS = 5  # interleaved chunks per variant


class Phases:
    """Wall time spent inside wrapped functions, summed over the measured requests."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self._undo: list[tuple[object, str, object]] = []
        self.active = False

    def wrap(self, owner, attr: str, name: str) -> None:
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            if not self.active:
                return original(*args, **kwargs)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.counts[name] += 1

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, original))

    def add(self, name: str, seconds: float) -> None:
        if self.active:
            self.seconds[name] += seconds
            self.counts[name] += 1

    def restore(self) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)
        self._undo.clear()


# (phase key, printed label); "  ↳" marks a part of the phase above it.
PHASES = (
    ("find_card", "find_card: card + round (one statement)"),
    ("layout", "rounds.layout: JSON → Question objects"),
    ("malformed", "_refuse_malformed: field checks"),
    ("validate", "Kind.validate"),
    ("build_form", "  ↳ build_form: WTForms class + bind"),
    ("cast", "cast_card_ballot: write transaction"),
    ("sql", "  ↳ SQL statements, driver time (all)"),
    ("commit", "  ↳ COMMIT (fsync)"),
    ("ping", "  ↳ pings at checkout (pre-ping or idle ping)"),
    ("thanks", "_thanks: render thank-you page"),
    ("rollback", "  ↳ ROLLBACK at session teardown"),
)
TOP_LEVEL = ("find_card", "layout", "malformed", "validate", "cast", "thanks")


@contextmanager
def instrumented(app):
    """Wrap the submit path's steps and hook the engine; yields the Phases."""
    import sqlalchemy as sa

    from evalsvc.extensions import db
    from evalsvc.kinds import base as kinds_base
    from evalsvc.services import ballots, rounds
    from evalsvc.web import respond

    phases = Phases()
    phases.wrap(ballots, "find_card", "find_card")
    phases.wrap(rounds, "layout", "layout")
    phases.wrap(respond, "_refuse_malformed", "malformed")
    phases.wrap(kinds_base, "build_form", "build_form")
    phases.wrap(kinds_base.Kind, "validate", "validate")
    phases.wrap(ballots, "cast_card_ballot", "cast")
    phases.wrap(respond, "_thanks", "thanks")
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect
    phases.wrap(dialect, "do_commit", "commit")
    phases.wrap(dialect, "do_rollback", "rollback")
    phases.wrap(dialect, "do_ping", "ping")
    starts: list[float] = []

    def before(*_args):
        starts.append(time.perf_counter())

    def after(*_args):
        phases.add("sql", time.perf_counter() - starts.pop())

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield phases
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
        phases.restore()
        for name in ("do_commit", "do_rollback", "do_ping"):
            dialect.__dict__.pop(name, None)  # back to the class's methods


def _raw_sql(app, requests) -> tuple[float, float]:
    """The app's statements for each ballot, sent through the bare DB-API driver on one
    connection (no ORM, no Core, no Flask): seconds per ballot, and of it the COMMIT."""
    import secrets as _secrets
    from datetime import date
    from urllib.parse import parse_qsl

    from evalsvc.extensions import db
    from evalsvc.services.codes import hash_code
    from evalsvc.services.packed import pack

    with app.app_context():
        engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    raw = engine.raw_connection()
    conn = raw.driver_connection
    commit_seconds = 0.0
    start = time.perf_counter()
    try:
        for path, body in requests:
            code_hash = hash_code(path.rsplit("/", 1)[1])
            cur = conn.cursor()
            if sqlite:
                cur.execute("BEGIN")
            cur.execute(f"SELECT round_id, spent FROM cards WHERE code_hash = {mark}",
                        (code_hash,))
            round_id, _spent = cur.fetchone()
            cur.execute(f"SELECT * FROM rounds WHERE id = {mark}", (round_id,))
            cur.fetchone()
            conn.commit() if not sqlite else cur.execute("COMMIT")
            cur.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
            cur.execute(f"SELECT state FROM rounds WHERE id = {mark}"
                        + ("" if sqlite else " FOR SHARE"), (round_id,))
            cur.fetchone()
            cur.execute(f"UPDATE cards SET spent = {mark} WHERE code_hash = {mark} AND "
                        f"round_id = {mark} AND spent = {mark} RETURNING group_id",
                        (True, code_hash, round_id, False))
            group_id = cur.fetchone()[0]
            ballot_id = _secrets.token_hex(16)
            answers = pack((key, "", value) if key == "advice" else (key, value, None)
                           for key, value in parse_qsl(body) if key != "nonce")
            cur.execute(f"INSERT INTO ballots (id, round_id, group_id, day, answers) VALUES "
                        f"({mark}, {mark}, {mark}, {mark}, {mark})",
                        (ballot_id, round_id, group_id, date.today(), answers))
            cur.execute(f"INSERT INTO receipts (code, round_id) VALUES ({mark}, {mark})",
                        (_secrets.token_hex(6).upper(), round_id))
            began = time.perf_counter()
            cur.execute("COMMIT") if sqlite else conn.commit()
            commit_seconds += time.perf_counter() - began
            cur.close()
    finally:
        raw.close()
    count = max(1, len(requests))
    return (time.perf_counter() - start) / count, commit_seconds / count


def _post_all(client, requests) -> float:
    """POST every (path, body); seconds per request. Any answer but 200 is an error."""
    start = time.perf_counter()
    for path, body in requests:
        response = client.post(path, data=body,
                               content_type="application/x-www-form-urlencoded")
        if response.status_code not in (200, 302):
            raise RuntimeError(f"POST {path} answered {response.status_code}")
    return (time.perf_counter() - start) / max(1, len(requests))


def _library(filename: str) -> str:
    for marker, name in (("sqlalchemy", "SQLAlchemy"), ("wtforms", "WTForms"),
                         ("jinja2", "Jinja2"), ("werkzeug", "Werkzeug"),
                         ("flask_login", "Flask-Login"), ("flask_wtf", "Flask-WTF"),
                         ("flask", "Flask"), ("/evalsvc/", "evalsvc"), ("psycopg", "psycopg"),
                         ("sqlite3", "sqlite3"), ("markupsafe", "MarkupSafe"),
                         ("/bench/", "bench harness")):
        if marker in filename:
            return name
    return "stdlib/builtins (incl. sqlite3/socket C calls)"


def _cpu_by_library(client, requests) -> list[tuple[str, float]]:
    profiler = cProfile.Profile()
    profiler.enable()
    _post_all(client, requests)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_lib: dict[str, float] = defaultdict(float)
    for (filename, _line, _func), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        by_lib[_library(filename)] += tottime
    total = sum(by_lib.values()) or 1
    return sorted(((lib, t / total) for lib, t in by_lib.items()), key=lambda x: -x[1])


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Time the submit path's phases on each database."""
    n = 150 if quick else 400
    for kind in kinds:
        with fresh_database(kind) as database:
            _profile_on(report, database, n)


def _chunks(items: list, count: int) -> list[list]:
    size = -(-len(items) // count)
    return [items[i:i + size] for i in range(0, len(items), size)]


def _card_requests(database, count: int) -> list[tuple[str, str]]:
    """Open a satisfaction round with ``count`` cards; one (path, body) per card."""
    env = prepare(database)
    cli = functools.partial(evalsvc_cli, env, cwd=database.instance)
    round_id = cli("round", "create", "--org", ORG, "--kind", "satisfaction", "--stage",
                   "review", "--group", f"masses={count}").strip()
    cli("round", "open", round_id)
    rng = random.Random(7)
    return [(urlsplit(u).path, ballot_body(rng))
            for u in cli("round", "cards", round_id, "--urls").split()]


def _profile_on(report: Report, database, n: int) -> None:
    sqlite = database.kind == "sqlite"
    variants = ("app", "raw") + (("NORMAL", "OFF") if sqlite else ())
    requests = _card_requests(database, WARM_UP * (len(variants) + 1) + n * (len(variants) + 1))
    warm = {v: requests[i * WARM_UP:(i + 1) * WARM_UP] for i, v in enumerate(variants)}
    rest = requests[len(variants) * WARM_UP:]
    parts = {v: _chunks(rest[i * n:(i + 1) * n], ROUNDS) for i, v in enumerate(variants)}
    profiled = rest[len(variants) * n:]
    from bench.bare_app import app as bare_app

    bare = bare_app.test_client()
    _post_all(bare, warm["app"])
    times: dict[str, float] = defaultdict(float)  # variant → seconds over all its chunks
    with ExitStack() as stack:
        app = stack.enter_context(app_on(database))
        clients = {"app": app.test_client()}
        for setting in variants[2:]:
            clients[setting] = stack.enter_context(
                app_on(database, SQLITE_SYNCHRONOUS=setting)).test_client()
        for variant, client in clients.items():
            _post_all(client, warm[variant])
        _raw_sql(app, warm["raw"])
        # Alternate small chunks of every variant, so a noisy neighbour hits them all alike.
        with instrumented(app) as phases:
            for index in range(ROUNDS):
                times["bare"] += _post_all(bare, parts["app"][index]) * len(parts["app"][index])
                for variant in variants:
                    chunk = parts[variant][index]
                    phases.active = variant == "app"
                    if variant == "raw":
                        per, commit = _raw_sql(app, chunk)
                        times["raw_commit"] += commit * len(chunk)
                    else:
                        per = _post_all(clients[variant], chunk)
                    phases.active = False
                    times[variant] += per * len(chunk)
        shares = _cpu_by_library(clients["app"], profiled)
    _print(report, f"{SECTION} / {database.kind}", n, times, phases, shares)


def _print(report: Report, section: str, n: int, times, phases: Phases, shares) -> None:
    per_ballot, bare = times["app"] / n, times["bare"] / n
    report.figure(section, "whole POST (test client)", ms(per_ballot),
                  f"{per_ballot / bare:.1f}× bare Flask ({ms(bare)})")
    for key, label in PHASES:
        per = phases.seconds.get(key, 0.0) / n
        calls = phases.counts.get(key, 0) / n
        report.figure(section, label, ms(per), f"{per / per_ballot:.0%} of the POST"
                      + (f", {calls:.1f} calls" if calls > 1.01 else ""))
    inside = sum(phases.seconds.get(key, 0.0) for key in TOP_LEVEL) / n
    report.figure(section, "rest: Flask, Werkzeug, hooks, teardown", ms(per_ballot - inside),
                  f"{(per_ballot - inside) / per_ballot:.0%} of the POST")
    report.note("time by library (cProfile tottime, wall clock): "
                + ", ".join(f"{lib} {share:.0%}" for lib, share in shares[:7]))
    raw = times["raw"] / n
    report.figure(section, "same SQL, bare DB-API driver, 1 conn.", ms(raw),
                  f"{raw / per_ballot:.0%} of the POST; its COMMIT {ms(times['raw_commit'] / n)}")
    for setting in ("NORMAL", "OFF"):
        if setting in times:
            per = times[setting] / n
            report.figure(section, f"whole POST, synchronous={setting}", ms(per),
                          f"{per / per_ballot:.2f}× FULL ({ms(per_ballot)})")
