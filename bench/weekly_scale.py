"""The weekly report at two sizes (a quick check while the growth benchmark is written).

    .venv/bin/python -m bench.weekly_scale 500 20000 [--db postgres|sqlite] [--keep]

For each size, on a fresh database with the demo county: SIZE branches (50 under each of
SIZE/50 committees, spread over the three batches), each with three closed rounds (one of
them closed in the report's week, so every branch held a round: the report's worst case) and
one open round, copied from a demo round with its kept totals; each closed round of the week
has its ``round.close`` audit entry; every tenth branch a 督导意见. Rows go in by
``insert_rows`` (COPY on PostgreSQL). Then, each in a fresh process (peak memory is the
process's own): the report page (``GET /reports/weekly``), its XLSX and its PDF: time,
statements and peak memory growth (VmHWM after − VmRSS before).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, time as clock, timedelta, timezone

import sqlalchemy as sa

from bench.databases import fresh_database
from bench.inproc import app_on, logged_in_client, prepare

PER_COMMITTEE = 50


def build(size: int) -> None:
    """The branches, their rounds and the week's audit entries."""
    from evalsvc.database import insert_rows
    from evalsvc.extensions import db
    from evalsvc.models import (
        AuditEntry, Batch, Opinion, Organisation, OrgType, Round, RoundState, Stage,
        StageProgress, StageState,
    )
    from evalsvc.models.campaigns import latest_campaign_id
    from evalsvc.services.demo_rounds import load_demo_rounds
    from evalsvc.services.today import today

    if not db.session.scalar(sa.select(sa.func.count()).select_from(Round).where(
            Round.state == RoundState.CLOSED)):
        load_demo_rounds()
    top = db.session.scalar(sa.select(Organisation).where(Organisation.code == "XW"))
    batches = db.session.scalars(sa.select(Batch.id).order_by(Batch.number)).all()
    committees = max(1, size // PER_COMMITTEE)
    insert_rows(Organisation.__table__, ("code", "name", "type", "unit", "parent_id",
                                         "batch_id"),
                [(f"P{c:04d}", f"省直第{c}党委", OrgType.COMMITTEE, "", top.id,
                  batches[c % len(batches)]) for c in range(committees)])
    parents = dict(db.session.execute(sa.select(Organisation.code, Organisation.id).where(
        Organisation.code.like("P%"))).all())
    insert_rows(Organisation.__table__, ("code", "name", "type", "unit", "parent_id",
                                         "batch_id"),
                [(f"P{i // PER_COMMITTEE % committees:04d}B{i:06d}", f"第{i}党支部",
                  OrgType.BRANCH, "", parents[f"P{i // PER_COMMITTEE % committees:04d}"],
                  batches[(i // PER_COMMITTEE % committees) % len(batches)])
                 for i in range(size)])
    branches = db.session.execute(sa.select(Organisation.id, Organisation.code).where(
        Organisation.code.like("P%B%")).order_by(Organisation.code)).all()
    campaign = db.session.scalar(sa.select(latest_campaign_id()))
    insert_rows(StageProgress.__table__, ("organisation_id", "campaign_id", "stage", "state"),
                [(org_id, campaign, stage, state) for org_id, _code in branches
                 for stage, state in ((Stage.STUDY, StageState.PASSED),
                                      (Stage.REVIEW, StageState.IN_PROGRESS))])
    model = db.session.execute(sa.select(Round.__table__).where(
        Round.state == RoundState.CLOSED, Round.rehearsal.is_(False),
        Round.figures_json.is_not(None)).order_by(Round.id).limit(1)).mappings().one()
    columns = tuple(c for c in model if c not in ("id", "poster_token"))
    week = today()
    earlier = (week - timedelta(days=30), week - timedelta(days=20))

    def rounds():
        for n, (org_id, code) in enumerate(branches):
            figures = json.dumps({k: 0.5 + (n % 50) / 100
                                  for k in json.loads(model["figures_json"])})
            for attempt, closed in enumerate((*earlier, week, None), start=1):
                values = {**model, "organisation_id": org_id, "title": f"{code}测评{attempt}",
                          "attempt": attempt, "closed_on": closed, "figures_json": figures,
                          "state": RoundState.CLOSED if closed else RoundState.OPEN,
                          "ballots_counted": 15 if closed else None, "cards_issued": 20,
                          "result_json": model["result_json"] if closed else None}
                yield tuple(values[c] for c in columns)

    insert_rows(Round.__table__, columns, rounds())
    held = db.session.execute(sa.select(Round.id, Round.organisation_id).where(
        Round.closed_on == week, Round.organisation_id.in_(
            sa.select(Organisation.id).where(Organisation.code.like("P%B%"))))).all()
    at = datetime.combine(week, clock(3), tzinfo=timezone.utc)
    insert_rows(AuditEntry.__table__, ("at", "actor", "role", "action", "object_type",
                                       "object_id", "organisation_id", "detail"),
                [(at, "office", "office", "round.close", "round", str(round_id), org_id,
                  '{"ballots": 15}') for round_id, org_id in held])
    insert_rows(Opinion.__table__, ("organisation_id", "author", "written_on", "text"),
                [(org_id, "省督导组", week, "台账需细化")
                 for org_id, _code in branches[::10]])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


def measure(url: str, what: str) -> dict:
    """One figure, in this (fresh) process."""
    from bench.memory import reset_peak, status
    from evalsvc.extensions import db

    database = json.loads(url)
    from bench.databases import Database
    from pathlib import Path

    database = Database(database["kind"], database["url"], Path(database["workdir"]))
    with app_on(database, WTF_CSRF_ENABLED=False) as app:
        client = logged_in_client(app)
        client.get("/reports/weekly?from=2000-01-03&to=2000-01-09")  # warm: an empty week
        statements = []
        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute",
                            lambda *args: statements.append(1))
        from evalsvc.services.today import today

        with app.app_context():
            period = f"from={today() - timedelta(days=6)}&to={today()}"
        reset_peak()
        before = status("VmRSS")
        started = time.perf_counter()
        response = client.get(f"/reports/weekly{what}?{period}")
        seconds = time.perf_counter() - started
        growth = status("VmHWM") - before
        assert response.status_code == 200, response.status_code
        return {"what": what or " page", "seconds": round(seconds, 2),
                "statements": len(statements), "growth_mb": round(growth / 2**20, 1),
                "bytes": len(response.data)}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--measure":
        print(json.dumps(measure(argv[1], argv[2])))
        return
    if argv and argv[0] == "--on":  # measure again on a database kept with --keep
        for what in argv[2:] or ("", ".xlsx", ".pdf"):
            print(_measured(argv[1], "" if what == "page" else what), flush=True)
        return
    keep = "--keep" in argv
    kind = "postgres"
    if "--db" in argv:
        kind = argv[argv.index("--db") + 1]
        del argv[argv.index("--db"):argv.index("--db") + 2]
    sizes = [int(a) for a in argv if a.isdigit()] or [500, 20000]
    for size in sizes:
        with fresh_database(kind, keep=keep) as database:
            prepare(database)
            started = time.perf_counter()
            with app_on(database, WTF_CSRF_ENABLED=False) as app:
                with app.app_context():
                    build(size)
            print(f"{kind} {size} branches: built in {time.perf_counter() - started:.0f} s",
                  flush=True)
            url = json.dumps({"kind": database.kind, "url": database.url,
                              "workdir": str(database.workdir)})
            if keep:
                print(f"kept: --on '{url}'", flush=True)
            for what in ("", ".xlsx", ".pdf"):
                print(f"{kind} {size} {_measured(url, what)}", flush=True)


def _measured(url: str, what: str) -> str:
    """One figure measured in a fresh process."""
    out = subprocess.run([sys.executable, "-m", "bench.weekly_scale", "--measure", url, what],
                         capture_output=True, text=True, timeout=1800)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else \
        out.stderr.strip()[-2000:]


if __name__ == "__main__":
    main(sys.argv[1:])
