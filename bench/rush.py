"""1. Hall rush: a room of respondents submitting satisfaction cards at once.

evalsvc under gunicorn (sync workers, as many as ``WORKERS`` says for the engine) takes N
card submissions at 16 and at 64 concurrent connections, on SQLite and on PostgreSQL, from a
separate client process. The baseline is ``bench/bare_app.py`` (parse the same form,
redirect) served the same way (the same number of workers) and loaded the same way, right
before each evalsvc run, with the same requests.
"""
from __future__ import annotations

import functools
import os
import random
import secrets
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

from bench.databases import Database, fresh_database
from bench.load import LoadResult, run_load
from bench.report import Report, ms, ratio
from bench.server import Gunicorn, evalsvc_cli, evalsvc_env, free_port

SECTION = "1. hall rush"
ACK = "提交成功"
ORG = "XW0102"
QUESTIONS = ("quality", "organisation", "service", "work", "overall")
# A hall that is mostly content: weights of satisfied … unknown.
ANSWERS = ("satisfied", "fairly", "basic", "dissatisfied", "unknown")
WEIGHTS = (45, 25, 15, 10, 5)
ADVICE = ("希望继续加强窗口服务，减少群众跑腿次数。", "整改措施要落到实处，定期公开进展。",
          "建议多听取基层党员和群众的意见。", "办事流程还可以再简化一些。")
CONCURRENCY = (16, 64)
# gunicorn sync workers per engine, as gunicorn.conf.py sets them; the baseline gets the same
# number (issue 16 §4). On PostgreSQL a worker waits for the server (two round trips and the
# commit's fsync per ballot), so twice the cores keep them busy; on SQLite the writers share
# one lock and more workers only queue for it. BENCH_RUSH_WORKERS=N overrides both.
WORKERS = {"sqlite": 2, "postgres": 4}
MIN_RATIO = 0.30  # accepted/s at 16 connections, over the bare-Flask baseline (issue 16 §4)
MAX_P99_RATIO = 4.0  # p99 at 16 connections, over the baseline's p99 in the same run


def ballot_body(rng: random.Random) -> str:
    """One realistic satisfaction ballot, urlencoded, with a fresh page nonce."""
    fields = {q: rng.choices(ANSWERS, WEIGHTS)[0] for q in QUESTIONS}
    if rng.random() < 0.3:
        fields["advice"] = rng.choice(ADVICE)
    fields["nonce"] = secrets.token_urlsafe(16)
    return urlencode(fields)


def run(report: Report, kinds: list[str], quick: bool) -> None:
    """Run the hall rush on each database kind, each against a baseline server with the
    same number of workers."""
    count = 500 if quick else 2000
    for kind in kinds:
        workers = int(os.environ.get("BENCH_RUSH_WORKERS", WORKERS[kind]))
        report.note(f"{kind}: {count} submissions per run; gunicorn -w {workers} -k sync for "
                    "both servers; client = bench/client.py (asyncio, own process)", SECTION)
        with Gunicorn("bench.bare_app:app", workers=workers) as bare:
            _warm_up(bare.port, [("GET", "/C/WARMUP", "")] * 8)
            with fresh_database(kind) as database:
                _rush_on(report, database, bare, count)


def _rush_on(report: Report, database: Database, bare: Gunicorn, count: int) -> None:
    section = f"{SECTION} / {database.kind}"
    port = free_port()
    env = evalsvc_env(database.url, database.instance, f"http://127.0.0.1:{port}")
    cli = functools.partial(evalsvc_cli, env, cwd=database.instance)
    cli("init")
    cli("demo")
    rounds = {}
    for concurrency in CONCURRENCY:
        round_id = cli("round", "create", "--org", ORG, "--kind", "satisfaction", "--stage",
                       "review", "--group", f"masses={count}").strip()
        cli("round", "open", round_id)
        paths = [urlsplit(u).path for u in cli("round", "cards", round_id, "--urls").split()]
        rounds[concurrency] = (int(round_id), paths)
    report.note(f"durability: {_durability(database)}", section)
    rng = random.Random(2005)
    with Gunicorn("evalsvc:create_app()", env=env, cwd=database.instance, port=port,
                  workers=bare.workers, ready_path="/login", log_path=database.workdir / "gunicorn.log") as app:
        warm_paths = rounds[CONCURRENCY[0]][1][:8]
        _warm_up(app.port, [("GET", p, "") for p in warm_paths]
                 + [("POST", p, "quality=satisfied&nonce=" + secrets.token_urlsafe(16))
                    for p in warm_paths])  # incomplete ballots: 422, no card spent
        for concurrency in CONCURRENCY:
            round_id, paths = rounds[concurrency]
            requests = [("POST", p, ballot_body(rng)) for p in paths]
            base, base_cpu = _measured(bare, requests, concurrency, ack_status=302)
            got, app_cpu = _measured(app, requests, concurrency, ack=ACK)
            stored = _stored_ballots(database.url, round_id)
            _print(report, section, concurrency, base, got, stored)
            wal = Path(database.url.removeprefix("sqlite:///") + "-wal")
            if database.kind == "sqlite" and wal.exists():
                report.note(f"@{concurrency}: SQLite WAL file is {wal.stat().st_size / 1e6:.1f} MB "
                            "after the run")
            report.note(f"@{concurrency}: server workers used {app_cpu / got.wall:.2f} cores, "
                        f"{ms(app_cpu / got.requests)} CPU per ballot (baseline: "
                        f"{base_cpu / base.wall:.2f} cores, {ms(base_cpu / base.requests)} "
                        "per request); whole machine busy "
                        f"{got.machine_busy:.0%} (baseline run {base.machine_busy:.0%}), "
                        "all processes incl. PostgreSQL and others'")


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _measured(server: Gunicorn, requests, concurrency: int, **ack) -> tuple[LoadResult, float]:
    """One load run, and the CPU seconds the server's workers spent on it."""
    before, machine = server.worker_cpu(), _machine_ticks()
    result = run_load(server.port, requests, concurrency, **ack)
    busy, total = (after - then for after, then in zip(_machine_ticks(), machine))
    result.machine_busy = busy / total if total else float("nan")
    return result, server.worker_cpu() - before


def _warm_up(port: int, requests) -> None:
    """Let every worker import, compile templates and open its database pool first."""
    run_load(port, list(requests), 4, ack_status=0)


def _durability(database: Database) -> str:
    """What a ballot's commit waits for, as the servers under test are set."""
    if database.kind == "sqlite":
        return "SQLite synchronous=FULL (evalsvc's default), journal_mode=WAL"
    engine = sa.create_engine(database.url)
    try:
        with engine.connect() as conn:
            settings = {name: conn.exec_driver_sql(f"SHOW {name}").scalar()
                        for name in ("synchronous_commit", "fsync", "wal_sync_method")}
    finally:
        engine.dispose()
    return "PostgreSQL " + ", ".join(f"{k}={v}" for k, v in settings.items())


def _stored_ballots(url: str, round_id: int) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM ballots WHERE round_id = :r"),
                                {"r": round_id}).scalar_one()
    finally:
        engine.dispose()


def _print(report: Report, section: str, c: int, base: LoadResult, got: LoadResult,
           stored: int) -> None:
    at = f"@{c}"
    report.figure(section, f"baseline bare Flask {at}", f"{base.rate:.0f} /s",
                  f"p50 {ms(base.percentile(50))}, p99 {ms(base.percentile(99))}",
                  verdict="" if base.error_count((302,)) == 0 else "(baseline errors!)")
    floored = c == CONCURRENCY[0]
    value = f"{got.rate:.0f} ballots/s"
    if floored:
        report.check(section, f"accepted/s {at}", value,
                     got.rate >= MIN_RATIO * base.rate, f"≥ {MIN_RATIO:.2f}× baseline",
                     ratio(got.rate, base.rate))
    else:
        report.figure(section, f"accepted/s {at}", value, ratio(got.rate, base.rate))
    report.figure(section, f"p50 latency {at}", ms(got.percentile(50)),
                  ratio(got.percentile(50), base.percentile(50)))
    p99 = got.percentile(99)
    if floored:
        report.check(section, f"p99 latency {at}", ms(p99),
                     p99 <= MAX_P99_RATIO * base.percentile(99),
                     f"≤ {MAX_P99_RATIO:.0f}× baseline p99", ratio(p99, base.percentile(99)))
    else:
        report.figure(section, f"p99 latency {at}", ms(p99), ratio(p99, base.percentile(99)))
    errors = got.error_count((200, 409))
    report.check(section, f"errors {at}", str(errors), errors == 0, "= 0",
                 got.describe_statuses())
    report.check(section, f"stored vs acknowledged {at}",
                 f"{stored} / {got.acknowledged}", stored == got.acknowledged,
                 "stored = acknowledged")
    report.note(f"{at}: client process used {got.client_cpu / got.wall:.0%} of a core "
                f"(baseline run {base.client_cpu / base.wall:.0%}); "
                f"{got.connections} connections opened for {got.requests} requests")
