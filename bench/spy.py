"""1c. Where a gunicorn worker's time goes during the hall rush (``--only spy``).

Needs py-spy (``pip install py-spy``, or ``BENCH_PYSPY=/path/to/py-spy``); skipped without
it. evalsvc serves a rush at 16 connections as in the hall rush while py-spy samples both
workers from outside: first with ``--idle`` (every sample, so shares of wall time, waiting
included), then without (only samples where the thread is running). Stacks are sorted into
the phases of the submit path; waits on SQLite's write lock show up in ``BEGIN IMMEDIATE``.
"""
from __future__ import annotations

import functools
import os
import random
import shutil
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from bench.databases import fresh_database
from bench.load import run_load
from bench.report import Report
from bench.rush import ACK, ORG, ballot_body
from bench.server import BIN, Gunicorn, evalsvc_cli, evalsvc_env, free_port

SECTION = "1c. a worker's time under the rush (py-spy)"
RATE = 400  # samples per second
SECONDS = 4  # per recording
# (category, substrings of a stack), first match wins; stacks are root → leaf.
RULES = (
    ("BEGIN IMMEDIATE: waiting for the write lock", ("_on_begin (evalsvc/database.py",)),
    ("COMMIT (fsync)", ("do_commit (",)),
    ("cast_card_ballot: statements, connection", ("cast_card_ballot (",)),
    ("find_card: the card lookup", ("find_card (",)),
    ("Kind.validate (WTForms)", ("validate (evalsvc/kinds/base.py",)),
    ("rounds.layout", ("layout (evalsvc/services/rounds.py",)),
    ("_thanks: template", ("_thanks (",)),
    ("session teardown (ROLLBACK, close)", ("do_teardown_appcontext (",)),
    ("rest of Flask/Werkzeug in the request", ("wsgi_app (flask",)),
    ("gunicorn: reading the request, writing the response", ("handle (gunicorn",)),
    ("gunicorn: waiting for a connection", ("run (gunicorn/workers/sync.py",)),
)


def _py_spy() -> str | None:
    candidates = (os.environ.get("BENCH_PYSPY"), shutil.which("py-spy"), str(BIN / "py-spy"))
    return next((c for c in candidates if c and Path(c).is_file()), None)


def _categorise(paths: list[Path]) -> Counter:
    counts: Counter = Counter()
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            name = next((c for c, keys in RULES if any(k in stack for k in keys)), "other")
            counts[name] += int(n)
    return counts


def _record(py_spy: str, pids: list[int], out: Path, idle: bool) -> list[Path]:
    procs, paths = [], []
    for pid in pids:
        path = out / f"spy-{pid}-{'idle' if idle else 'cpu'}.txt"
        args = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", str(RATE),
                "--duration", str(SECONDS), "--nonblocking", "--output", str(path)]
        procs.append(subprocess.Popen(args + (["--idle"] if idle else []),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        paths.append(path)
    for proc in procs:
        try:
            proc.wait(timeout=SECONDS + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"py-spy failed: {proc.stderr.read().decode()[-500:]}")
    return paths


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Sample both workers during a 16-connection rush on each database."""
    py_spy = _py_spy()
    if py_spy is None:
        report.note("py-spy not found: skipped (pip install py-spy, or set BENCH_PYSPY)",
                    SECTION)
        return
    for kind in kinds:
        with fresh_database(kind) as database:
            _spy_on(report, database, py_spy)


def _spy_on(report: Report, database, py_spy: str) -> None:
    section = f"{SECTION} / {database.kind}"
    port = free_port()
    env = evalsvc_env(database.url, database.instance, f"http://127.0.0.1:{port}")
    cli = functools.partial(evalsvc_cli, env, cwd=database.instance)
    cli("init")
    cli("demo")
    round_id = cli("round", "create", "--org", ORG, "--kind", "satisfaction", "--stage",
                   "review", "--group", "masses=5000").strip()
    cli("round", "open", round_id)
    paths = [urlsplit(u).path for u in cli("round", "cards", round_id, "--urls").split()]
    rng = random.Random(11)
    requests = [("POST", p, ballot_body(rng)) for p in paths]
    with Gunicorn("evalsvc:create_app()", env=env, cwd=database.instance, port=port,
                  ready_path="/login", log_path=database.workdir / "gunicorn.log") as app:
        run_load(port, requests[:100], 16, ack=ACK)
        results = {}
        load = threading.Thread(target=lambda: results.update(
            load=run_load(port, requests[100:], 16, ack=ACK)))
        load.start()
        time.sleep(0.5)
        pids = app.worker_pids()
        wall = _categorise(_record(py_spy, pids, database.workdir, idle=True))
        cpu = _categorise(_record(py_spy, pids, database.workdir, idle=False))
        load.join(timeout=300)
    done = results.get("load")
    if done is not None:
        report.note(f"{done.rate:.0f} ballots/s during the sampling, "
                    f"{done.error_count((200, 409))} errors", section)
    total = sum(wall.values()) or 1
    for name, n in wall.most_common():
        report.figure(section, name, f"{n / total:.0%} of wall",
                      f"on CPU for {cpu.get(name, 0) / total:.0%} of wall")
